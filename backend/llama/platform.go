package llama

/*
#cgo CFLAGS: -D_GNU_SOURCE
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "ggml-backend.h"

// rr_reg_library is the file that holds a backend's code: the binary for the
// backends compiled into it, libggml-cpu-haswell.so and the like for those
// ggml loaded at run time.
static const char *rr_reg_library(ggml_backend_reg_t reg) {
	void *fn = ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
	Dl_info info;
	if (fn != NULL && dladdr(fn, &info) && info.dli_fname != NULL) {
		return info.dli_fname;
	}
	return NULL;
}

// rr_reg_features lists the CPU features a backend was compiled for
// ("AVX2", "FMA", ...), as name=value pairs separated by spaces.
static void rr_reg_features(ggml_backend_reg_t reg, char *buf, size_t n) {
	buf[0] = 0;
	ggml_backend_get_features_t fn = (ggml_backend_get_features_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
	if (fn == NULL) {
		return;
	}
	size_t used = 0;
	for (struct ggml_backend_feature *f = fn(reg); f != NULL && f->name != NULL; f++) {
		int w = snprintf(buf + used, n - used, "%s%s=%s", used ? " " : "", f->name, f->value);
		if (w < 0 || (size_t)w >= n - used) {
			return;
		}
		used += w;
	}
}

// rr_dlopen_error says why a library does not load (NULL if it does): ggml
// loads backends silently in release builds, so a libggml-cuda.so missing
// its driver would otherwise vanish without a word.
static const char *rr_dlopen_error(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h != NULL) {
		dlclose(h);
		return NULL;
	}
	return dlerror();
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
)

// DeviceMode chooses where models run: auto (a GPU when one is there, else
// the CPU), cpu, cuda or rocm.
type DeviceMode string

const (
	DeviceAuto DeviceMode = "auto"
	DeviceCPU  DeviceMode = "cpu"
	DeviceCUDA DeviceMode = "cuda"
	DeviceROCm DeviceMode = "rocm"
)

// ParseDeviceMode reads --device.
func ParseDeviceMode(s string) (DeviceMode, error) {
	switch m := DeviceMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", DeviceAuto:
		return DeviceAuto, nil
	case DeviceCPU, DeviceCUDA, DeviceROCm:
		return m, nil
	}
	return "", fmt.Errorf("device %q: want auto, cpu, cuda or rocm", s)
}

// backendName is the name ggml registers each GPU backend under.
var backendName = map[DeviceMode]string{DeviceCUDA: "CUDA", DeviceROCm: "ROCm"}

// Platform is what ggml found in this process: for the start-up log and
// GET /info.
type Platform struct {
	// CPUVariant is the CPU backend that runs models: "haswell", "skylakex"...
	// for a variant ggml loaded from the lib dir, "built-in" for the
	// kernels compiled into the binary.
	CPUVariant  string
	CPUFeatures []string
	Devices     []Device
	// Offload names the devices models are offloaded to; empty: CPU only.
	Offload []string
	// Warnings say which backend libraries in the lib dir did not load, and why.
	Warnings []string
}

// offloadDevices is the NULL-terminated device list every model load
// passes to llama.cpp (C memory: llama.cpp reads it during the load). nil
// lets llama.cpp use every GPU it has.
var offloadDevices *C.ggml_backend_dev_t

// SelectDevices decides, once after Init, which devices models use, and
// describes the platform. mode cuda or rocm fails when no such device is
// present; auto falls back to the CPU.
func SelectDevices(libDir string, mode DeviceMode) (Platform, error) {
	p := Platform{CPUVariant: "built-in", Devices: Devices()}
	var gpus []C.ggml_backend_dev_t
	registered := map[string]int{} // backend name → devices
	for i := 0; i < int(C.ggml_backend_reg_count()); i++ {
		reg := C.ggml_backend_reg_get(C.size_t(i))
		registered[C.GoString(C.ggml_backend_reg_name(reg))] += int(C.ggml_backend_reg_dev_count(reg))
	}
	cpuSeen := false
	for i := 0; i < int(C.ggml_backend_dev_count()); i++ {
		d := C.ggml_backend_dev_get(C.size_t(i))
		reg := C.ggml_backend_dev_backend_reg(d)
		switch C.ggml_backend_dev_type(d) {
		case C.GGML_BACKEND_DEVICE_TYPE_CPU:
			// Devices are sorted by score: the first CPU device is the one
			// llama.cpp uses, the best variant when one loaded.
			if cpuSeen {
				continue
			}
			cpuSeen = true
			if lib := C.rr_reg_library(reg); lib != nil {
				base := filepath.Base(C.GoString(lib))
				if v, ok := strings.CutPrefix(base, "libggml-cpu-"); ok {
					p.CPUVariant = strings.TrimSuffix(v, ".so")
				}
			}
			buf := (*C.char)(C.malloc(1024))
			C.rr_reg_features(reg, buf, 1024)
			p.CPUFeatures = strings.Fields(C.GoString(buf))
			C.free(unsafe.Pointer(buf))
		case C.GGML_BACKEND_DEVICE_TYPE_GPU, C.GGML_BACKEND_DEVICE_TYPE_IGPU:
			name := C.GoString(C.ggml_backend_reg_name(reg))
			if mode == DeviceAuto || backendName[mode] == name {
				gpus = append(gpus, d)
			}
		}
	}
	p.Warnings = libraryWarnings(libDir, registered)

	switch {
	case mode == DeviceCPU:
		gpus = nil
	case len(gpus) == 0 && mode != DeviceAuto:
		why := fmt.Sprintf("no %s device found", backendName[mode])
		if len(p.Warnings) > 0 {
			why += ": " + strings.Join(p.Warnings, "; ")
		}
		return p, fmt.Errorf("device %s: %s (use device auto or cpu to serve on the CPU)", mode, why)
	}
	for _, d := range gpus {
		p.Offload = append(p.Offload, C.GoString(C.ggml_backend_dev_name(d)))
	}
	if mode == DeviceAuto {
		offloadDevices = nil
		return p, nil
	}
	// An explicit list, so cpu really means no GPU and cuda no ROCm device.
	size := C.size_t(unsafe.Sizeof(C.ggml_backend_dev_t(nil)))
	list := (*C.ggml_backend_dev_t)(C.calloc(C.size_t(len(gpus)+1), size))
	slots := unsafe.Slice(list, len(gpus)+1)
	copy(slots, gpus)
	offloadDevices = list
	return p, nil
}

// libraryWarnings checks each GPU backend library in libDir against what
// registered: a file that is there but brought no device gets one line
// saying why (a missing driver or runtime library, no device visible).
func libraryWarnings(libDir string, registered map[string]int) []string {
	if libDir == "" {
		return nil
	}
	var warnings []string
	for _, lib := range []struct{ file, backend, visible string }{
		{"libggml-cuda.so", "CUDA", "CUDA_VISIBLE_DEVICES"},
		{"libggml-hip.so", "ROCm", "HIP_VISIBLE_DEVICES"},
	} {
		path := filepath.Join(libDir, lib.file)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		n, ok := registered[lib.backend]
		switch {
		case !ok:
			cpath := C.CString(path)
			reason := "it registered no backend"
			if e := C.rr_dlopen_error(cpath); e != nil {
				reason = C.GoString(e)
			}
			C.free(unsafe.Pointer(cpath))
			warnings = append(warnings, fmt.Sprintf("%s did not load (%s)", lib.file, reason))
		case n == 0:
			warnings = append(warnings, fmt.Sprintf("%s loaded but found no %s device (no GPU or driver, or %s hides them)", lib.file, lib.backend, lib.visible))
		}
	}
	slices.Sort(warnings)
	return warnings
}
