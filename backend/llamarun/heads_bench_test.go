package llamarun_test

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

var m3Bench benchFile

// m3BenchModel converts, once per run, a checkpoint of BGE-M3's shape
// (XLM-R, 24 layers of 1024, 16 heads, FFN 4096; a small vocabulary, which
// costs nothing per token) with both heads, to f16 as pull makes bge-m3.
func m3BenchModel(b *testing.B) string {
	return m3Bench.get(b, "m3.gguf", func(dir, path string) error {
		cfg := testmodel.Config{Seed: 1, Hidden: 1024, Layers: 24, Heads: 16, Intermediate: 4096, MaxPositions: 512, TypeVocab: 1, Pooling: "cls"}
		src := filepath.Join(dir, "hf")
		opts := testmodel.HFOptions{Arch: "XLMRobertaModel", DType: checkpoint.F16, SentenceTransformers: true, Tokenizer: "wordpiece"}
		if err := testmodel.WriteHF(src, testmodel.Generate(cfg), cfg, opts); err != nil {
			return err
		}
		if err := testmodel.WriteM3Heads(src, testmodel.GenerateM3Heads(cfg)); err != nil {
			return err
		}
		return convert.Convert(context.Background(), convert.Options{Input: src, Output: path, OutType: "f16"})
	})
}

// BenchmarkM3Outputs measures what BGE-M3's sparse and ColBERT outputs
// add to a dense-only request: 8 inputs of 256 tokens per request, dense
// alone (the pooled context, /v1/embeddings) against all three from one
// encode of the token context (/v1/embeddings with "outputs"), reported
// as extra-%. The README records it.
func BenchmarkM3Outputs(b *testing.B) {
	path := m3BenchModel(b)
	cat, err := catalog.New([]byte(fmt.Sprintf("models: [{name: m3, kind: embedding, file: %s}]", strconv.Quote(path))), "")
	if err != nil {
		b.Fatal(err)
	}
	rt := llamaRuntime(b)
	e := backend.New(backend.Config{Runtime: rt, Threads: runtime.NumCPU(), Workers: 1, KeepAlive: -1, DefaultEmbedding: "m3"}, cat, zerolog.Nop())
	defer e.Close()
	rng := rand.New(rand.NewSource(1))
	vocab := int32(len(testmodel.DefaultVocab()))
	inputs := make([]backend.Input, 8)
	for i := range inputs {
		ids := make([]int32, 256)
		ids[0], ids[len(ids)-1] = testmodel.CLSID, testmodel.SEPID
		for t := 1; t < len(ids)-1; t++ {
			ids[t] = 5 + rng.Int31n(vocab-5)
		}
		inputs[i] = backend.Input{Tokens: ids}
	}
	dense := backend.OutputsRequest{EmbedRequest: backend.EmbedRequest{Model: "m3", Inputs: inputs}, Outputs: backend.Outputs{Dense: true}}
	all := dense
	all.Outputs = backend.Outputs{Dense: true, Sparse: true, ColBERT: true}
	run := func(req backend.OutputsRequest) time.Duration {
		start := time.Now()
		if _, err := e.EmbedOutputs(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run(dense) // load the model
	run(all)   // and make its token context
	// Paired: each iteration times both, one after the other, so a load
	// that comes and goes on the machine weighs on both alike.
	var tDense, tAll time.Duration
	b.ResetTimer()
	for range b.N {
		tDense += run(dense)
		tAll += run(all)
	}
	n := float64(b.N)
	b.ReportMetric(tDense.Seconds()*1000/n, "dense-ms")
	b.ReportMetric(tAll.Seconds()*1000/n, "all3-ms")
	b.ReportMetric(100*(tAll.Seconds()/tDense.Seconds()-1), "extra-%")
}
