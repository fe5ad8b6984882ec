package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// fakeRuntime serves a model from its GGUF's header alone. Its tokenizer
// gives each word the id 10 + its length, between [CLS] 1 and [SEP] 2; an
// embedding is (tokens, sum of ids, 1), a rank score the sum of ids and a
// token vector (id, position, 1), so a test can tell from the output which
// sequence was encoded.
type fakeRuntime struct {
	mu      sync.Mutex
	open    int // models and contexts not closed
	maxSeqs int // the most sequences one Encode carried
}

const fakeMaxSequences = 4

func (r *fakeRuntime) LoadModel(path string, _ ModelParams) (Model, error) {
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.open++
	r.mu.Unlock()
	return fakeModel{ggufHeader{meta}, r}, nil
}

type fakeModel struct {
	ggufHeader
	r *fakeRuntime
}

func (fakeModel) Info() ModelInfo {
	return ModelInfo{Arch: "bert", ClassOutputs: 1, VocabSize: 100, BOS: 1, EOS: 2, SEP: 2}
}

func (fakeModel) Tokenize(text string, addSpecial, _ bool) ([]int32, error) {
	var ids []int32
	for _, w := range strings.Fields(text) {
		ids = append(ids, int32(10+len(w)))
	}
	if addSpecial {
		ids = append(append([]int32{1}, ids...), 2)
	}
	return ids, nil
}

func (fakeModel) TokenText(id int32) string { return fmt.Sprint("w", id) }
func (fakeModel) IsControl(id int32) bool   { return id == 1 || id == 2 }

// Detokenize writes each id's vocabulary entry, space-separated.
func (m fakeModel) Detokenize(ids []int32, special bool) (string, error) {
	words := []string{}
	for _, id := range ids {
		if special || !m.IsControl(id) {
			words = append(words, m.TokenText(id))
		}
	}
	return " " + strings.Join(words, " "), nil
}

func (m fakeModel) NewContext(p ContextParams) (InferenceContext, error) {
	m.r.mu.Lock()
	m.r.open++
	m.r.mu.Unlock()
	return fakeContext{m.r, cmp.Or(p.Pooling, catalog.PoolingCLS)}, nil
}

func (m fakeModel) Close() { m.r.closed() }

func (r *fakeRuntime) closed() {
	r.mu.Lock()
	r.open--
	r.mu.Unlock()
}

type fakeContext struct {
	r       *fakeRuntime
	pooling string
}

func (c fakeContext) Encode(seqs [][]int32) ([][]float32, error) {
	c.r.mu.Lock()
	c.r.maxSeqs = max(c.r.maxSeqs, len(seqs))
	c.r.mu.Unlock()
	out := make([][]float32, len(seqs))
	for i, seq := range seqs {
		var sum float32
		for _, id := range seq {
			sum += float32(id)
		}
		switch c.pooling {
		case catalog.PoolingRank:
			out[i] = []float32{sum}
		case PoolingNone:
			for pos, id := range seq {
				out[i] = append(out[i], float32(id), float32(pos), 1)
			}
		default:
			out[i] = []float32{float32(len(seq)), sum, 1}
		}
	}
	return out, nil
}

func (c fakeContext) Width() int {
	if c.pooling == catalog.PoolingRank {
		return 1
	}
	return 3
}

func (c fakeContext) Pooling() string   { return c.pooling }
func (c fakeContext) MaxSequences() int { return fakeMaxSequences }
func (c fakeContext) Close()            { c.r.closed() }

// The engine loads through Config.Runtime alone: contexts with the
// catalog's pooling, batches no larger than the context takes, pairs in
// the tokenizer's template, and everything closed with the engine.
func TestEngineLoadsThroughRuntime(t *testing.T) {
	dir := t.TempDir()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("bert.context_length", uint32(64))
	w.AddKV("bert.attention.head_count", uint32(2))
	w.AddKV("tokenizer.ggml.model", "bert")
	if err := w.WriteFile(filepath.Join(dir, "fake.gguf")); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New([]byte(`models:
  - {name: embedder, kind: embedding, file: fake.gguf}
  - {name: reranker, kind: rerank, pooling: rank, file: fake.gguf}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	none := New(Config{ModelsDir: dir, BudgetBytes: 1 << 30}, cat, zerolog.Nop())
	defer none.Close()
	if _, err := none.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a"}}}); !errors.Is(err, ErrModelUnavailable) {
		t.Errorf("without a runtime: %v, want ErrModelUnavailable", err)
	}

	r := &fakeRuntime{}
	// Models never expire (KeepAlive -1), so only Close unloads them.
	e := New(Config{ModelsDir: dir, Workers: 1, BudgetBytes: 1 << 30, KeepAlive: -1, Runtime: r}, cat, zerolog.Nop())
	inputs := make([]Input, 10)
	for i := range inputs {
		inputs[i] = Input{Text: strings.Repeat("a ", i+1)}
	}
	no := false
	res, err := e.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: inputs, Normalize: &no})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range res.Vectors {
		if n := float32(i + 3); v[0] != n || v[1] != 3+11*(n-2) {
			t.Errorf("input %d: %v, want [CLS] + %d × 11 + [SEP]", i, v, i+1)
		}
	}
	r.mu.Lock()
	maxSeqs := r.maxSeqs
	r.mu.Unlock()
	if maxSeqs > fakeMaxSequences {
		t.Errorf("an encode carried %d sequences; the context takes %d", maxSeqs, fakeMaxSequences)
	}

	ranked, err := e.Rerank(ctx, RerankRequest{Model: "reranker", Query: "q", Documents: []string{"a", "aaa"}, RawScores: true})
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] q [SEP] d [SEP]: 1 + 11 + 2 + d + 2.
	want := []RankedDocument{{1, 29}, {0, 27}}
	if fmt.Sprint(ranked.Results) != fmt.Sprint(want) {
		t.Errorf("rerank: %v, want %v", ranked.Results, want)
	}

	_, err = e.Embed(ctx, EmbedRequest{Model: "reranker", Inputs: inputs})
	if !errors.Is(err, ErrWrongKind) || strings.Contains(err.Error(), "/") {
		t.Errorf("embedding with a reranker: %v, want ErrWrongKind naming no route", err)
	}

	// Decode is the model's Detokenize, its leading space trimmed, for any
	// kind of model; an id outside the vocabulary is named.
	decoded, err := e.Decode(ctx, DecodeRequest{Model: "reranker", Inputs: [][]int32{{1, 11, 12, 2}, {}}, SkipSpecial: true})
	if err != nil || !slices.Equal(decoded.Texts, []string{"w11 w12", ""}) {
		t.Errorf("decode: %+v, %v; want [w11 w12, \"\"]", decoded, err)
	}
	if decoded, err = e.Decode(ctx, DecodeRequest{Model: "embedder", Inputs: [][]int32{{1, 11, 2}}}); err != nil || decoded.Texts[0] != "w1 w11 w2" {
		t.Errorf("decode with specials: %+v, %v", decoded, err)
	}
	_, err = e.Decode(ctx, DecodeRequest{Model: "embedder", Inputs: [][]int32{{11}, {5, 100}}})
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "token id 100") || !strings.Contains(err.Error(), "100)") {
		t.Errorf("decode past the vocabulary: %v, want ErrInvalidInput naming the id and the vocabulary size", err)
	}

	e.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open != 0 {
		t.Errorf("%d models or contexts left open after Close", r.open)
	}
}
