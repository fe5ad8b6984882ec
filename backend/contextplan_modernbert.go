package backend

import "github.com/rerank-api/rerank-api/convert/keys"

// encoderShape is what the memory of rerank-api's own ModernBERT encoder
// (backend/llama/modernbert.c) depends on, which llama.cpp's formula in
// bufferBytes does not describe: its graph is built per batch on a ggml
// scheduler whose buffers grow to the largest batch, and each batch also
// fills two n×n f16 masks (global and sliding window) on the host.
type encoderShape struct {
	width, feedForward, heads int
}

// planEncoder reads the shape of a ModernBERT's contexts; nil for every
// other architecture, which llama.cpp runs.
func planEncoder(meta modelMeta) (*encoderShape, error) {
	if meta.Meta("general.architecture") != keys.ModernBERTArch {
		return nil, nil
	}
	a := keys.ModernBERTArch
	var s encoderShape
	for key, dst := range map[string]*int{
		a + ".embedding_length": &s.width, a + ".feed_forward_length": &s.feedForward, a + ".attention.head_count": &s.heads,
	} {
		n, err := positiveMeta(meta, key)
		if err != nil {
			return nil, err
		}
		*dst = n
	}
	return &s, nil
}

// maxEncoderSequences bounds the sequences of one batch, as llama.cpp's
// contexts are bounded (llama.MaxSequences): the pooling matrix has a row
// per sequence.
const maxEncoderSequences = 256

// contextBytes is one ModernBERT context's memory at a full batch of
// capacity tokens: what TestModernBERTBooksItsBuffers measures (the
// scheduler's buffers plus the host arrays) with a margin for what it
// cannot see.
//
//   - The masks, twice (the device's inputs and the host arrays they are
//     copied from): 2 × 2 × capacity² bytes of f16.
//   - The pooling matrix, twice: capacity × sequences f32.
//   - One layer's activations, which the scheduler reuses layer to layer:
//     measured at 2 widths and 2 feed-forward halves per token, booked at
//     4 and 3; and the f16 copy the CPU makes of the down projection's
//     input when the weights are f16.
//   - Without flash attention, each head's f32 scores (softmax works in
//     place).
//   - 16 MiB for the graph, the output and ggml's per-thread work space.
func (s encoderShape) contextBytes(capacity int, flash bool) uint64 {
	// Saturating arithmetic: a hostile GGUF's sizes must give a booking
	// too large to fit, not one that wrapped around to a small number.
	n, width, ff := uint64(capacity), uint64(s.width), uint64(s.feedForward)
	squares := mulSat(n, n)
	b := addSat(16<<20, mulSat(8, squares))
	b = addSat(b, mulSat(mulSat(8, n), min(n, maxEncoderSequences)))
	b = addSat(b, mulSat(mulSat(4, n), addSat(mulSat(4, width), mulSat(3, ff))))
	b = addSat(b, mulSat(mulSat(2, n), ff))
	if !flash {
		b = addSat(b, mulSat(mulSat(4, uint64(s.heads)), squares))
	}
	return b
}
