package backend

import (
	"errors"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/keys"
)

func TestEmbedPrefixAndDimensions(t *testing.T) {
	yes, no := true, false
	m := &loadedModel{
		entry: catalog.Entry{Name: "qwen3", QueryPrefix: "Instruct: default\nQuery:", Matryoshka: &yes, MinDimensions: 32},
		model: fakeWithMeta(map[string]any{keys.InstructionQueryPrefix: "Instruct: {instruction}\nQuery:"}),
		width: 1024,
	}
	for _, c := range []struct {
		t           InputType
		instruction string
		want        string
		fails       bool
	}{
		{"", "", "", false},
		{InputQuery, "", "Instruct: default\nQuery:", false},
		{"", "find code", "Instruct: find code\nQuery:", false},
		{InputQuery, "find code", "Instruct: find code\nQuery:", false},
		{InputDocument, "find code", "", true},
	} {
		got, err := m.embedPrefix(c.t, c.instruction)
		if got != c.want || (err != nil) != c.fails {
			t.Errorf("%q %q: %q, %v", c.t, c.instruction, got, err)
		}
	}
	plain := &loadedModel{entry: catalog.Entry{Name: "e5"}, model: fakeWithMeta(nil), width: 1024}
	if _, err := plain.embedPrefix("", "task"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("instruction to a model without a template: %v", err)
	}
	for _, c := range []struct {
		m     *loadedModel
		n     int
		fails bool
	}{
		{m, 0, false}, {m, 1024, false}, {m, 32, false}, {m, 31, true},
		{plain, 8, false}, // not stated: allowed, as before
		{&loadedModel{entry: catalog.Entry{Matryoshka: &no}, width: 1024}, 512, true},
		{&loadedModel{entry: catalog.Entry{Matryoshka: &no}, width: 1024}, 1024, false},
	} {
		if err := c.m.checkDimensions(c.n); (err != nil) != c.fails || err != nil && !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s dimensions %d: %v", c.m.entry.Name, c.n, err)
		}
	}
}

// kv_cache_type f32 gives the model an f32 cache and, since llama.cpp's
// CPU flash attention computes in f16, attention without it, booked with
// its quadratic score buffer.
func TestKVCachePlan(t *testing.T) {
	meta := fakeWithMeta(map[string]any{"general.architecture": "qwen3", "qwen3.context_length": uint32(512), "qwen3.attention.head_count": uint32(16)})
	cfg := Config{FlashAttention: true, BatchTokens: 512}
	plan, err := planContexts(catalog.Entry{Name: "q"}, meta, cfg)
	if err != nil || !plan.flashAttention || plan.exactKV || plan.scoreHeads != 0 {
		t.Errorf("default: %+v %v", plan, err)
	}
	plan, err = planContexts(catalog.Entry{Name: "q", KVCacheType: catalog.KVCacheF32}, meta, cfg)
	if err != nil || plan.flashAttention || !plan.exactKV || plan.scoreHeads != 16 {
		t.Errorf("f32 cache: %+v %v", plan, err)
	}
}
