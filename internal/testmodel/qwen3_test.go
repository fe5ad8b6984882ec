package testmodel

import (
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/vocab"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// Qwen2's pre-tokenizer, by hand: a space joins the letters after it, a
// run of spaces gives its last one to the next word, punctuation takes the
// newlines after it, digits stand alone.
func TestQwen2Split(t *testing.T) {
	for text, want := range map[string][]string{
		"Hello, World!":       {"Hello", ",", " World", "!"},
		"a  b":                {"a", " ", " b"},
		"x?\n\ny":             {"x", "?\n\n", "y"},
		"42 cats":             {"4", "2", " cats"},
		"end \n":              {"end", " \n"},
		"it's <Query>: q\n":   {"it", "'s", " <", "Query", ">:", " q", "\n"},
		"trailing   ":         {"trailing", "   "},
		"\tword":              {"\tword"},
		"<Document>: doc end": {"<Document", ">:", " doc", " end"},
	} {
		if got := qwen2Split(text); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

func TestQwen3IDs(t *testing.T) {
	tokens := Qwen3Vocab()
	text := func(ids []int32) []string {
		var out []string
		for _, id := range ids {
			out = append(out, tokens[id])
		}
		return out
	}
	// Merges by rank, as transformers': a word whose inner pair ranks
	// before its first falls into pieces even though the word itself
	// is a token. Either way the pieces spell the text.
	for _, in := range []string{"yes no the", "Hello, World!\n 42", "yesx"} {
		ids := Qwen3IDs(in, false)
		if got := strings.Join(text(ids), ""); got != vocab.ByteLevelText(in) || len(ids) >= len(in) {
			t.Errorf("%q: %d pieces %q", in, len(ids), text(ids))
		}
	}
	if got := text(Qwen3IDs("yes", false)); !slices.Equal(got, []string{"yes"}) {
		t.Errorf("yes: %q", got)
	}
	// Special tokens are tokens only when parsed; <think> always.
	if got := text(Qwen3IDs("<|im_end|><think>", true)); !slices.Equal(got, []string{"<|im_end|>", "<think>"}) {
		t.Errorf("parsed specials: %q", got)
	}
	if got := Qwen3IDs("<|im_end|><think>", false); slices.Contains(got, Qwen3TokenID("<|im_end|>")) || !slices.Contains(got, Qwen3TokenID("<think>")) {
		t.Errorf("unparsed specials: %q", text(got))
	}
	if ids := Qwen3EmbeddingIDs("hello"); ids[len(ids)-1] != Qwen3TokenID("<|endoftext|>") {
		t.Errorf("embedding ids %v do not end with <|endoftext|>", ids)
	}
}

// The vocabulary the converter reads back is the one the oracle uses.
func TestQwen3TokenizerReadsBack(t *testing.T) {
	dir := t.TempDir()
	cfg := TinyQwen3(1)
	if err := WriteQwen3HF(dir, GenerateQwen3(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	v, err := vocab.FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Model != vocab.ModelBPE || v.Pre != "qwen2" || !slices.Equal(v.Tokens, Qwen3Vocab()) || len(v.Warnings) > 0 {
		t.Errorf("vocab %s/%s, %d tokens, warnings %q", v.Model, v.Pre, len(v.Tokens), v.Warnings)
	}
	if id := Qwen3TokenID("<|im_start|>"); v.Types[id] != vocab.TypeControl {
		t.Errorf("<|im_start|> has type %d", v.Types[id])
	}
	if id := Qwen3TokenID("<think>"); v.Types[id] != vocab.TypeUserDefined {
		t.Errorf("<think> has type %d", v.Types[id])
	}
}

// A tied reranker's head is its embedding matrix; an untied one has its own.
func TestGenerateQwen3Head(t *testing.T) {
	cfg := TinyQwen3(1)
	cfg.Reranker = true
	untied := GenerateQwen3(cfg)
	cfg.Tied = true
	tied := GenerateQwen3(cfg)
	same := func(a, b reference.Matrix) bool { return slices.Equal(a.Data, b.Data) }
	if same(untied.LMHead, untied.Embeddings) || !same(tied.LMHead, tied.Embeddings) {
		t.Error("lm_head: want its own rows untied, the embeddings tied")
	}
}
