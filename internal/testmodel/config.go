package testmodel

import (
	"errors"
	"fmt"
)

// Config describes a random BERT-architecture model.
type Config struct {
	// Seed makes the weights reproducible: the same Config always gives the
	// same weights and the same GGUF bytes.
	Seed int64
	// Vocab is the vocabulary in vocab.txt form ("##" continuations,
	// bracketed specials); empty means DefaultVocab. It must contain [CLS],
	// [SEP] and [UNK].
	Vocab []string

	Hidden       int
	Layers       int
	Heads        int
	Intermediate int
	MaxPositions int
	TypeVocab    int // 1 (XLM-R style) or 2 (BERT style)
	// Tokenizer is the GGUF's tokenizer: "" or "wpm" for BERT's WordPiece,
	// "ugm" for a SentencePiece unigram vocabulary as XLM-RoBERTa has
	// (<s> </s> specials, llama.cpp's "t5" model). Token ids are the same
	// either way, so ExpectedIDs serves both.
	Tokenizer string

	// Pooling is the GGUF's pooling type: "cls", "mean" or "rank".
	Pooling string
	// Classifier adds a sequence-classification head: a tanh dense layer
	// (GGUF "cls") and an output layer (GGUF "cls.output"). Rank pooling
	// needs it.
	Classifier bool
	// Labels is the number of classifier outputs; 0 means 1, the usual
	// reranker head.
	Labels int
	// NoSegmentRows writes a two-type cross-encoder as llama.cpp's own
	// converter does, without convert/segments' rows (see WriteGGUF): the
	// files rerank-api serves with approximate scores.
	NoSegmentRows bool

	LayerNormEps float64 // 0 means 1e-12, BERT's default
	InitStd      float64 // standard deviation of matrices, embeddings and biases; 0 means 0.02, HF's initializer_range
}

// Tiny is a small model that loads and runs in milliseconds: the shape the
// integration tests use unless they need something else.
//
// Its weights are 2.5× larger than HF's initializer (InitStd 0.05). At 0.02
// attention is nearly uniform and the network nearly linear: on this shape a
// wrong attention scale moves outputs by only 2e-4..6e-4 (4e-6 for rank
// logits) and a dropped attention bias moves rank logits by 8e-4, all under
// the 2e-3 flash-attention tolerance. At 0.05 the same bugs move outputs by
// 9e-4..1e-1 while llama.cpp's rounding stays below 6e-4 with flash
// attention and 1e-5 without; at 0.1 the rounding itself reaches 2e-3
// (measured over 8 seeds).
func Tiny(seed int64, pooling string) Config {
	return Config{
		Seed: seed, Hidden: 64, Layers: 2, Heads: 4, Intermediate: 128,
		MaxPositions: 64, TypeVocab: 2, Pooling: pooling, Classifier: pooling == "rank",
		InitStd: 0.05,
	}
}

// BERTBase has bert-base's encoder shape (110M parameters with a real
// vocabulary; fewer here since the default vocabulary is small), for
// benchmarks where compute, not accuracy, matters.
func BERTBase(seed int64) Config {
	return Config{
		Seed: seed, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072,
		MaxPositions: 512, TypeVocab: 2, Pooling: "cls",
	}
}

func (c Config) labels() int {
	if c.Labels > 0 {
		return c.Labels
	}
	return 1
}

func (c Config) layerNormEps() float64 {
	if c.LayerNormEps > 0 {
		return c.LayerNormEps
	}
	return 1e-12
}

func (c Config) initStd() float64 {
	if c.InitStd > 0 {
		return c.InitStd
	}
	return 0.02
}

// poolingType maps Pooling to llama.cpp's enum llama_pooling_type.
func (c Config) poolingType() (uint32, error) {
	switch c.Pooling {
	case "mean":
		return 1, nil
	case "cls":
		return 2, nil
	case "rank":
		if !c.Classifier {
			return 0, errors.New("rank pooling needs Classifier: true")
		}
		return 4, nil
	}
	return 0, fmt.Errorf("pooling %q: want cls, mean or rank", c.Pooling)
}

func (c Config) validate() error {
	switch {
	case c.Hidden < 1 || c.Layers < 1 || c.Intermediate < 1 || c.MaxPositions < 1:
		return fmt.Errorf("hidden %d, layers %d, intermediate %d and max positions %d must be positive",
			c.Hidden, c.Layers, c.Intermediate, c.MaxPositions)
	case c.Heads < 1 || c.Hidden%c.Heads != 0:
		return fmt.Errorf("%d heads do not divide hidden size %d", c.Heads, c.Hidden)
	case c.TypeVocab != 1 && c.TypeVocab != 2:
		return fmt.Errorf("type vocabulary %d: want 1 or 2", c.TypeVocab)
	case c.Tokenizer != "" && c.Tokenizer != "wpm" && c.Tokenizer != "ugm":
		return fmt.Errorf("tokenizer %q: want wpm or ugm", c.Tokenizer)
	}
	s := findSpecials(c.vocab())
	if s.cls < 0 || s.sep < 0 || s.unk < 0 {
		return errors.New("vocabulary needs [CLS], [SEP] and [UNK]")
	}
	_, err := c.poolingType()
	return err
}
