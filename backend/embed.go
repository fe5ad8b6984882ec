package backend

import (
	"context"
	"fmt"
	"math"

	"github.com/rerank-api/rerank-api/catalog"
)

// Embed returns one embedding per input of req.
func (e *Engine) Embed(ctx context.Context, req EmbedRequest) (*EmbedResult, error) {
	if len(req.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	if req.Dimensions < 0 || req.MaxTokens < 0 {
		return nil, fmt.Errorf("%w: dimensions and max tokens must be positive", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindEmbedding)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := spladeOnly(m, Outputs{Dense: true}); err != nil {
		return nil, err
	}

	if err := m.checkDimensions(req.Dimensions); err != nil {
		return nil, err
	}
	req.adapted = true // embedBatcher below applies the task's adapter
	seqs, tokens, err := m.tokenizeAll(req)
	if err != nil {
		return nil, err
	}
	batcher, err := e.embedBatcher(m, req) // tasks.go
	if err != nil {
		return nil, err
	}
	vecs, stats, err := batcher.Submit(ctx, seqs)
	if err != nil {
		return nil, err
	}
	normalize := m.entry.ShouldNormalize() // the catalog's word, else the GGUF's
	if req.Normalize != nil {
		normalize = *req.Normalize
	}
	for i, v := range vecs {
		if req.Dimensions > 0 {
			v = v[:req.Dimensions]
		}
		if err := checkFinite(v); err != nil {
			return nil, err
		}
		if normalize {
			l2Normalize(v)
		}
		vecs[i] = v
	}
	return &EmbedResult{Model: m.entry.Name, Vectors: vecs, PromptTokens: tokens, Stats: stats}, nil
}

// tokenizeAll turns req's inputs into token sequences no longer than the
// model accepts (and req.MaxTokens asks), and counts their tokens. The
// input type's prefix goes before every text input; token ids cannot take
// one.
func (m *loadedModel) tokenizeAll(req EmbedRequest) ([][]int32, int, error) {
	prefix, err := m.requestPrefix(req) // tasks.go
	if err != nil {
		return nil, 0, err
	}
	limit := m.maxTokens
	if req.MaxTokens > 0 {
		limit = min(limit, req.MaxTokens)
	}
	var prefixIDs []int32 // what a cut from the start keeps after [CLS]
	if req.TruncateStart && prefix != "" {
		if prefixIDs, err = m.tokenizer.Encode(prefix, false); err != nil {
			return nil, 0, fmt.Errorf("%w: the input type's prefix %q: %w", ErrInvalidInput, prefix, err)
		}
	}
	seqs := make([][]int32, len(req.Inputs))
	total := 0
	for i, in := range req.Inputs {
		ids := in.Tokens
		if ids == nil {
			// An empty text would still encode, as [CLS] [SEP] alone: a
			// vector of nothing, which is never what the caller meant.
			if in.Text == "" {
				return nil, 0, fmt.Errorf("%w: input %d is an empty string; send some text", ErrInvalidInput, i)
			}
			var err error
			ids, err = m.tokenizer.Encode(prefix+in.Text, true)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: input %d: %w", ErrInvalidInput, i, err)
			}
		} else {
			if prefix != "" {
				return nil, 0, fmt.Errorf("%w: input %d is token ids, to which the input type's prefix %q cannot be added; "+
					"send text, or leave out input_type and put the prefix's tokens in the ids", ErrInvalidInput, i, prefix)
			}
			if err := m.checkTokenIDs(i, ids); err != nil {
				return nil, 0, err
			}
		}
		if len(ids) == 0 {
			return nil, 0, fmt.Errorf("%w: input %d is empty", ErrInvalidInput, i)
		}
		if len(ids) > m.maxTokens && !req.Truncate {
			return nil, 0, fmt.Errorf("%w: input %d has %d tokens but %q accepts at most %d; shorten it or send \"truncate\": true",
				ErrInputTooLong, i, len(ids), m.entry.Name, m.maxTokens)
		}
		if len(ids) > limit {
			if req.TruncateStart {
				ids = m.truncateStart(ids, limit, prefixIDs)
			} else {
				ids = m.truncate(ids, limit)
			}
		}
		seqs[i] = ids
		total += len(ids)
	}
	return seqs, total, nil
}

// truncate cuts ids to limit tokens, keeping a closing special token
// ([SEP], </s>) at the end as the tokenizer placed it, which is how Hugging
// Face tokenizers truncate.
func (m *loadedModel) truncate(ids []int32, limit int) []int32 {
	last := ids[len(ids)-1]
	cut := append([]int32(nil), ids[:limit]...)
	if m.model.IsControl(last) {
		cut[len(cut)-1] = last
	}
	return cut
}

// truncateStart cuts ids to limit tokens from the start, keeping an opening
// special token ([CLS], <s>) and after it as much of prefixIDs as the text
// began with: the input type's prefix tells the model what the rest is.
func (m *loadedModel) truncateStart(ids []int32, limit int, prefixIDs []int32) []int32 {
	head := 0
	if m.model.IsControl(ids[0]) {
		head = 1
	}
	for _, id := range prefixIDs {
		if head >= len(ids) || ids[head] != id {
			break
		}
		head++
	}
	head = min(head, limit-1) // the tail keeps at least the closing token
	cut := append([]int32(nil), ids[:head]...)
	return append(cut, ids[len(ids)-(limit-head):]...)
}

func l2Normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}
