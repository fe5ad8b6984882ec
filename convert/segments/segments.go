package segments

import "fmt"

// OffsetKey is the GGUF metadata key (uint32) holding V, the size of the
// original vocabulary: segment-B token i is fed to llama.cpp as i+V. Its
// absence means the file has no segment-B rows.
const OffsetKey = "rerankapi.token_type_offset"

// TextPrefix marks the copies' vocabulary text, so they stay distinct from
// the originals and WordPiece can never produce them (see the package doc).
const TextPrefix = "[B]"

// TypeUnused is llama.cpp's LLAMA_TOKEN_TYPE_UNUSED: a token the tokenizer
// never emits but whose id is valid.
const TypeUnused int32 = 5

// ExtendEmbeddings returns a token embedding table of 2·vocab rows: the
// vocab rows of tokenEmbd unchanged, then row vocab+i = tokenEmbd[i] +
// typeEmbd[1] − typeEmbd[0]. Both tables are row-major with hidden floats
// per row (Hugging Face layout; GGUF ne = {hidden, rows}); typeEmbd must have
// at least two rows. The sum is taken in float64 and rounded once, so the
// copies carry no more rounding than the originals.
func ExtendEmbeddings(tokenEmbd, typeEmbd []float32, hidden, vocab int) ([]float32, error) {
	if hidden < 1 || vocab < 1 {
		return nil, fmt.Errorf("segments: hidden %d and vocab %d must be positive", hidden, vocab)
	}
	if len(tokenEmbd) != hidden*vocab {
		return nil, fmt.Errorf("segments: token embeddings hold %d floats, want %d×%d", len(tokenEmbd), vocab, hidden)
	}
	if len(typeEmbd) < 2*hidden || len(typeEmbd)%hidden != 0 {
		return nil, fmt.Errorf("segments: token-type embeddings hold %d floats; want at least 2 rows of %d", len(typeEmbd), hidden)
	}
	out := make([]float32, 2*hidden*vocab)
	copy(out, tokenEmbd)
	shift := make([]float64, hidden)
	for j := range shift {
		shift[j] = float64(typeEmbd[hidden+j]) - float64(typeEmbd[j])
	}
	extra := out[hidden*vocab:]
	for i := range vocab {
		for j, x := range tokenEmbd[i*hidden : (i+1)*hidden] {
			extra[i*hidden+j] = float32(float64(x) + shift[j])
		}
	}
	return out, nil
}

// ExtendVocab returns the vocabulary (tokenizer.ggml.tokens) and token types
// (tokenizer.ggml.token_type) doubled: the originals, then for each token i
// the entry TextPrefix+tokens[i] of type TypeUnused. types may be nil when
// the vocabulary has none; the originals are then typed normal (1).
//
// A vocabulary with scores (SentencePiece) must extend them too, giving the
// copies a score far below any real piece (e.g. -1e9): llama.cpp's unigram
// tokenizer considers UNUSED pieces, and a copy scoring above the unknown
// token could be chosen for a text containing "[B]".
func ExtendVocab(tokens []string, types []int32) ([]string, []int32, error) {
	if types != nil && len(types) != len(tokens) {
		return nil, nil, fmt.Errorf("segments: %d token types for %d tokens", len(types), len(tokens))
	}
	n := len(tokens)
	outTokens := make([]string, 2*n)
	outTypes := make([]int32, 2*n)
	copy(outTokens, tokens)
	for i, tok := range tokens {
		outTokens[n+i] = TextPrefix + tok
		outTypes[i] = 1 // LLAMA_TOKEN_TYPE_NORMAL, unless types says otherwise
		if types != nil {
			outTypes[i] = types[i]
		}
		outTypes[n+i] = TypeUnused
	}
	return outTokens, outTypes, nil
}
