package unigram

import (
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// FuzzEncode: any text, valid UTF-8 or not, encodes to ids of the
// vocabulary whose pieces (byte pieces as their byte) spell the text with
// spaces as "▁", in memory proportional to the text.
func FuzzEncode(f *testing.F) {
	for _, seed := range []string{"", "abc", "a b", "日本語 ab", "\xff\xfe", "▁▁", "abcabcab", "c\x00日"} {
		f.Add(seed)
	}
	tok := vocab(f, false,
		piece{"a", -1, Normal}, piece{"b", -1, Normal}, piece{"ab", -2, Normal},
		piece{"▁", -1, Normal}, piece{"abc", -5, Normal}, piece{"c", -1, Normal},
		piece{"<x>", -9, UserDefined}, piece{"日", -3, Normal})
	spelled := make([]string, len(tok.scores))
	for p, id := range tok.pieces {
		spelled[id] = p
	}
	for b, id := range tok.byteIDs {
		spelled[id] = string([]byte{byte(b)})
	}
	f.Fuzz(func(t *testing.T, text string) {
		var ids []int32
		fuzzcheck.Bounded(t, len(text), 256, 0, func() { ids = tok.Encode(text, nil) })
		var got strings.Builder
		for _, id := range ids {
			if id < 0 || int(id) >= len(spelled) {
				t.Fatalf("id %d outside the vocabulary", id)
			}
			got.WriteString(spelled[id])
		}
		if want := strings.ReplaceAll(text, " ", "▁"); got.String() != want {
			t.Fatalf("%q encodes to %v, which spells %q", text, ids, got.String())
		}
	})
}
