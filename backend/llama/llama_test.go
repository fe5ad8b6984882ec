package llama

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/convert/segments"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// These tests run llama.cpp on seeded random models written by
// internal/testmodel and compare every output with internal/reference, an
// exact float64 forward pass. llama.cpp's CPU backend computes GELU in its
// tanh form through an f16 table, and flash attention rounds Q, K and V to
// f16, so each setting is checked against the reference
// variant it should match, with a bound measured on these models (max over
// 8 seeds, testmodel.Tiny) and kept with margin.
type bound struct {
	gelu reference.Activation
	max  float64
}

var bounds = map[bool][]bound{ // by flash attention
	// Flash attention: against HF's exact erf GELU, as the server runs.
	// Measured ≤ 5.3e-4.
	true: {{reference.GELUErf, 2e-3}},
	// Plain attention: against plain tanh GELU, measured ≤ 2.4e-4, and
	// against ggml's f16 GELU table, measured ≤ 8.7e-6: only f32 rounding
	// remains, so 1e-4 catches errors far smaller than any real bug.
	false: {{reference.GELUTanh, 1e-3}, {reference.GELUTanhF16, 1e-4}},
}

// quietLlamaLog keeps llama.cpp's log to warnings and errors for the rest
// of the test: a model load writes hundreds of debug lines.
func quietLlamaLog(t testing.TB) {
	previous := SetLogger(zerolog.New(os.Stderr).Level(zerolog.WarnLevel))
	t.Cleanup(func() { SetLogger(previous) })
}

// loadModel writes cfg's random model as a GGUF and loads it.
func loadModel(t *testing.T, cfg testmodel.Config, dtype string) (*Model, *reference.Weights) {
	t.Helper()
	quietLlamaLog(t)
	Init("")
	w := testmodel.Generate(cfg)
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := testmodel.WriteGGUF(path, w, cfg, dtype); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(path, ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, w
}

func newContext(t *testing.T, m *Model, pooling Pooling, flashAttention bool) *Context {
	t.Helper()
	ctx, err := m.NewContext(ContextParams{BatchTokens: 256, Sequences: 16, Threads: 2, Pooling: pooling, FlashAttention: flashAttention})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctx.Close)
	return ctx
}

// testBatch mixes lengths from a lone [CLS] to the full trained context
// (64), 182 tokens in all, so masking between sequences and every position
// row are exercised.
func testBatch(cfg testmodel.Config, vocabSize int) [][]int32 {
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 99))
	randomSeq := func(n int) []int32 {
		seq := make([]int32, n)
		for i := range seq {
			seq[i] = int32(r.IntN(vocabSize))
		}
		return seq
	}
	return [][]int32{
		cfg.ExpectedIDs("hello world"),
		cfg.ExpectedIDs("the quick dog and the slow cat"),
		{testmodel.CLSID},
		randomSeq(40),
		randomSeq(64),
		randomSeq(64),
	}
}

// maxAbsDiff compares llama.cpp's outputs with the reference's, one vector
// per sequence.
func maxAbsDiff(t *testing.T, got [][]float32, want [][]float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d", len(got), len(want))
	}
	worst := 0.0
	for s := range want {
		if len(got[s]) != len(want[s]) {
			t.Fatalf("sequence %d: width %d, want %d", s, len(got[s]), len(want[s]))
		}
		for i := range want[s] {
			d := math.Abs(float64(got[s][i]) - want[s][i])
			if math.IsNaN(d) {
				t.Fatalf("sequence %d element %d is NaN", s, i)
			}
			worst = max(worst, d)
		}
	}
	return worst
}

func encode(t *testing.T, ctx *Context, seqs [][]int32) [][]float32 {
	t.Helper()
	out, err := ctx.Encode(seqs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmbeddingsMatchReference(t *testing.T) {
	for _, dtype := range []string{"f32", "f16"} {
		for _, pooling := range []string{"cls", "mean", "rank"} {
			cfg := testmodel.Tiny(11, pooling)
			if pooling == "rank" {
				cfg.Labels = 2 // more than one output checks the layout of the result
			}
			m, w := loadModel(t, cfg, dtype)
			if dtype == "f16" {
				testmodel.RoundToF16(w) // compare with the weights the file holds
			}
			seqs := testBatch(cfg, w.VocabSize())
			want := referenceOutputs(w, pooling, seqs)
			for _, fa := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/flash=%v", dtype, pooling, fa), func(t *testing.T) {
					// The GGUF's own pooling type applies: the context does
					// not override it.
					got := encode(t, newContext(t, m, PoolingUnspecified, fa), seqs)
					diff := map[reference.Activation]float64{}
					for act, w := range want {
						diff[act] = maxAbsDiff(t, got, w)
					}
					t.Logf("max |diff| vs reference with %v %.2e, %v %.2e, %v %.2e",
						reference.GELUErf, diff[reference.GELUErf], reference.GELUTanh, diff[reference.GELUTanh],
						reference.GELUTanhF16, diff[reference.GELUTanhF16])
					checks := bounds[fa]
					if dtype == "f16" {
						// Every matrix product also rounds activations to
						// f16: flash attention's bound (measured ≤ 6.6e-4).
						checks = bounds[true]
					}
					for _, b := range checks {
						if d := diff[b.gelu]; d > b.max {
							t.Errorf("differs from the reference with %v by %.2e (bound %.0e)", b.gelu, d, b.max)
						}
					}
				})
			}
		}
	}
}

// referenceOutputs computes what llama.cpp should return for seqs under each
// GELU variant: pooled hidden states, or raw classifier logits for rank.
// Token types are all 0, as llama.cpp hard-codes them.
func referenceOutputs(w *reference.Weights, pooling string, seqs [][]int32) map[reference.Activation][][]float64 {
	want := map[reference.Activation][][]float64{}
	for _, act := range []reference.Activation{reference.GELUErf, reference.GELUTanh, reference.GELUTanhF16} {
		w.Activation = act
		for _, seq := range seqs {
			var out []float64
			switch pooling {
			case "rank":
				out = w.Classify(seq, nil)
			case "cls":
				out = reference.Pool(w.Hidden(seq, nil), reference.PoolCLS)
			case "mean":
				out = reference.Pool(w.Hidden(seq, nil), reference.PoolMean)
			}
			want[act] = append(want[act], out)
		}
	}
	return want
}

// A context's pooling type overrides the GGUF's: a rank model can also
// return embeddings, and asking for rank explicitly sizes outputs by the
// classifier.
func TestContextPoolingOverridesModel(t *testing.T) {
	cfg := testmodel.Tiny(12, "rank")
	cfg.Labels = 3
	m, w := loadModel(t, cfg, "f32")
	if m.Info.ClassOutputs != 3 || m.Info.Pooling != PoolingRank {
		t.Fatalf("class outputs %d, pooling %v; want 3 and rank", m.Info.ClassOutputs, m.Info.Pooling)
	}
	seqs := testBatch(cfg, w.VocabSize())
	for _, c := range []struct {
		pooling   Pooling
		reference string
		width     int
	}{
		{PoolingRank, "rank", 3},
		{PoolingCLS, "cls", 64},
		{PoolingMean, "mean", 64},
	} {
		ctx := newContext(t, m, c.pooling, false)
		if ctx.Width() != c.width || ctx.Pooling() != c.pooling {
			t.Fatalf("%v: width %d pooling %v", c.pooling, ctx.Width(), ctx.Pooling())
		}
		want := referenceOutputs(w, c.reference, seqs)[reference.GELUTanhF16]
		if d := maxAbsDiff(t, encode(t, ctx, seqs), want); d > 1e-4 {
			t.Errorf("%v: differs from the reference by %.2e", c.pooling, d)
		}
	}
}

// llama.cpp adds token type 0 to every BERT token. The segment-B rows of
// convert/segments (written by testmodel for two-type cross-encoders) make
// token V+i embed as token i of type 1, so a pair fed with offset ids scores
// as the reference does with real token types, and without the offset as it
// does with all zeros.
func TestSegmentRowsGiveTokenTypeOne(t *testing.T) {
	cfg := testmodel.Tiny(16, "rank")
	m, w := loadModel(t, cfg, "f32")
	v, err := strconv.Atoi(m.Meta(segments.OffsetKey))
	if err != nil || v != w.VocabSize() || m.Info.VocabSize != 2*v {
		t.Fatalf("offset %q (%v), vocabulary %d: want %d and twice that", m.Meta(segments.OffsetKey), err, m.Info.VocabSize, w.VocabSize())
	}
	query, doc := cfg.ExpectedIDs("search query"), cfg.ExpectedIDs("the river and the mountain in winter")
	ids := append(slices.Clone(query), doc[1:]...) // [CLS] query [SEP] document [SEP]
	types, fed := make([]int32, len(ids)), slices.Clone(ids)
	for i := len(query); i < len(ids); i++ {
		types[i], fed[i] = 1, ids[i]+int32(v)
	}
	w.Activation = reference.GELUTanhF16
	got := encode(t, newContext(t, m, PoolingUnspecified, false), [][]int32{fed, ids})
	want := [][]float64{w.Classify(ids, types), w.Classify(ids, nil)}
	if d := maxAbsDiff(t, got, want); d > 1e-4 {
		t.Errorf("differs from the reference by %.2e", d)
	}
	if d := math.Abs(want[0][0] - want[1][0]); d < 1e-2 {
		t.Errorf("token types move the logit by only %.2e: the test would not see them", d)
	}
}

func TestRankPoolingNeedsClassifier(t *testing.T) {
	// llama_model_n_cls_out is 1 for every model (an hparams default), so
	// LoadModel looks for the cls.output tensor itself.
	m, _ := loadModel(t, testmodel.Tiny(12, "cls"), "f32")
	if _, err := m.NewContext(ContextParams{BatchTokens: 64, Sequences: 1, Pooling: PoolingRank}); err == nil {
		t.Error("rank pooling accepted on a model without a classifier")
	}
}

func TestEncodeRejectsInvalidBatches(t *testing.T) {
	cfg := testmodel.Tiny(13, "cls")
	m, _ := loadModel(t, cfg, "f32")
	ctx := newContext(t, m, PoolingUnspecified, true)
	ok := cfg.ExpectedIDs("hello world")
	repeat := func(n int, seq []int32) [][]int32 {
		out := make([][]int32, n)
		for i := range out {
			out[i] = seq
		}
		return out
	}
	cases := map[string][][]int32{
		"empty sequence":      {ok, {}},
		"too many tokens":     repeat(5, make([]int32, 60)), // 300 > 256
		"too many sequences":  repeat(17, ok),
		"past trained length": {make([]int32, m.Info.TrainContext+1)}, // position 64 would abort
		"token id too large":  {{testmodel.CLSID, int32(m.Info.VocabSize), testmodel.SEPID}},
		"negative token id":   {{-1}},
	}
	for name, seqs := range cases {
		if _, err := ctx.Encode(seqs); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: error %v, want ErrInvalidBatch", name, err)
		}
	}
	// Still alive, and the context still works.
	if out := encode(t, ctx, [][]int32{ok}); len(out) != 1 || len(out[0]) != 64 {
		t.Errorf("after rejected batches: %d outputs", len(out))
	}
}

func TestTokenizeMatchesVocabulary(t *testing.T) {
	cfg := testmodel.Tiny(14, "cls")
	m, _ := loadModel(t, cfg, "f32")
	vocab := testmodel.DefaultVocab()
	id := func(tok string) int32 { return int32(slices.Index(vocab, tok)) }
	cases := []struct {
		text string
		want []int32
	}{
		{"hello world", cfg.ExpectedIDs("hello world")},
		{"the quick dog and the slow cat", cfg.ExpectedIDs("the quick dog and the slow cat")},
		// llama.cpp lowercases, and finds "##" continuation pieces stored
		// without their prefix.
		{"Dogs walked", []int32{testmodel.CLSID, id("dog"), id("##s"), id("walk"), id("##ed"), testmodel.SEPID}},
		{"zebra", []int32{testmodel.CLSID, testmodel.UnkID, testmodel.SEPID}},
	}
	for _, c := range cases {
		got, err := m.Tokenize(c.text, true, false)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Tokenize(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
	}
	if got, _ := m.Tokenize("hello", false, false); !slices.Equal(got, []int32{id("hello")}) {
		t.Errorf("without specials: %v", got)
	}
}

func TestModelInfo(t *testing.T) {
	cfg := testmodel.Tiny(15, "mean")
	m, _ := loadModel(t, cfg, "f32")
	want := ModelInfo{
		Arch: "bert", Embedding: 64, ClassOutputs: m.Info.ClassOutputs, TrainContext: 64,
		VocabSize: len(testmodel.DefaultVocab()), Pooling: PoolingMean, ParamBytes: m.Info.ParamBytes,
		BOS: testmodel.CLSID, EOS: -1, SEP: testmodel.SEPID,
	}
	if m.Info != want {
		t.Errorf("info %+v\nwant %+v", m.Info, want)
	}
}

// Invalid UTF-8 used to abort the process from inside llama.cpp's
// WordPiece (std::invalid_argument "invalid codepoint"); each bad byte now
// reads as U+FFFD, as encoding/json decodes it.
func TestTokenizeInvalidUTF8(t *testing.T) {
	ugm := testmodel.Tiny(16, "cls")
	ugm.Tokenizer = "ugm"
	for _, cfg := range []testmodel.Config{testmodel.Tiny(16, "cls"), ugm} {
		m, _ := loadModel(t, cfg, "f32")
		for _, text := range []string{"x \xf7\xbf\xbf\xbf y", "a \xff\xfe b", "\xed\xa0\x80", "hello \xe6\x97", "\xf8\x88\x80\x80\x80"} {
			got, err := m.Tokenize(text, true, false)
			// []rune gives one U+FFFD per invalid byte.
			want, _ := m.Tokenize(string([]rune(text)), true, false)
			if err != nil || len(got) < 2 || !slices.Equal(got, want) {
				t.Errorf("%s: Tokenize(%q) = %v, %v; want %v", cfg.Tokenizer, text, got, err, want)
			}
		}
	}
}
