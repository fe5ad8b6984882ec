package backend

import (
	"math"
	"testing"
)

// Only positive logits give a weight, log(1 + logit), listed by id.
func TestSPLADESparse(t *testing.T) {
	got := spladeSparse([]float32{-1, 0, 2, float32(math.Inf(-1)), 0.5})
	want := []SparseWeight{{ID: 2, Weight: float32(math.Log1p(2))}, {ID: 4, Weight: float32(math.Log1p(0.5))}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("weight %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
