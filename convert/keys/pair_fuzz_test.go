package keys

import (
	"reflect"
	"testing"

	"github.com/rerank-api/rerank-api/internal/fuzzcheck"
)

// FuzzParsePairTemplate: a template read from a GGUF either fails or holds
// $A and $B once each, token ids and types that are not negative, and
// formats back to a string that parses to the same pieces.
func FuzzParsePairTemplate(f *testing.F) {
	for _, seed := range []string{"1:0 $A:0 2:0 1:1 $B:1 2:1", "101:0 $A:0 102:0 $B:1 102:1", "$A:0 $B:0", "", "$A:0", "-1:0 $A:0 $B:1", "9999999999:0 $A:0 $B:0", "$C:0", "1:x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var pieces []PairPiece
		var err error
		fuzzcheck.Bounded(t, len(s), 64, 0, func() { pieces, err = ParsePairTemplate(s) })
		if err != nil {
			return
		}
		seqs := map[string]int{}
		for _, p := range pieces {
			if p.ID < 0 || p.TypeID < 0 {
				t.Fatalf("%q gives a negative id or type: %+v", s, p)
			}
			if p.Sequence != "" {
				seqs[p.Sequence]++
			}
		}
		if seqs["A"] != 1 || seqs["B"] != 1 || len(seqs) != 2 {
			t.Fatalf("%q parses to sequences %v", s, seqs)
		}
		again, err := ParsePairTemplate(FormatPairTemplate(pieces))
		if err != nil || !reflect.DeepEqual(again, pieces) {
			t.Fatalf("%q formats to %q, which parses to %v, %v", s, FormatPairTemplate(pieces), again, err)
		}
	})
}
