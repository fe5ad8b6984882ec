package backend

import (
	"context"
	"fmt"
)

// Tokenize returns the tokens the model reads for each input, with their
// text and offsets: what POST /tokenize answers. It serves every model
// kind, with the tokenizer its embeddings and rerank requests use.
func (e *Engine) Tokenize(ctx context.Context, req TokenizeRequest) (*TokenizeResult, error) {
	if len(req.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, "")
	if err != nil {
		return nil, err
	}
	defer release()
	prefix, err := m.prefix(req.InputType)
	if err != nil {
		return nil, err
	}
	res := &TokenizeResult{Model: m.entry.Name, Tokens: make([][]Token, len(req.Inputs))}
	for i, text := range req.Inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res.Tokens[i], err = m.tokenizer.Tokens(prefix+text, req.AddSpecial); err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrInvalidInput, i, err)
		}
	}
	return res, nil
}

// prefix is the text the model's entry puts before inputs of type t: the
// catalog's prefix, else the one the GGUF records (withModelDefaults).
// Models without one take the input as it is.
func (m *loadedModel) prefix(t InputType) (string, error) {
	switch t {
	case "":
		return "", nil
	case InputQuery:
		return m.entry.QueryPrefix, nil
	case InputDocument:
		return m.entry.DocumentPrefix, nil
	}
	return "", fmt.Errorf("%w: input type %q: want %q or %q", ErrInvalidInput, t, InputQuery, InputDocument)
}

// Decode returns the text of each id sequence, as the model's tokenizer
// reads it back: what POST /decode answers. It serves every model kind.
func (e *Engine) Decode(ctx context.Context, req DecodeRequest) (*DecodeResult, error) {
	if len(req.Inputs) == 0 {
		return nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, "")
	if err != nil {
		return nil, err
	}
	defer release()
	vocab := m.model.Info().VocabSize
	res := &DecodeResult{Model: m.entry.Name, Texts: make([]string, len(req.Inputs))}
	for i, ids := range req.Inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id < 0 || int(id) >= vocab {
				return nil, fmt.Errorf("%w: input %d: token id %d is outside the model's vocabulary [0, %d)", ErrInvalidInput, i, id, vocab)
			}
		}
		if res.Texts[i], err = m.tokenizer.Decode(ids, req.SkipSpecial); err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrInvalidInput, i, err)
		}
	}
	return res, nil
}
