package llama

import (
	"testing"

	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A context with PoolingNone returns every token's hidden state, in batch
// order, for sequences of mixed lengths in one batch: the reference's
// states before pooling, within f32 rounding (flash attention off and the
// reference on ggml's GELU, as in TestContextPoolingOverridesModel). A
// rank model serves them too: the head is pooling's, not the encoder's.
func TestPoolingNoneReturnsTokenStates(t *testing.T) {
	for _, pooling := range []string{"mean", "rank"} {
		cfg := testmodel.Tiny(13, pooling)
		m, w := loadModel(t, cfg, "f32")
		w.Activation = reference.GELUTanhF16
		ctx := newContext(t, m, PoolingNone, false)
		if ctx.Pooling() != PoolingNone || ctx.Width() != 64 {
			t.Fatalf("%s: pooling %v width %d, want none and 64", pooling, ctx.Pooling(), ctx.Width())
		}
		seqs := testBatch(cfg, w.VocabSize())
		got := encode(t, ctx, seqs)
		var flatGot [][]float32
		var flatWant [][]float64
		for s, seq := range seqs {
			if len(got[s]) != len(seq)*ctx.Width() {
				t.Fatalf("%s: sequence %d: %d floats for %d tokens", pooling, s, len(got[s]), len(seq))
			}
			for i, h := range w.Hidden(seq, nil) {
				flatGot = append(flatGot, got[s][i*ctx.Width():(i+1)*ctx.Width()])
				flatWant = append(flatWant, h)
			}
		}
		if d := maxAbsDiff(t, flatGot, flatWant); d > 1e-4 {
			t.Errorf("%s: token states differ from the reference by %.2e", pooling, d)
		}
	}
}

// Only an explicit PoolingNone gives token vectors: a GGUF that declares
// no pooling is refused as before, since its vectors would be per token.
func TestModelWithoutPoolingRefused(t *testing.T) {
	m, _ := loadModel(t, testmodel.Tiny(14, "mean"), "f32")
	m.Info.Pooling = PoolingNone // as a GGUF without pooling_type loads
	if _, err := m.NewContext(ContextParams{BatchTokens: 64, Sequences: 1, Pooling: PoolingUnspecified}); err == nil {
		t.Error("a model without pooling made a context of its own pooling")
	}
}
