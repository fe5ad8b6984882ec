package reference

import (
	"math"
	"testing"
)

// The slopes must be the ones llama.cpp's soft_max applies with
// max_alibi_bias 8 (ggml-cpu ops.cpp): m0^(h+1) for the first 2^⌊log2 n⌋
// heads, m1^(2(h−that)+1) after, with m0 = 2^(−8/that), m1 = 2^(−4/that).
func TestALiBiSlopesMatchGGML(t *testing.T) {
	for _, heads := range []int{1, 2, 4, 6, 8, 12, 16, 20} {
		log2 := 1 << int(math.Floor(math.Log2(float64(heads))))
		m0, m1 := math.Pow(2, -8/float64(log2)), math.Pow(2, -4/float64(log2))
		got := ALiBiSlopes(heads)
		if len(got) != heads {
			t.Fatalf("%d heads: %d slopes", heads, len(got))
		}
		for h, s := range got {
			want := math.Pow(m0, float64(h+1))
			if h >= log2 {
				want = math.Pow(m1, float64(2*(h-log2)+1))
			}
			if math.Abs(s-want) > 1e-12*want {
				t.Errorf("%d heads: slope %d = %g, ggml %g", heads, h, s, want)
			}
		}
	}
}
