package reference

import "math"

// MLMHead is transformers' BertOnlyMLMHead: a dense layer, the encoder's
// GELU and a LayerNorm (BertPredictionHeadTransform), then the decoder to
// vocabulary logits.
type MLMHead struct {
	Dense Dense
	Norm  LayerNorm
	// Decoder is [vocab, hidden]; when Tied it is the word embeddings and
	// checkpoints leave it out.
	Decoder Matrix
	Tied    bool
	Bias    []float32 // [vocab]: cls.predictions.bias
}

// MLMLogits returns the head's logits for every token state.
func (w *Weights) MLMLogits(states [][]float64) [][]float64 {
	h := w.MLM
	out := make([][]float64, len(states))
	for t, s := range states {
		x := linear(&h.Dense, s)
		for i := range x {
			x[i] = w.gelu(x[i])
		}
		x = w.layerNorm(x, h.Norm)
		out[t] = linear(&Dense{Weight: h.Decoder, Bias: h.Bias}, x)
	}
	return out
}

// SPLADE is one sequence's sparse vector as naver's SPLADE and TEI's
// --pooling splade compute it: max over every token (CLS and SEP
// included: both only mask padding) of log(1 + relu(logit)); token ids
// with weight 0 are left out.
func (w *Weights) SPLADE(tokens []int32) map[int32]float64 {
	out := map[int32]float64{}
	for _, logits := range w.MLMLogits(w.Hidden(tokens, nil)) {
		for id, l := range logits {
			if v := math.Log1p(math.Max(l, 0)); v > out[int32(id)] {
				out[int32(id)] = v
			}
		}
	}
	return out
}
