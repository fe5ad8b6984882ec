package testmodel

import (
	"os"
	"path/filepath"
	"strings"
)

// WriteHFTokenizerConfig adds to a checkpoint that WriteHF wrote without a
// tokenizer (HFOptions.Tokenizer "") the files of a tokenizer that has no
// tokenizer.json, as cl-tohoku's Japanese checkpoints ship it: cfg's
// vocabulary as vocab.txt and tokenizerConfig as tokenizer_config.json
// (e.g. a BertJapaneseTokenizer's word_tokenizer_type and mecab_kwargs).
// Non-empty prompts go to config_sentence_transformers.json, where
// sentence-transformers keeps a model's query and document prompts.
func WriteHFTokenizerConfig(dir string, cfg Config, tokenizerConfig map[string]any, prompts map[string]string) error {
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(cfg.vocab(), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), tokenizerConfig); err != nil {
		return err
	}
	if len(prompts) == 0 {
		return nil
	}
	return writeJSON(filepath.Join(dir, "config_sentence_transformers.json"), map[string]any{
		"prompts": prompts, "default_prompt_name": nil,
	})
}
