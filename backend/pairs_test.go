package backend

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
)

func TestPairTemplates(t *testing.T) {
	query, doc := []int32{10, 11}, []int32{20, 21, 22}
	cases := []struct {
		name string
		f    pairFormat
		want []int32
	}{
		// [CLS]=2 q [SEP]=3 | d [SEP], segment B shifted by V=100.
		{"bert with segment rows", pairFormat{style: bertPair, cls: 2, sep: 3, typeOffset: 100},
			[]int32{2, 10, 11, 3, 120, 121, 122, 103}},
		{"bert without", pairFormat{style: bertPair, cls: 2, sep: 3},
			[]int32{2, 10, 11, 3, 20, 21, 22, 3}},
		{"bert with prefix", pairFormat{style: bertPair, cls: 2, sep: 3, typeOffset: 100, docPrefix: []int32{7}},
			[]int32{2, 10, 11, 3, 107, 120, 121, 122, 103}},
		// <s>=0 q </s>=2 </s> d </s>, all type 0 even with an offset.
		{"roberta", pairFormat{style: robertaPair, cls: 0, sep: 2},
			[]int32{0, 10, 11, 2, 2, 20, 21, 22, 2}},
		{"roberta with prefix", pairFormat{style: robertaPair, cls: 0, sep: 2, docPrefix: []int32{7, 8}},
			[]int32{0, 10, 11, 2, 2, 7, 8, 20, 21, 22, 2}},
	}
	for _, c := range cases {
		got := c.f.pair(query, doc)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if n := len(query) + len(c.f.docPrefix) + len(doc) + c.f.specials(); len(got) != n {
			t.Errorf("%s: %d tokens, specials() says %d", c.name, len(got), n)
		}
	}
	if got := (&pairFormat{style: bertPair, cls: 2, sep: 3}).pair(query, nil); !slices.Equal(got, []int32{2, 10, 11, 3, 3}) {
		t.Errorf("empty document: %v", got)
	}
}

func TestChunkSpans(t *testing.T) {
	cases := []struct {
		name            string
		n, size, chunks int
		want            []span
	}{
		{"fits", 10, 10, 0, []span{{0, 10}}},
		{"empty", 0, 5, 0, []span{{0, 0}}},
		// size 16 overlaps by 2: stride 14; the last chunk is pulled back
		// to end at 40 and stays 16 long.
		{"three chunks", 40, 16, 0, []span{{0, 16}, {14, 30}, {24, 40}}},
		{"exact stride", 30, 16, 0, []span{{0, 16}, {14, 30}}},
		{"capped", 40, 16, 2, []span{{0, 16}, {14, 30}}},
		{"truncate", 40, 16, 1, []span{{0, 16}}},
		// Below 8 tokens there is no overlap: stride = size.
		{"tiny chunks", 10, 4, 0, []span{{0, 4}, {4, 8}, {6, 10}}},
		{"one token", 3, 1, 0, []span{{0, 1}, {1, 2}, {2, 3}}},
	}
	for _, c := range cases {
		got := chunkSpans(c.n, c.size, c.chunks)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Every token is covered, chunks never exceed size, starts increase.
	for n := 1; n < 300; n += 7 {
		for _, size := range []int{1, 5, 8, 59, 64} {
			spans := chunkSpans(n, size, 0)
			covered := 0
			for i, s := range spans {
				if s.end-s.start > size || s.start > covered || (i > 0 && s.start <= spans[i-1].start) {
					t.Fatalf("n=%d size=%d: bad spans %v", n, size, spans)
				}
				covered = max(covered, s.end)
			}
			if covered != n {
				t.Fatalf("n=%d size=%d: spans %v cover %d tokens", n, size, spans, covered)
			}
		}
	}
}

func TestRelevance(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	for _, x := range []float32{0, 2, -3, 40, -800} {
		prob, raw := relevance([]float32{x}, 0)
		if want := 1 / (1 + math.Exp(-float64(x))); !near(prob, want) || raw != float64(x) || math.IsNaN(prob) {
			t.Errorf("sigmoid(%g) = %g, %g; want %g", x, prob, raw, want)
		}
	}
	// Softmax of {1, 2, 3}: the relevant label's share.
	sum := math.Exp(1) + math.Exp(2) + math.Exp(3)
	for label, want := range []float64{math.Exp(1) / sum, math.Exp(2) / sum, math.Exp(3) / sum} {
		prob, raw := relevance([]float32{1, 2, 3}, label)
		if !near(prob, want) || raw != float64(label+1) {
			t.Errorf("softmax label %d = %g, %g; want %g", label, prob, raw, want)
		}
	}
	if prob, _ := relevance([]float32{1000, 0}, 1); prob != 0 || math.IsNaN(prob) {
		t.Errorf("large logits overflow: %g", prob)
	}
}

// A pair template from the GGUF (keys.PairTemplate) wins over the layout
// the vocabulary implies, shifts its type-1 pieces into segment B when the
// GGUF has segment rows, and builds what the BERT and RoBERTa styles build
// when it spells their layouts.
func TestPairTemplateFromGGUF(t *testing.T) {
	query, doc := []int32{10, 11}, []int32{20, 21, 22}
	bertTokens := map[string]any{"tokenizer.ggml.model": "bert"}
	cases := []struct {
		name        string
		meta        map[string]any
		want        []int32
		same        *pairFormat // the built-in style the template must agree with
		approximate bool
	}{
		// ruri-v3 (modernbert-ja): <s>=1 q </s>=2 <s> d </s>; ModernBERT has
		// no token types, so type 1 shifts nothing.
		{"ruri", map[string]any{keys.PairTemplate: "1:0 $A:0 2:0 1:1 $B:1 2:1"},
			[]int32{1, 10, 11, 2, 1, 20, 21, 22, 2}, nil, false},
		{"bert with segment rows", map[string]any{"tokenizer.ggml.model": "bert", segments.OffsetKey: uint32(50), keys.PairTemplate: "1:0 $A:0 2:0 $B:1 2:1"},
			[]int32{1, 10, 11, 2, 70, 71, 72, 52}, &pairFormat{style: bertPair, cls: 1, sep: 2, typeOffset: 50}, false},
		{"bert without", map[string]any{"tokenizer.ggml.model": "bert", "tokenizer.ggml.token_type_count": uint32(2), keys.PairTemplate: "1:0 $A:0 2:0 $B:1 2:1"},
			[]int32{1, 10, 11, 2, 20, 21, 22, 2}, &pairFormat{style: bertPair, cls: 1, sep: 2}, true},
		{"roberta", map[string]any{keys.PairTemplate: "1:0 $A:0 2:0 2:0 $B:0 2:0"},
			[]int32{1, 10, 11, 2, 2, 20, 21, 22, 2}, &pairFormat{style: robertaPair, cls: 1, sep: 2}, false},
		// The template is not the WordPiece default: it is what is built.
		{"template over the vocabulary's style", map[string]any{"tokenizer.ggml.model": "bert", keys.PairTemplate: "$A:0 2:0 $B:0"},
			[]int32{10, 11, 2, 20, 21, 22}, nil, false},
		{"no template", bertTokens, []int32{1, 10, 11, 2, 20, 21, 22, 2}, &pairFormat{style: bertPair, cls: 1, sep: 2}, false},
	}
	for _, c := range cases {
		f, err := newPairFormat(fakeWithMeta(c.meta), llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := f.pair(query, doc)
		if !slices.Equal(got, c.want) || f.approximate != c.approximate {
			t.Errorf("%s: %v (approximate %v), want %v (%v)", c.name, got, f.approximate, c.want, c.approximate)
		}
		if c.same != nil && !slices.Equal(got, c.same.pair(query, doc)) {
			t.Errorf("%s: %v, the built-in style builds %v", c.name, got, c.same.pair(query, doc))
		}
		if n := len(query) + len(doc) + f.specials(); len(got) != n {
			t.Errorf("%s: %d tokens, specials() says %d", c.name, len(got), n)
		}
	}
	f, err := newPairFormat(fakeWithMeta(map[string]any{keys.PairTemplate: "1:0 $A:0 2:0 1:1 $B:1 2:1"}), llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{DocumentPrefix: "doc:"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.pair(query, doc); !slices.Equal(got, []int32{1, 10, 11, 2, 1, 14, 20, 21, 22, 2}) {
		t.Errorf("with a document prefix: %v", got)
	}
	for _, bad := range []string{"1:0 $A:0 150:0 $B:0", "1:0 $A:0 2:2 $B:2", "1:0 $A:0 2:0", "<s>:0 $A:0 $B:1"} {
		if _, err := newPairFormat(fakeWithMeta(map[string]any{keys.PairTemplate: bad}), llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{}); err == nil || !strings.Contains(err.Error(), keys.PairTemplate) {
			t.Errorf("template %q: error %v, want one naming %s", bad, err, keys.PairTemplate)
		}
	}
}
