package reference

import (
	"fmt"
	"math"
)

// Pooling turns per-token hidden states into one vector per sequence.
type Pooling int

const (
	// PoolCLS takes the first token's state ([CLS] or <s>).
	PoolCLS Pooling = iota
	// PoolMean averages every token of the sequence, special tokens
	// included, as sentence-transformers does on unpadded input.
	PoolMean
)

// Pool reduces the hidden states of one sequence to one vector.
func Pool(hidden [][]float64, mode Pooling) []float64 {
	if len(hidden) == 0 {
		panic("reference: pooling an empty sequence")
	}
	out := make([]float64, len(hidden[0]))
	switch mode {
	case PoolCLS:
		copy(out, hidden[0])
	case PoolMean:
		for _, h := range hidden {
			for d, v := range h {
				out[d] += v
			}
		}
		for d := range out {
			out[d] /= float64(len(hidden))
		}
	default:
		panic(fmt.Sprintf("reference: unknown pooling %d", mode))
	}
	return out
}

// Normalize returns v scaled to unit Euclidean length (v itself when zero).
func Normalize(v []float64) []float64 {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	out := make([]float64, len(v))
	copy(out, v)
	if sum == 0 {
		return out
	}
	inv := 1 / math.Sqrt(sum)
	for i := range out {
		out[i] *= inv
	}
	return out
}
