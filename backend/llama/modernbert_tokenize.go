package llama

import (
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/tokenizer/unigram"
)

// byteFallback tokenizes a ModernBERT whose UGM vocabulary falls back to
// byte pieces (modernbert-ja's, in ruri-v3), which llama.cpp's UGM
// tokenizer turns into <unk>: tokenizer/unigram does the Viterbi search,
// and this adds the BOS and EOS the GGUF asks for.
type byteFallback struct {
	tok            *unigram.Tokenizer
	bos, eos       int32
	addBOS, addEOS bool
}

// llama.cpp's token types (convert/vocab).
var tokenKinds = map[int32]unigram.Kind{1: unigram.Normal, 4: unigram.UserDefined, 6: unigram.Byte}

// newByteFallback reads the tokenizer from the GGUF metadata. It returns
// nil where llama.cpp's tokenizer is already exact or this one would not
// be: not a UGM vocabulary, no byte pieces, or a normalization (a
// precompiled charsmap, collapsed whitespace) only llama.cpp applies.
func newByteFallback(meta *gguf.Metadata) *byteFallback {
	if model, _ := meta.Value("tokenizer.ggml.model"); model != "t5" {
		return nil
	}
	if cm, ok := meta.Value("tokenizer.ggml.precompiled_charsmap"); ok && charsmapLen(cm) > 0 {
		return nil
	}
	if rm, _ := meta.Value("tokenizer.ggml.remove_extra_whitespaces"); rm == true {
		return nil
	}
	tokens, _ := meta.Value("tokenizer.ggml.tokens")
	scores, _ := meta.Value("tokenizer.ggml.scores")
	types, _ := meta.Value("tokenizer.ggml.token_type")
	list, _ := tokens.([]string)
	sc, _ := scores.([]float32)
	ty, _ := types.([]int32)
	if len(ty) != len(list) {
		return nil
	}
	kinds := make([]unigram.Kind, len(ty))
	for i, t := range ty {
		kinds[i] = tokenKinds[t]
	}
	// llama.cpp's default for UGM is a "▁" before the text.
	prefix, ok := meta.Value("tokenizer.ggml.add_space_prefix")
	tok, err := unigram.New(list, sc, kinds, !ok || prefix == true)
	if err != nil {
		return nil // no byte pieces: llama.cpp's tokenizer is exact
	}
	b := &byteFallback{tok: tok, bos: metaID(meta, "tokenizer.ggml.bos_token_id"), eos: metaID(meta, "tokenizer.ggml.eos_token_id")}
	addBOS, _ := meta.Value("tokenizer.ggml.add_bos_token")
	addEOS, _ := meta.Value("tokenizer.ggml.add_eos_token")
	b.addBOS, b.addEOS = addBOS == true && b.bos >= 0, addEOS == true && b.eos >= 0
	return b
}

func charsmapLen(v any) int {
	switch s := v.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case string:
		return len(s)
	}
	return 0
}

func metaID(meta *gguf.Metadata, key string) int32 {
	v, _ := meta.Value(key)
	if n, ok := uintValue(v); ok && n < 1<<31 {
		return int32(n)
	}
	return -1
}

// encode tokenizes text; addSpecial wraps it in the BOS and EOS the
// vocabulary adds.
func (b *byteFallback) encode(text string, addSpecial bool) []int32 {
	ids := make([]int32, 0, len(text)/2+2)
	if addSpecial && b.addBOS {
		ids = append(ids, b.bos)
	}
	ids = b.tok.Encode(text, ids)
	if addSpecial && b.addEOS {
		ids = append(ids, b.eos)
	}
	return ids
}
