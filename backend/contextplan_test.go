package backend

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
)

// exactBufferBytes is bufferBytes's formula for llama.cpp's contexts in
// arbitrary precision, capped where bufferBytes saturates.
func exactBufferBytes(p contextPlan, workers int) uint64 {
	n, heads := big.NewInt(int64(p.capacity)), big.NewInt(int64(p.scoreHeads))
	b := new(big.Int).Mul(n, big.NewInt(64<<10))
	b.Add(b, big.NewInt(32<<20))
	b.Add(b, new(big.Int).Mul(new(big.Int).Mul(heads, big.NewInt(4)), new(big.Int).Mul(n, n)))
	b.Mul(b, big.NewInt(int64(workers)))
	if !b.IsUint64() {
		return math.MaxUint64
	}
	return b.Uint64()
}

// A GGUF's context_length and head_count are whatever its author wrote:
// the booking of their buffers must saturate rather than wrap around to
// a small number the pool would believe, and a plan whose one context
// cannot be counted is refused with the keys that make it so.
func TestBufferBytesSaturates(t *testing.T) {
	for _, p := range []contextPlan{
		{capacity: 512, flashAttention: true},
		{capacity: 8192, scoreHeads: 12},
		{capacity: 1 << 32, scoreHeads: 1},            // capacity² × 4 alone wraps
		{capacity: 1 << 31, scoreHeads: 1 << 31},      // the heads push it over
		{capacity: math.MaxInt, flashAttention: true}, // capacity × 64 KiB wraps
		{capacity: 1 << 20, scoreHeads: math.MaxInt},  // heads × 4 wraps
	} {
		for _, workers := range []int{1, 3, 1 << 20} {
			if got, want := p.bufferBytes(workers), exactBufferBytes(p, workers); got != want {
				t.Errorf("%+v × %d workers: %d bytes, want %d", p, workers, got, want)
			}
		}
	}

	cfg := Config{BatchTokens: 512}
	for _, c := range []struct {
		context, heads uint64
		flash          bool
		refused        bool
	}{
		{512, 12, false, false},
		{1 << 31, 1 << 20, true, false},   // huge, but countable: the pool says it does not fit
		{1 << 31, 1 << 20, false, true},   // 2^20 heads × 2^62 × 4 bytes of scores
		{math.MaxUint32, 64, false, true}, // (2^32)² × 64 × 4
	} {
		meta := fakeWithMeta(map[string]any{"general.architecture": "bert", "bert.context_length": c.context, "bert.attention.head_count": c.heads})
		cfg.FlashAttention = c.flash
		plan, err := planContexts(catalog.Entry{Name: "m"}, meta, cfg)
		switch {
		case c.refused:
			if err == nil || !strings.Contains(err.Error(), "bert.context_length") || !strings.Contains(err.Error(), "max_length") {
				t.Errorf("context %d, %d heads: %+v, %v; want a refusal naming the key and what to do", c.context, c.heads, plan, err)
			}
		case err != nil:
			t.Errorf("context %d, %d heads: %v", c.context, c.heads, err)
		default:
			if got, want := plan.bufferBytes(2), exactBufferBytes(plan, 2); got != want {
				t.Errorf("context %d, %d heads: %d bytes, want %d", c.context, c.heads, got, want)
			}
		}
		// The remedy the refusal names: max_length bounds what a huge
		// context_length books.
		if bounded, err := planContexts(catalog.Entry{Name: "m", MaxLength: 512}, meta, cfg); err != nil || bounded.capacity != 512 {
			t.Errorf("context %d with max_length 512: %+v, %v", c.context, bounded, err)
		}
	}
}

// A ModernBERT whose sizes would wrap 64 bits books everything, not a
// wrapped-around small number.
func TestEncoderBookingSaturates(t *testing.T) {
	huge := encoderShape{width: 1 << 20, feedForward: 1 << 22, heads: 1 << 20}
	for _, flash := range []bool{true, false} {
		if got := huge.contextBytes(1<<32, flash); got != math.MaxUint64 {
			t.Errorf("flash=%v: booked %d bytes, want saturation at %d", flash, got, uint64(math.MaxUint64))
		}
	}
	small := encoderShape{width: 64, feedForward: 128, heads: 4}
	if got := small.contextBytes(512, true); got == math.MaxUint64 || got < 16<<20 {
		t.Errorf("a small encoder books %d bytes", got)
	}
}
