package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// GET /info says what the server runs on and with which limits: the shared
// server was started with non-default limits, so each field is checked
// against what the flags said, not against defaults.
func TestInfo(t *testing.T) {
	var info api.Info
	if r := shared.srv.get(t, "/info", &info); r.StatusCode != 200 {
		t.Fatalf("/info: status %d", r.StatusCode)
	}
	if info.Version == "" || info.GoVersion == "" {
		t.Errorf("version %q, go_version %q: want both", info.Version, info.GoVersion)
	}
	// bin/ has no lib/ beside it, so the kernels compiled into the binary
	// run; make dist puts the CPU variants in lib/, and one of them must.
	if wantVariant := libBesideBinary(t); (info.CPUVariant == "built-in") == wantVariant || len(info.CPUFeatures) == 0 {
		t.Errorf("cpu_variant %q, cpu_features %v: want a variant from lib/: %v", info.CPUVariant, info.CPUFeatures, wantVariant)
	}
	// One CPU, with its memory, even when a portable build registers its
	// baseline kernels and a loaded variant as two ggml devices.
	cpu := slices.IndexFunc(info.Devices, func(d api.Device) bool { return d.Kind == "cpu" })
	if cpu < 0 || info.Devices[cpu].TotalBytes == 0 || slices.IndexFunc(info.Devices[cpu+1:], func(d api.Device) bool { return d.Kind == "cpu" }) >= 0 {
		t.Errorf("devices %+v: want one CPU device with its memory", info.Devices)
	}
	// No GPU here: nothing is offloaded, and the only warnings allowed are
	// those of GPU libraries a make cuda or make rocm build put in lib/.
	if len(info.OffloadDevices) != 0 {
		t.Errorf("offload %v: want none on a machine without a GPU", info.OffloadDevices)
	}
	for _, w := range info.Warnings {
		if lib, _, _ := strings.Cut(w, " "); !gpuLibBesideBinary(t, lib) {
			t.Errorf("warning %q names no GPU library of the build", w)
		}
	}
	if info.EmbeddingModel != "tiny-cls" || info.RerankerModel != "tiny-rank" {
		t.Errorf("default models %q, %q; want tiny-cls, tiny-rank", info.EmbeddingModel, info.RerankerModel)
	}
	for _, m := range []string{"tiny-cls", "tiny-rank"} {
		if !slices.Contains(info.LoadedModels, m) {
			t.Errorf("loaded_models %v lacks the default %s", info.LoadedModels, m)
		}
	}
	if info.MaxClientBatchSize != 100 || info.PayloadLimit != 200000 || info.AutoTruncate || info.MaxRerankDocuments != 60 {
		t.Errorf("limits %+v differ from the flags the server was started with", info)
	}
	if info.Threads != 2 || info.Workers < 1 || info.MaxBatchTokens <= 0 || info.MemoryBudgetBytes == 0 {
		t.Errorf("engine limits %+v: want --threads 2 and positive budgets", info)
	}
}

// libBesideBinary says whether the binary under test has ggml backend
// libraries in lib/ beside it (a make dist build).
func libBesideBinary(t *testing.T) bool {
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := filepath.Glob(filepath.Join(filepath.Dir(bin), "lib", "libggml-cpu-*.so"))
	return len(libs) > 0
}

// gpuLibBesideBinary says whether the binary under test has the GPU
// backend library lib (libggml-cuda.so, libggml-hip.so) in lib/ beside it.
func gpuLibBesideBinary(t *testing.T, lib string) bool {
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	if lib != "libggml-cuda.so" && lib != "libggml-hip.so" {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(bin), "lib", lib))
	return err == nil
}

// The start-up log names the CPU variant that runs models, so an operator
// sees which kernels a portable build chose on this machine.
func TestStartupLogsTheCPUVariant(t *testing.T) {
	sp, err := launch(false, "--models-dir", t.TempDir(), "--embedding-model", "", "--reranker-model", "")
	if err != nil {
		t.Fatal(err)
	}
	var info api.Info
	sp.get(t, "/info", &info)
	if err := sp.stop(); err != nil {
		t.Fatal(err)
	}
	want := `"cpu_variant":"` + info.CPUVariant + `"`
	if !strings.Contains(sp.stderr.String(), want) || !strings.Contains(sp.stderr.String(), `"device":"CPU"`) {
		t.Errorf("the start-up log lacks %s or the CPU device:\n%s", want, tail(sp.stderr.String()))
	}
}

// A GPU library that cannot load (no driver, a broken or foreign file) is
// one warning, and the server serves on the CPU; asking for that GPU by
// --device is an error that says why, not a silent CPU fallback.
func TestBrokenGPULibraryFallsBackToCPU(t *testing.T) {
	libDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(libDir, "libggml-cuda.so"), []byte("not an ELF file"), 0o755); err != nil {
		t.Fatal(err)
	}
	sp := serveCatalog(t, true, t.TempDir(), "models: []\n", "--lib-dir", libDir, "--embedding-model", "", "--reranker-model", "")
	var info api.Info
	sp.get(t, "/info", &info)
	if len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "libggml-cuda.so did not load") {
		t.Errorf("warnings %q: want one saying libggml-cuda.so did not load", info.Warnings)
	}
	if len(info.OffloadDevices) != 0 || info.CPUVariant != "built-in" {
		t.Errorf("offload %v, cpu_variant %q: want the CPU", info.OffloadDevices, info.CPUVariant)
	}

	res := runCLI(t, "serve", "--offline", "--port", "0", "--lib-dir", libDir, "--device", "cuda",
		"--embedding-model", "", "--reranker-model", "")
	if res.code != 1 || !strings.Contains(res.stderr, "no CUDA device found") || !strings.Contains(res.stderr, "libggml-cuda.so did not load") {
		t.Errorf("--device cuda with a broken library: exit %d, stderr:\n%s", res.code, tail(res.stderr))
	}
	res = runCLI(t, "serve", "--offline", "--port", "0", "--device", "tpu")
	if res.code != 1 || !strings.Contains(res.stderr, "want auto, cpu, cuda or rocm") {
		t.Errorf("--device tpu: exit %d, stderr:\n%s", res.code, tail(res.stderr))
	}
}
