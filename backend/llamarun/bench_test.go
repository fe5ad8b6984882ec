package llamarun_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// The load the project's speed goal is stated for: a BERT-base-shaped f16
// model, 128-token inputs, one input per request, 32 concurrent clients.
const (
	benchTokens     = 128
	benchPerClient  = 4 // requests each client sends, one after another
	benchModelName  = "bert-base-f16"
	benchCatalogFmt = "models: [{name: %s, kind: embedding, file: %s}]"
)

var benchModel benchFile

// benchModelPath writes the synthetic model once per benchmark run.
func benchModelPath(b *testing.B) string {
	return benchModel.get(b, "bert-base-f16.gguf", func(_, path string) error {
		cfg := testmodel.BERTBase(1)
		return testmodel.WriteGGUF(path, testmodel.Generate(cfg), cfg, "f16")
	})
}

// BenchmarkEngine measures end-to-end engine throughput (tokens/s) and
// latency percentiles while sweeping the batcher's token budget at 32
// clients, then the number of clients at the default budget. Run with
// `make bench`; results are recorded in the README. BENCH_THREADS and
// BENCH_WORKERS set the contexts' threads and number, BENCH_FLASH=0 turns
// flash attention off.
func BenchmarkEngine(b *testing.B) {
	for _, budget := range []int{512, 1024, 2048, 4096} {
		b.Run(fmt.Sprintf("budget=%d/clients=32", budget), func(b *testing.B) { benchLoad(b, budget, 32) })
	}
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("budget=%d/clients=%d", envconfig.MaxBatchTokens.Default, clients), func(b *testing.B) { benchLoad(b, envconfig.MaxBatchTokens.Default, clients) })
	}
}

func benchLoad(b *testing.B, budget, clients int) {
	path := benchModelPath(b)
	yaml := fmt.Sprintf(benchCatalogFmt, benchModelName, strconv.Quote(path))
	cat, err := catalog.New([]byte(yaml), "")
	if err != nil {
		b.Fatal(err)
	}
	// BENCH_LIB_DIR loads ggml backend libraries first, as the server does
	// from its lib/: `make bench-dist` measures the portable build's CPU
	// variants this way.
	llama.Init(os.Getenv("BENCH_LIB_DIR"))
	rt := llamaRuntime(b)
	threads := runtime.NumCPU()
	if s := os.Getenv("BENCH_THREADS"); s != "" {
		threads, _ = strconv.Atoi(s)
	}
	workers := 1
	if s := os.Getenv("BENCH_WORKERS"); s != "" {
		workers, _ = strconv.Atoi(s)
	}
	e := backend.New(backend.Config{Runtime: rt, BatchTokens: budget, Threads: threads, Workers: workers, FlashAttention: os.Getenv("BENCH_FLASH") != "0", KeepAlive: -1, DefaultEmbedding: benchModelName}, cat, zerolog.Nop())
	defer e.Close()
	e.Preload(context.Background())
	if err := e.Ready(context.Background()); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	vocab := int32(len(testmodel.DefaultVocab()))
	input := func() []int32 {
		ids := make([]int32, benchTokens)
		ids[0], ids[benchTokens-1] = testmodel.CLSID, testmodel.SEPID
		for i := 1; i < benchTokens-1; i++ {
			ids[i] = 5 + rng.Int31n(vocab-5)
		}
		return ids
	}
	inputs := make([][]int32, clients*benchPerClient)
	for i := range inputs {
		inputs[i] = input()
	}

	b.ResetTimer()
	for range b.N {
		latencies := make([]time.Duration, len(inputs))
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range benchPerClient {
					i := c*benchPerClient + r
					t0 := time.Now()
					_, err := e.Embed(context.Background(), backend.EmbedRequest{Inputs: []backend.Input{{Tokens: inputs[i]}}})
					if err != nil {
						b.Error(err)
						return
					}
					latencies[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.Sort(latencies)
		p := func(q float64) float64 { return latencies[int(q*float64(len(latencies)-1))].Seconds() * 1000 }
		b.ReportMetric(float64(len(inputs)*benchTokens)/elapsed.Seconds(), "tokens/s")
		b.ReportMetric(p(0.5), "p50-ms")
		b.ReportMetric(p(0.99), "p99-ms")
	}
}
