package keys

import (
	"slices"
	"testing"
)

func TestPairTemplateRoundTrip(t *testing.T) {
	pieces := []PairPiece{{ID: 1}, {Sequence: "A"}, {ID: 2}, {ID: 1, TypeID: 1}, {Sequence: "B", TypeID: 1}, {ID: 2, TypeID: 1}}
	s := FormatPairTemplate(pieces)
	if s != "1:0 $A:0 2:0 1:1 $B:1 2:1" {
		t.Fatalf("formatted %q", s)
	}
	got, err := ParsePairTemplate(s)
	if err != nil || !slices.Equal(got, pieces) {
		t.Fatalf("parsed %v, %v", got, err)
	}
	for _, bad := range []string{"", "1:0 $A:0", "$A:0 $B:0 $B:1", "$A $B:0", "$A:-1 $B:0", "$C:0 $A:0 $B:0", "x:0 $A:0 $B:0", "-3:0 $A:0 $B:0"} {
		if _, err := ParsePairTemplate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
