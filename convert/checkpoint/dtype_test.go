package checkpoint

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestBF16Rounding(t *testing.T) {
	cases := []struct {
		in   uint32 // float32 bits
		want uint16
	}{
		{0x3f800000, 0x3f80},            // 1.0 exactly
		{0x3f808000, 0x3f80},            // halfway, even below: stays
		{0x3f818000, 0x3f82},            // halfway, odd below: rounds up to even
		{0x3f808001, 0x3f81},            // just above halfway
		{0x3f807fff, 0x3f80},            // just below halfway
		{0xbf818000, 0xbf82},            // sign does not matter
		{0x7f7fffff, 0x7f80},            // largest float32 rounds to +Inf, as in PyTorch
		{0x7f800000, 0x7f80},            // +Inf
		{0xff800000, 0xff80},            // -Inf
		{0x00000001, 0x0000},            // tiny subnormal rounds to zero
		{0x80000000, 0x8000},            // -0
		{0x7f800001, 0x7fc0},            // NaN whose payload truncation would clear stays NaN
		{0xffc00000, 0xffc0},            // negative quiet NaN
		{math.Float32bits(0.1), 0x3dcd}, // 0x3dcccccd rounds up
	}
	for _, c := range cases {
		b := BF16Bytes([]float32{math.Float32frombits(c.in)})
		if got := binary.LittleEndian.Uint16(b); got != c.want {
			t.Errorf("bf16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestFloatEncodingsRoundTrip(t *testing.T) {
	// Values every format represents exactly come back unchanged.
	exact := []float32{0, 1, -2, 0.5, 65504, -0.25, 3.0517578e-05}
	for _, d := range []struct {
		dtype  DType
		encode func([]float32) []byte
	}{{F32, F32Bytes}, {F16, F16Bytes}, {BF16, BF16Bytes}} {
		vals := exact
		if d.dtype == BF16 {
			vals = exact[:4] // 65504 needs 11 significant bits
		}
		got, err := decodeFloat32(d.dtype, d.encode(vals))
		if err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			if got[i] != vals[i] {
				t.Errorf("%s: %g came back as %g", d.dtype, vals[i], got[i])
			}
		}
	}
	// F16 rounds as convert/gguf does: 1 + 2^-11 is a tie and goes to even.
	if got, _ := decodeFloat32(F16, F16Bytes([]float32{1 + 1.0/2048})); got[0] != 1 {
		t.Errorf("f16(1+2^-11) = %g, want 1", got[0])
	}
	if _, err := decodeFloat32(I64, make([]byte, 8)); err == nil {
		t.Error("decoded I64 as floats")
	}
}

func TestDTypeSizes(t *testing.T) {
	for d, want := range map[DType]int{F32: 4, F16: 2, BF16: 2, I64: 8, "BOOL": 1, "F64": 8, "Q4": 0} {
		if d.Size() != want {
			t.Errorf("%s.Size() = %d, want %d", d, d.Size(), want)
		}
	}
}
