package reference

import "fmt"

// Qwen3 is transformers' Qwen3ForCausalLM as Qwen3-Embedding and
// Qwen3-Reranker use it: the Decoder with per-head query and key norms
// (DecoderLayer.QueryNorm, KeyNorm), and the language-model head, of which
// the reranker reads two rows.
type Qwen3 struct {
	*Decoder
	// LMHead is lm_head: [vocab, hidden]; the embedding matrix itself
	// when the checkpoint ties them (tie_word_embeddings).
	LMHead Matrix
}

// Embedding is Qwen3-Embedding's vector before normalization: the last
// token's final hidden state (the card appends <|endoftext|> to every text
// and pools it).
func (q *Qwen3) Embedding(tokens []int32) []float64 {
	return LastToken(q.Hidden(tokens))
}

// RerankLogit is Qwen3-Reranker's relevance logit for one formatted pair:
// the "yes" minus the "no" logit of the language-model head at the last
// token. The model card's score, the softmax probability of "yes" over the
// two, is its sigmoid.
func (q *Qwen3) RerankLogit(tokens []int32, yes, no int32) float64 {
	for _, id := range []int32{yes, no} {
		if id < 0 || int(id) >= q.LMHead.Rows {
			panic(fmt.Sprintf("reference: head row %d outside the %d-row lm_head", id, q.LMHead.Rows))
		}
	}
	h := LastToken(q.Hidden(tokens))
	return dot(widen(q.LMHead.Row(int(yes))), h) - dot(widen(q.LMHead.Row(int(no))), h)
}
