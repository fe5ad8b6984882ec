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

var spladeBench benchFile

// spladeBenchModel converts, once per run, a BertForMaskedLM of
// naver/splade-v3's shape (BERT-base: 12 layers of 768, 12 heads, FFN 3072;
// 30522 vocabulary entries, which the head's decoder costs per token) to
// f16, as pull makes splade-v3.
func spladeBenchModel(b *testing.B) string {
	return spladeBench.get(b, "splade.gguf", func(dir, path string) error {
		cfg := testmodel.BERTBase(1)
		cfg.Vocab = spladeVocab()
		src := filepath.Join(dir, "hf")
		opts := testmodel.HFOptions{Arch: "BertForMaskedLM", DType: checkpoint.F16, Tokenizer: "wordpiece"}
		if err := testmodel.WriteHF(src, testmodel.GenerateSPLADE(cfg, true), cfg, opts); err != nil {
			return err
		}
		return convert.Convert(context.Background(), convert.Options{Input: src, Output: path, OutType: "f16"})
	})
}

// BenchmarkSPLADE measures what the masked-LM head adds to the encoder: 8
// inputs of 128 tokens per request, the token states alone (/embed_all,
// the same encode /embed_sparse starts with) against /embed_sparse,
// reported as head-%.
func BenchmarkSPLADE(b *testing.B) {
	path := spladeBenchModel(b)
	cat, err := catalog.New([]byte(fmt.Sprintf("models: [{name: splade, kind: embedding, file: %s}]", strconv.Quote(path))), "")
	if err != nil {
		b.Fatal(err)
	}
	rt := llamaRuntime(b)
	e := backend.New(backend.Config{Runtime: rt, Threads: runtime.NumCPU(), Workers: 1, KeepAlive: -1, DefaultEmbedding: "splade"}, cat, zerolog.Nop())
	defer e.Close()
	rng := rand.New(rand.NewSource(1))
	inputs := make([]backend.Input, 8)
	for i := range inputs {
		ids := make([]int32, 128)
		ids[0], ids[len(ids)-1] = testmodel.CLSID, testmodel.SEPID
		for t := 1; t < len(ids)-1; t++ {
			ids[t] = 5 + rng.Int31n(30522-5)
		}
		inputs[i] = backend.Input{Tokens: ids}
	}
	req := backend.EmbedRequest{Model: "splade", Inputs: inputs}
	states := func() time.Duration {
		start := time.Now()
		if _, err := e.EmbedAll(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	sparse := func() time.Duration {
		start := time.Now()
		if _, err := e.EmbedOutputs(context.Background(), backend.OutputsRequest{EmbedRequest: req, Outputs: backend.Outputs{Sparse: true}}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	states() // load the model and its token context
	sparse() // and the head
	// Paired, as BenchmarkM3Outputs: a load on the machine weighs on both.
	var tStates, tSparse time.Duration
	b.ResetTimer()
	for range b.N {
		tStates += states()
		tSparse += sparse()
	}
	n := float64(b.N)
	b.ReportMetric(tStates.Seconds()*1000/n, "encoder-ms")
	b.ReportMetric(tSparse.Seconds()*1000/n, "splade-ms")
	b.ReportMetric(100*(tSparse.Seconds()/tStates.Seconds()-1), "head-%")
}

// spladeVocab is the default vocabulary filled up to bert-base-uncased's
// 30522 entries, the width of splade-v3's sparse vectors.
func spladeVocab() []string {
	v := testmodel.DefaultVocab()
	for i := len(v); i < 30522; i++ {
		v = append(v, fmt.Sprintf("w%d", i))
	}
	return v
}
