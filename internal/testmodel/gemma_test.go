package testmodel

import (
	"slices"
	"testing"
)

// Gemma puts no "▁" before a text, so its first word is single letters;
// later words merge into their "▁" pieces; characters without a piece
// become their UTF-8 bytes.
func TestGemmaIDs(t *testing.T) {
	index := map[string]int32{}
	for i, piece := range GemmaVocab() {
		index[piece] = int32(i)
	}
	ids := func(pieces ...string) []int32 {
		out := []int32{gemmaBOS}
		for _, p := range pieces {
			id, ok := index[p]
			if !ok {
				t.Fatalf("no piece %q", p)
			}
			out = append(out, id)
		}
		return append(out, gemmaEOS)
	}
	for text, want := range map[string][]int32{
		"dog":           ids("d", "o", "g"),
		"the dog: 42":   ids("t", "h", "e", "▁dog", ":", "▁", "4", "2"),
		"Hé  cat\n":     ids("<0x48>", "<0xC3>", "<0xA9>", "▁", "▁cat", "<0x0A>"),
		"task: x | dog": ids("t", "a", "s", "k", ":", "▁", "x", "▁", "|", "▁dog"),
	} {
		if got := GemmaIDs(text); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}
