package backend

import (
	"context"
	"fmt"
)

// SimilarityResult holds the cosine similarity of each sentence to the
// source, in request order.
type SimilarityResult struct {
	Model        string // the catalog name the request resolved to
	Scores       []float32
	PromptTokens int        // tokens encoded, the source's included
	Stats        BatchStats // for the request log
}

// Similarity embeds req.Inputs in one request, the source sentence first,
// and returns the cosine similarity of each of the others to it (TEI's
// POST /similarity). The vectors are L2-normalized whatever the catalog
// or req.Normalize say, so that a dot product is the cosine.
func (e *Engine) Similarity(ctx context.Context, req EmbedRequest) (*SimilarityResult, error) {
	if len(req.Inputs) < 2 {
		return nil, fmt.Errorf("%w: similarity needs a source sentence and at least one sentence to compare", ErrInvalidInput)
	}
	normalize := true
	req.Normalize = &normalize
	res, err := e.Embed(ctx, req)
	if err != nil {
		return nil, err
	}
	source := res.Vectors[0]
	scores := make([]float32, len(res.Vectors)-1)
	for i, v := range res.Vectors[1:] {
		scores[i] = float32(dotF64(source, v))
	}
	return &SimilarityResult{Model: res.Model, Scores: scores, PromptTokens: res.PromptTokens, Stats: res.Stats}, nil
}
