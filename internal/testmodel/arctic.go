package testmodel

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// ArcticEmbedPrompts are snowflake-arctic-embed-l-v2.0's sentence-transformers
// prompts: queries only, documents go in as they are.
var ArcticEmbedPrompts = map[string]string{"query": "query: "}

// TinyArcticEmbed is a small XLM-RoBERTa embedder shaped as
// snowflake-arctic-embed-l-v2.0 is (one token type, XLM-R's Unigram
// tokenizer, CLS pooling). Its vocabulary adds the query prompt's word.
func TinyArcticEmbed(seed int64) Config {
	cfg := Tiny(seed, "cls")
	cfg.TypeVocab, cfg.Tokenizer, cfg.LayerNormEps = 1, "ugm", 1e-5
	cfg.Vocab = append(DefaultVocab(), "query:")
	return cfg
}

// WriteArcticEmbedHF writes w as Snowflake/snowflake-arctic-embed-l-v2.0's
// repository holds it: transformers' XLMRobertaModel checkpoint (WriteHF),
// XLM-R's Unigram tokenizer files, and the sentence-transformers modules
// (CLS pooling, Normalize) with ArcticEmbedPrompts.
func WriteArcticEmbedHF(dir string, w *reference.Weights, cfg Config) error {
	if cfg.Pooling != "cls" || cfg.Tokenizer != "ugm" {
		return fmt.Errorf("testmodel: arctic-embed has CLS pooling and XLM-R's Unigram tokenizer, not %q and %q", cfg.Pooling, cfg.Tokenizer)
	}
	if err := WriteHF(dir, w, cfg, HFOptions{Arch: "XLMRobertaModel", DType: checkpoint.F32}); err != nil {
		return err
	}
	if err := writeXLMRUnigram(dir, cfg); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	if err := writeSentenceTransformersFiles(dir, w.HiddenSize, w.MaxPositions, cfg, ArcticEmbedPrompts); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}
