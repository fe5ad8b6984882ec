package llama

// #cgo CXXFLAGS: -std=c++17
// #include <stdlib.h>
// #include "shim.h"
// #include "ggml-backend.h"
import "C"

import (
	"os"
	"sync"
	"unsafe"

	// Compiles llama.cpp, ggml and ggml's CPU backend into the binary.
	_ "github.com/ollama/ollama/llama/llama.cpp/src"
)

// Device is one compute device ggml can run on.
type Device struct {
	Name        string
	Description string
	Kind        string // cpu, gpu, igpu or accel
	FreeBytes   uint64
	TotalBytes  uint64
}

var initOnce sync.Once

// Init prepares llama.cpp once per process: it silences ggml's backtrace
// (which otherwise tries to attach gdb on an abort), routes logs to zerolog,
// loads any ggml backend libraries (libggml-cuda.so, libggml-hip.so, CPU
// variants) found in libDir, and initializes the llama backend. An empty or
// missing libDir leaves only the CPU backend compiled into the binary.
// Calls after the first are no-ops; it returns the devices ggml now sees.
func Init(libDir string) []Device {
	initOnce.Do(func() {
		os.Setenv("GGML_NO_BACKTRACE", "1")
		C.rr_log_install()
		C.rr_malloc_return_freed()
		if fi, err := os.Stat(libDir); libDir != "" && err == nil && fi.IsDir() {
			dir := C.CString(libDir)
			C.ggml_backend_load_all_from_path(dir)
			C.free(unsafe.Pointer(dir))
		}
		C.llama_backend_init()
	})
	return Devices()
}

// Devices lists the compute devices ggml has registered. A portable build
// registers the CPU twice, its built-in baseline kernels and the variant
// loaded from the lib dir; only the first CPU device, the one llama.cpp
// runs on (see SelectDevices), is listed, as the machine has one CPU.
func Devices() []Device {
	n := int(C.ggml_backend_dev_count())
	devs := make([]Device, 0, n)
	cpuListed := false
	for i := 0; i < n; i++ {
		d := C.ggml_backend_dev_get(C.size_t(i))
		if C.ggml_backend_dev_type(d) == C.GGML_BACKEND_DEVICE_TYPE_CPU {
			if cpuListed {
				continue
			}
			cpuListed = true
		}
		var free, total C.size_t
		C.ggml_backend_dev_memory(d, &free, &total)
		devs = append(devs, Device{
			Name:        C.GoString(C.ggml_backend_dev_name(d)),
			Description: C.GoString(C.ggml_backend_dev_description(d)),
			Kind:        deviceKind(C.ggml_backend_dev_type(d)),
			FreeBytes:   uint64(free),
			TotalBytes:  uint64(total),
		})
	}
	return devs
}

func deviceKind(t C.enum_ggml_backend_dev_type) string {
	switch t {
	case C.GGML_BACKEND_DEVICE_TYPE_CPU:
		return "cpu"
	case C.GGML_BACKEND_DEVICE_TYPE_GPU:
		return "gpu"
	case C.GGML_BACKEND_DEVICE_TYPE_IGPU:
		return "igpu"
	default:
		return "accel"
	}
}
