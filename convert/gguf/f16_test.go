package gguf

import (
	"math"
	"testing"
)

func TestF16RoundTripsEveryHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := Float32FromF16(uint16(h))
		got := F16FromFloat32(f)
		if math.IsNaN(float64(f)) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, got)
		}
	}
}

// Between two neighbouring halves, the exact midpoint must go to the one with
// an even mantissa and anything off the midpoint to the nearer one.
func TestF16RoundsToNearestEven(t *testing.T) {
	for h := uint16(0); h < 0x7bff; h++ {
		lo, hi := float64(Float32FromF16(h)), float64(Float32FromF16(h+1))
		mid := float32((lo + hi) / 2) // exact: halves have 11-bit mantissas
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		if got := F16FromFloat32(mid); got != even {
			t.Fatalf("midpoint %g of %#04x/%#04x -> %#04x, want %#04x", mid, h, h+1, got, even)
		}
		if got := F16FromFloat32(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("just below midpoint of %#04x/%#04x -> %#04x", h, h+1, got)
		}
		if got := F16FromFloat32(math.Nextafter32(mid, 1e9)); got != h+1 {
			t.Fatalf("just above midpoint of %#04x/%#04x -> %#04x", h, h+1, got)
		}
		if got := F16FromFloat32(-mid); got != even|0x8000 {
			t.Fatalf("negative midpoint %g -> %#04x", -mid, got)
		}
	}
}

func TestF16Edges(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},                 // largest finite half
		{65519.99, 0x7bff},              // still rounds down
		{65520, 0x7c00},                 // ties to even: overflows to Inf
		{1e10, 0x7c00},                  // too large
		{float32(math.Inf(-1)), 0xfc00}, // -Inf
		{0x1p-24, 0x0001},               // smallest subnormal
		{0x1p-25, 0x0000},               // tie with zero goes to even zero
		{0x1.8p-25, 0x0001},             // above the tie
		{0x1p-14, 0x0400},               // smallest normal
		{0x1.ffcp-15, 0x0400},           // subnormal tie that rounds up into the normals
		{0x1.ff8p-15, 0x03ff},           // largest subnormal, exact
		{1e-30, 0x0000},                 // underflow
		{float32(math.NaN()), 0x7e00},   // quiet NaN
		// Expected bits below from Python: struct.pack('<e', x).
		{0.1, 0x2e66},
		{3.14159265, 0x4248},
		{-0.000123456, 0x880c},
		{float32(math.Nextafter32(1, 2)), 0x3c00},
	}
	for _, c := range cases {
		if got := F16FromFloat32(c.in); got != c.want {
			t.Errorf("F16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestBF16FromFloat32(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{float32(math.Inf(1)), 0x7f80},
	}
	for _, c := range cases {
		if got := BF16FromFloat32(c.in); got != c.want {
			t.Errorf("BF16FromFloat32(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := BF16FromFloat32(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN became %#04x", got)
	}
}
