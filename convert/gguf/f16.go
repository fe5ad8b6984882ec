package gguf

import "math"

// F16FromFloat32 rounds f to the nearest IEEE 754 half-precision value (ties
// to even), the same rounding ggml and PyTorch use, and returns its bits.
// Values too large for half precision become ±Inf; NaN stays NaN.
func F16FromFloat32(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff

	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // exponent rebased for half precision
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal: value = m × 2^-24. Anything below 2^-25 rounds to
		// zero (exactly 2^-25 is a tie and rounds to the even zero).
		if e < -10 {
			return sign
		}
		full := mant | 0x800000
		shift := uint32(14 - e)
		return sign | roundShift(full, shift)
	}
	// A carry out of the mantissa correctly bumps the exponent, and from the
	// largest finite value into Inf.
	return sign | roundShift(uint32(e)<<23|mant, 13)
}

// roundShift returns v >> shift rounded to nearest, ties to even.
func roundShift(v, shift uint32) uint16 {
	out := v >> shift
	rem := v & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && out&1 == 1) {
		out++
	}
	return uint16(out)
}

// Float32FromF16 widens half-precision bits to float32 exactly.
func Float32FromF16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: mant × 2^-24, exactly representable as a float32.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// BF16FromFloat32 keeps the top 16 bits of f, rounded to nearest even; NaN
// stays a (quiet) NaN.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
