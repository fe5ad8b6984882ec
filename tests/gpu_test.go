//go:build gpu

package tests

import (
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// TestGPUSmoke runs on a machine with an NVIDIA GPU (scripts/gpu-smoke.sh
// builds what it needs and runs it; build tag "gpu"): the binary under test
// (RERANK_API_BINARY, with libggml-cuda.so in its lib/) serves the same
// models once with --device cpu and once with --device cuda, every layer
// offloaded. Embeddings and rerank scores must agree within 2e-3, and the
// throughput of both at 1 and 32 clients is printed.
func TestGPUSmoke(t *testing.T) {
	catalog := []string{"--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank", "--threads", fmt.Sprint(runtime.NumCPU())}
	cpu := startServer(t, true, append(catalog, "--device", "cpu")...)
	gpu := startServer(t, true, append(catalog, "--device", "cuda", "--n-gpu-layers", "-1")...)
	var info api.Info
	gpu.get(t, "/info", &info)
	if len(info.OffloadDevices) == 0 {
		t.Fatalf("--device cuda serves without offloading: /info %+v", info)
	}
	t.Logf("GPU server: offload %v, devices %+v", info.OffloadDevices, info.Devices)

	texts := []string{"hello world", "the quick brown fox jumps over the lazy dog", "a", "[CLS] tokens written in the text"}
	for _, model := range []string{"tiny-cls", "tiny-mean"} {
		body := map[string]any{"model": model, "input": texts}
		var onCPU, onGPU api.OpenAIEmbeddingResponse
		cpu.post(t, "/v1/embeddings", body, &onCPU)
		if r := gpu.post(t, "/v1/embeddings", body, &onGPU); r.StatusCode != http.StatusOK || len(onGPU.Data) != len(texts) {
			t.Fatalf("%s on the GPU: status %d, %d embeddings", model, r.StatusCode, len(onGPU.Data))
		}
		for i := range texts {
			want := widen(floats(t, onCPU.Data[i].Embedding))
			if d := maxAbsDiff(t, floats(t, onGPU.Data[i].Embedding), want); d > 2e-3 {
				t.Errorf("%s %q: GPU differs from CPU by %.2g", model, texts[i], d)
			}
		}
	}
	for _, model := range []string{"tiny-rank", "tiny-xlmr-rank", "tiny-nli-rank"} {
		rerankAgrees(t, cpu, gpu, model, texts)
	}

	modernBERTOnGPU(t)

	// Throughput on a BERT-base-shaped f16 model, 128-token inputs, one per
	// request (the load the project's speed goals are stated for).
	dir := t.TempDir()
	cfg := testmodel.BERTBase(1)
	if err := testmodel.WriteGGUF(filepath.Join(dir, "bert-base.gguf"), testmodel.Generate(cfg), cfg, "f16"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "models.yaml"), []byte("models: [{name: bert-base, kind: embedding, file: bert-base.gguf}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bench := []string{"--models-dir", dir, "--models-config", filepath.Join(dir, "models.yaml"),
		"--embedding-model", "bert-base", "--reranker-model", "", "--threads", fmt.Sprint(runtime.NumCPU())}
	for _, device := range []string{"cpu", "cuda"} {
		sp := startServer(t, true, append(bench, "--device", device)...)
		for _, clients := range []int{1, 32} {
			tps := throughput(t, sp, cfg, clients, 8)
			fmt.Printf("gpu-smoke: --device %-4s %2d clients: %8.0f tokens/s\n", device, clients, tps)
		}
	}
}

// throughput sends perClient requests of one 128-token input from each of
// clients goroutines and returns tokens per second over the whole run.
func throughput(t *testing.T, sp *serverProcess, cfg testmodel.Config, clients, perClient int) float64 {
	const tokens = 128
	vocab := int32(len(testmodel.DefaultVocab()))
	input := func(r *rand.Rand) []int32 {
		ids := make([]int32, tokens)
		ids[0], ids[tokens-1] = testmodel.CLSID, testmodel.SEPID
		for i := 1; i < tokens-1; i++ {
			ids[i] = 5 + r.Int31n(vocab-5)
		}
		return ids
	}
	// One request first, so the load and warm-up are not timed.
	sp.post(t, "/v1/embeddings", map[string]any{"model": "bert-base", "input": input(rand.New(rand.NewSource(0)))}, nil)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for i := 0; i < perClient; i++ {
				if resp := sp.post(t, "/v1/embeddings", map[string]any{"model": "bert-base", "input": input(r)}, nil); resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}(int64(c + 1))
	}
	wg.Wait()
	return float64(clients*perClient*tokens) / time.Since(start).Seconds()
}

// modernBERTOnGPU serves a ModernBERT embedder and cross-encoder, which run
// on rerank-api's own ggml encoder rather than llama.cpp's graphs, on the
// CPU and with every layer offloaded: the same scheduler and devices, so
// the outputs must agree within 2e-3. The inputs are longer than the
// sliding window, so both attention kinds run on the device.
func modernBERTOnGPU(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]testmodel.ModernBERTConfig{
		"ruri-tiny": testmodel.TinyModernBERT(71, "mean"), "modernbert-rank": testmodel.TinyModernBERT(72, "rank"),
	} {
		src := filepath.Join(dir, name+"-hf")
		if err := testmodel.WriteModernBERTHF(src, testmodel.GenerateModernBERT(cfg), cfg); err != nil {
			t.Fatal(err)
		}
		runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
	}
	catalog := "models:\n" +
		"  - {name: ruri-tiny, kind: embedding, file: ruri-tiny.gguf}\n" +
		"  - {name: modernbert-rank, kind: rerank, file: modernbert-rank.gguf}\n"
	args := []string{"--embedding-model", "ruri-tiny", "--reranker-model", "modernbert-rank", "--threads", fmt.Sprint(runtime.NumCPU())}
	cpu := serveCatalog(t, true, dir, catalog, append(args, "--device", "cpu")...)
	gpu := serveCatalog(t, true, dir, catalog, append(args, "--device", "cuda", "--n-gpu-layers", "-1")...)

	long := strings.Repeat("the quick brown fox jumps over the lazy dog ", 12)
	texts := []string{"hello world", long, "a", long + "hello"}
	body := map[string]any{"model": "ruri-tiny", "input": texts}
	var onCPU, onGPU api.OpenAIEmbeddingResponse
	cpu.post(t, "/v1/embeddings", body, &onCPU)
	if r := gpu.post(t, "/v1/embeddings", body, &onGPU); r.StatusCode != http.StatusOK || len(onGPU.Data) != len(texts) {
		t.Fatalf("ModernBERT on the GPU: status %d, %d embeddings", r.StatusCode, len(onGPU.Data))
	}
	for i := range texts {
		if d := maxAbsDiff(t, floats(t, onGPU.Data[i].Embedding), widen(floats(t, onCPU.Data[i].Embedding))); d > 2e-3 {
			t.Errorf("ModernBERT input %d: GPU differs from CPU by %.2g", i, d)
		}
	}
	rerankAgrees(t, cpu, gpu, "modernbert-rank", texts)
}

// rerankAgrees ranks documents by one query with model on both servers and
// fails for a score the GPU puts more than 2e-3 from the CPU's.
func rerankAgrees(t *testing.T, cpu, gpu *serverProcess, model string, documents []string) {
	t.Helper()
	body := map[string]any{"model": model, "query": "capital of france", "documents": documents}
	var onCPU, onGPU api.CohereRerankResponse
	cpu.post(t, "/v1/rerank", body, &onCPU)
	gpu.post(t, "/v1/rerank", body, &onGPU)
	want, got := scores(onCPU), scores(onGPU)
	for i, w := range want {
		if d := got[i] - w; d > 2e-3 || d < -2e-3 {
			t.Errorf("%s document %d: GPU %.5f, CPU %.5f", model, i, got[i], w)
		}
	}
}
