package llamarun_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// BenchmarkModernBERTEqualFLOPs measures the engine's throughput (tokens/s)
// on rerank-api's own ModernBERT encoder against llama.cpp's BERT, f16, at
// 1 and 32 concurrent clients sending one 128-token input per request, as
// BenchmarkEngine does. The ModernBERT has cl-nagoya/ruri-v3-310m's shape
// (25 layers of width 768, 12 heads, GeGLU halves of 3072); the BERT has
// its width, depth and heads and a feed-forward of 4608, so both multiply
// 4·768² + 3·3072·768 weights per token and layer, and attention costs the
// same (the sliding window is a mask, not skipped work). The README's
// figures come from
//
//	make go ARGS="test -run NONE -bench ModernBERTEqualFLOPs -benchtime 1x -timeout 60m ./backend/llamarun/"
//
// BENCH_THREADS sets the threads (default: every CPU), BENCH_FLASH=0 turns
// flash attention off for both.
func BenchmarkModernBERTEqualFLOPs(b *testing.B) {
	llama.Init(os.Getenv("BENCH_LIB_DIR"))
	dir := b.TempDir()
	ruri := testmodel.RuriV3_310M(1)
	ruri.InitStd = 0.02
	hf := filepath.Join(dir, "ruri-hf")
	if err := testmodel.WriteModernBERTHF(hf, testmodel.GenerateModernBERT(ruri), ruri); err != nil {
		b.Fatal(err)
	}
	if err := convert.Convert(context.Background(), convert.Options{Input: hf, Output: filepath.Join(dir, "ruri.gguf"), OutType: "f16"}); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(hf)
	bert := testmodel.BERTBase(1)
	bert.Layers, bert.Intermediate, bert.MaxPositions = 25, 4608, 512
	if err := testmodel.WriteGGUF(filepath.Join(dir, "bert.gguf"), testmodel.Generate(bert), bert, "f16"); err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models: [{name: ruri, kind: embedding, file: ruri.gguf}, {name: bert, kind: embedding, file: bert.gguf}]`), "")
	if err != nil {
		b.Fatal(err)
	}
	threads := runtime.NumCPU()
	if s := os.Getenv("BENCH_THREADS"); s != "" {
		threads, _ = strconv.Atoi(s)
	}
	rt := llamaRuntime(b)
	for _, model := range []string{"bert", "ruri"} {
		e := backend.New(backend.Config{Runtime: rt, ModelsDir: dir, Threads: threads, Workers: 1, FlashAttention: os.Getenv("BENCH_FLASH") != "0",
			KeepAlive: -1, DefaultEmbedding: model}, cat, zerolog.Nop())
		e.Preload(context.Background())
		if err := e.Ready(context.Background()); err != nil {
			e.Close()
			b.Fatal(err)
		}
		for _, clients := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/clients=%d", model, clients), func(b *testing.B) { benchClients(b, e, clients) })
		}
		e.Close()
	}
}

// benchClients sends benchPerClient requests from each of clients
// goroutines, one after another, warm: the first batch has grown the
// buffers.
func benchClients(b *testing.B, e *backend.Engine, clients int) {
	rng := rand.New(rand.NewSource(1))
	vocab := int32(len(testmodel.DefaultVocab()))
	inputs := make([][]int32, clients*benchPerClient)
	for i := range inputs {
		inputs[i] = make([]int32, benchTokens)
		for j := range inputs[i] {
			inputs[i][j] = 5 + rng.Int31n(vocab-5)
		}
	}
	embed := func(ids []int32) error {
		_, err := e.Embed(context.Background(), backend.EmbedRequest{Inputs: []backend.Input{{Tokens: ids}}})
		return err
	}
	if err := embed(inputs[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range benchPerClient {
					if err := embed(inputs[c*benchPerClient+r]); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(len(inputs)*benchTokens)/time.Since(start).Seconds(), "tokens/s")
	}
}
