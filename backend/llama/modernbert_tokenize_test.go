package llama

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/vocab"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

const ruriDir = "../../testdata/tokenizers/ruri-v3-30m"

// loadRuriExcerpt converts a random ModernBERT whose tokenizer.json is
// ruri-v3-30m's own cut to its first 511 ids (testdata/tokenizers/
// ruri-v3-30m: the real header, specials, byte pieces and highest-scoring
// pieces with their real ids and scores).
func loadRuriExcerpt(t *testing.T) *ModernBERT {
	t.Helper()
	quietLlamaLog(t)
	Init("")
	excerpt, err := os.ReadFile(filepath.Join(ruriDir, "tokenizer-excerpt.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testmodel.TinyModernBERT(21, "mean")
	// Only the size matters: the weights get one row per id, and the
	// specials sit where ruri-v3's do (<unk> 0, <s> 1, </s> 2, <pad> 3).
	cfg.Vocab = []string{"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"}
	for len(cfg.Vocab) < 511 {
		cfg.Vocab = append(cfg.Vocab, fmt.Sprintf("[unused%d]", len(cfg.Vocab)))
	}
	dir := t.TempDir()
	hf, out := filepath.Join(dir, "hf"), filepath.Join(dir, "model.gguf")
	if err := testmodel.WriteModernBERTHF(hf, testmodel.GenerateModernBERT(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	// ruri-v3 names its specials in tokenizer.json alone as far as the
	// converter is concerned: drop the XLM-R side files testmodel writes.
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		if err := os.Remove(filepath.Join(hf, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(hf, "tokenizer.json"), excerpt, 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	warn := func(msg string) { warnings = append(warnings, msg) }
	if err := convert.Convert(context.Background(), convert.Options{Input: hf, Output: out, OutType: "f32", Warn: warn}); err != nil {
		t.Fatal(err)
	}
	// The encoder applies byte fallback itself, so the converter must not
	// tell the user these pieces become <unk>.
	if slices.Contains(warnings, vocab.UGMByteFallbackWarning) {
		t.Errorf("conversion warned %q", vocab.UGMByteFallbackWarning)
	}
	m, err := LoadModernBERT(out, ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

type idCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
	Bare []int32 `json:"bare"`
}

func readCases(t *testing.T, name string) []idCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(ruriDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []idCase }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s has no cases", name)
	}
	return f.Cases
}

// TestRuriTokenizerMatchesSentencePiece compares the converted ruri-v3
// tokenizer with libsentencepiece on the same pieces and settings
// (sp-golden-generated.json): Japanese with its prompts, full-width and
// ASCII, runs of spaces, tabs and newlines, emoji and characters outside
// the vocabulary, which must become byte pieces, not <unk>.
func TestRuriTokenizerMatchesSentencePiece(t *testing.T) {
	m := loadRuriExcerpt(t)
	if m.bytes == nil {
		t.Fatal("a byte-fallback vocabulary is tokenized by llama.cpp, which writes <unk> for byte pieces")
	}
	for _, c := range readCases(t, "sp-golden-generated.json") {
		got, err := m.Tokenize(c.Text, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.IDs) && (len(got) > 0 || len(c.IDs) > 0) {
			t.Errorf("%q:\n got  %v\n want %v", c.Text, got, c.IDs)
		}
		wrapped, err := m.Tokenize(c.Text, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := append(append([]int32{1}, c.IDs...), 2); !slices.Equal(wrapped, want) {
			t.Errorf("%q with specials: got %v, want %v", c.Text, wrapped, want)
		}
	}
}

// TestRuriTokenizerMatchesTransformers checks the ids Hugging Face's
// tokenizers gave for the full ruri-v3-30m tokenizer (ruri-hf-golden.json,
// published by another project) wherever every id lies in the excerpt:
// those tokenizations are also the best ones among the excerpt's pieces.
func TestRuriTokenizerMatchesTransformers(t *testing.T) {
	m := loadRuriExcerpt(t)
	checked := 0
	for _, c := range readCases(t, "ruri-hf-golden.json") {
		if slices.ContainsFunc(c.IDs, func(id int32) bool { return id >= 511 }) {
			continue
		}
		checked++
		got, err := m.Tokenize(c.Text, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.IDs) {
			t.Errorf("%q: got %v, want %v", c.Text, got, c.IDs)
		}
		if bare, _ := m.Tokenize(c.Text, false, false); !slices.Equal(bare, c.Bare) && len(c.Bare)+len(bare) > 0 {
			t.Errorf("%q without specials: got %v, want %v", c.Text, bare, c.Bare)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d of the published cases fall inside the excerpt", checked)
	}
}
