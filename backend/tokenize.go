package backend

import (
	"context"
	"fmt"
)

// Tokenize returns the tokens the model reads for each input, with their
// text and offsets: what POST /tokenize answers. It serves every model
// kind, with the tokenizer its embeddings and rerank requests use.
func (e *Engine) Tokenize(ctx context.Context, req TokenizeRequest) (*TokenizeResult, error) {
	m, release, err := e.openAnyKind(ctx, req.Model, len(req.Inputs))
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
	case "", InputClassification, InputClustering:
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
	m, release, err := e.openAnyKind(ctx, req.Model, len(req.Inputs))
	if err != nil {
		return nil, err
	}
	defer release()
	res := &DecodeResult{Model: m.entry.Name, Texts: make([]string, len(req.Inputs))}
	for i, ids := range req.Inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := m.checkTokenIDs(i, ids); err != nil {
			return nil, err
		}
		if res.Texts[i], err = m.tokenizer.Decode(ids, req.SkipSpecial); err != nil {
			return nil, fmt.Errorf("%w: input %d: %w", ErrInvalidInput, i, err)
		}
	}
	return res, nil
}

// openAnyKind opens model for the routes every model kind serves (tokenize,
// decode), once it is clear the request has inputs.
func (e *Engine) openAnyKind(ctx context.Context, model string, inputs int) (*loadedModel, func(), error) {
	if inputs == 0 {
		return nil, nil, fmt.Errorf("%w: no input", ErrInvalidInput)
	}
	return e.open(ctx, model, "")
}

// checkTokenIDs refuses ids outside the vocabulary of input i: one would
// fail the whole batch it is merged into, and has no text to decode.
func (m *loadedModel) checkTokenIDs(i int, ids []int32) error {
	vocab := m.model.Info().VocabSize
	for _, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("%w: input %d: token id %d is outside the model's vocabulary [0, %d)", ErrInvalidInput, i, id, vocab)
		}
	}
	return nil
}
