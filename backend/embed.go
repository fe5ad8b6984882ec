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
	if req.Dimensions < 0 {
		return nil, fmt.Errorf("%w: dimensions must be positive", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindEmbedding)
	if err != nil {
		return nil, err
	}
	defer release()

	if req.Dimensions > m.width {
		return nil, fmt.Errorf("%w: dimensions %d is larger than the model's %d", ErrInvalidInput, req.Dimensions, m.width)
	}
	prefix, err := m.prefix(req.InputType)
	if err != nil {
		return nil, err
	}
	seqs, tokens, err := m.tokenizeAll(req.Inputs, prefix, req.Truncate)
	if err != nil {
		return nil, err
	}
	vecs, stats, err := m.batcher.Submit(ctx, seqs)
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

// tokenizeAll turns inputs into token sequences no longer than the model
// accepts, and counts their tokens. prefix goes before every text input;
// token ids cannot take one.
func (m *loadedModel) tokenizeAll(inputs []Input, prefix string, truncate bool) ([][]int32, int, error) {
	seqs := make([][]int32, len(inputs))
	total := 0
	for i, in := range inputs {
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
			for _, id := range ids {
				if id < 0 || int(id) >= m.model.Info().VocabSize {
					return nil, 0, fmt.Errorf("%w: input %d: token id %d is outside the model's vocabulary [0, %d)", ErrInvalidInput, i, id, m.model.Info().VocabSize)
				}
			}
		}
		if len(ids) == 0 {
			return nil, 0, fmt.Errorf("%w: input %d is empty", ErrInvalidInput, i)
		}
		if len(ids) > m.maxTokens {
			if !truncate {
				return nil, 0, fmt.Errorf("%w: input %d has %d tokens but %q accepts at most %d; shorten it or send \"truncate\": true",
					ErrInputTooLong, i, len(ids), m.entry.Name, m.maxTokens)
			}
			ids = m.truncate(ids)
		}
		seqs[i] = ids
		total += len(ids)
	}
	return seqs, total, nil
}

// truncate cuts ids to maxTokens, keeping a closing special token ([SEP],
// </s>) at the end as the tokenizer placed it, which is how Hugging Face
// tokenizers truncate.
func (m *loadedModel) truncate(ids []int32) []int32 {
	last := ids[len(ids)-1]
	cut := append([]int32(nil), ids[:m.maxTokens]...)
	if m.model.IsControl(last) {
		cut[len(cut)-1] = last
	}
	return cut
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
