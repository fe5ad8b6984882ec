package tests

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A Mistral embedder (e5-mistral-7b-instruct's layout in miniature)
// converts to llama.cpp's llama architecture and serves the exact forward
// pass: last-token pooling over "<s> text </s>", normalized.
//
// The difference (2.5e-4..4e-4 over 8 seeds) is llama.cpp's f16 KV cache:
// with flash attention off and the reference rounding Q, K, V and the
// attention probabilities to f16 it fell to 8e-8 for this seed, but f16
// rounding ties move other seeds by up to 1e-4, too close for a tighter
// test.
func TestConvertedMistralServesReferenceEmbeddings(t *testing.T) {
	cases := []struct {
		name, outType string
		maxAbsDiff    float64 // 0: not checked
		minCosine     float64 // 0: not checked
	}{
		{name: "tiny-mistral", outType: "f32", maxAbsDiff: tolerance},
		{name: "tiny-mistral-f16", outType: "f16", minCosine: 0.9999},
	}
	names := map[string]string{}
	for _, c := range cases {
		names[c.name] = c.outType
	}
	d, sp := serveTinyMistral(t, names)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			worst := 0.0
			for input, got := range mistralEmbeddings(t, sp, c.name) {
				want := reference.Normalize(reference.LastToken(d.Hidden(testmodel.ExpectedMistralIDs(input.text))))
				diff := maxAbsDiff(t, got, want)
				worst = max(worst, diff)
				if c.maxAbsDiff > 0 && diff > c.maxAbsDiff {
					t.Errorf("%v: max abs diff %.2e > %.0e", input, diff, c.maxAbsDiff)
				}
				if cos := cosine(got, want); c.minCosine > 0 && cos < c.minCosine {
					t.Errorf("%v: cosine %.6f < %v", input, cos, c.minCosine)
				}
			}
			t.Logf("max abs diff from the reference: %.2e", worst)
		})
	}
}

// serveTinyMistral writes a seeded Mistral checkpoint, converts it once per
// entry of models (name → outtype) and serves the results.
func serveTinyMistral(t *testing.T, models map[string]string, serveArgs ...string) (*reference.Decoder, *serverProcess) {
	t.Helper()
	cfg := testmodel.TinyMistral(41)
	d := testmodel.GenerateMistral(cfg)
	dir := t.TempDir()
	src := filepath.Join(dir, "tiny-mistral-hf")
	if err := testmodel.WriteMistralHF(src, d, cfg); err != nil {
		t.Fatal(err)
	}
	catalog, first := "models:\n", ""
	for name, outType := range models {
		out := filepath.Join(dir, name+".gguf")
		runConvert(t, "--input", src, "--output", out, "--outtype", outType)
		checkMistralMetadata(t, out)
		catalog += fmt.Sprintf("  - {name: %s, kind: embedding, file: %s.gguf}\n", name, name)
		first = name
	}
	return d, serveCatalog(t, true, dir, catalog, append([]string{"--embedding-model", first, "--reranker-model", ""}, serveArgs...)...)
}

// mistralInput is one text, embedded in a batch of all texts or alone: a
// batch of several sequences shares llama.cpp's KV cache, and a leak
// between them would not show on single inputs.
type mistralInput struct {
	text    string
	batched bool
}

func (in mistralInput) String() string {
	return fmt.Sprintf("%q (batched: %v)", in.text, in.batched)
}

// mistralEmbeddings embeds every test text both ways. It checks the usage
// count too, which shows llama.cpp tokenized as the oracle does, </s>
// included.
func mistralEmbeddings(t *testing.T, sp *serverProcess, model string) map[mistralInput][]float32 {
	t.Helper()
	out := map[mistralInput][]float32{}
	var batch api.OpenAIEmbeddingResponse
	if r := sp.post(t, "/v1/embeddings", map[string]any{"model": model, "input": texts}, &batch); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	tokens := 0
	for i, text := range texts {
		tokens += len(testmodel.ExpectedMistralIDs(text))
		out[mistralInput{text, true}] = floats(t, batch.Data[i].Embedding)
		var single api.OpenAIEmbeddingResponse
		if r := sp.post(t, "/v1/embeddings", map[string]any{"model": model, "input": text}, &single); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
		out[mistralInput{text, false}] = floats(t, single.Data[0].Embedding)
	}
	if batch.Usage.PromptTokens != tokens {
		t.Errorf("usage: %d prompt tokens, want %d (<s> words </s>)", batch.Usage.PromptTokens, tokens)
	}
	return out
}

// checkMistralMetadata checks what the server cannot show: the settings
// that make llama.cpp pool the appended </s>, and the query prompt.
func checkMistralMetadata(t *testing.T, path string) {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"general.architecture":          "llama",
		"llama.pooling_type":            uint32(3),
		"llama.attention.head_count_kv": uint32(2),
		"tokenizer.ggml.model":          "llama",
		"tokenizer.ggml.add_bos_token":  true,
		"tokenizer.ggml.add_eos_token":  true,
		keys.Normalize:                  true,
		keys.QueryPrefix:                testmodel.MistralQueryPrompt,
	}
	for key, v := range want {
		if got, ok := md.Value(key); !ok || got != v {
			t.Errorf("%s: %s = %#v, want %#v", filepath.Base(path), key, got, v)
		}
	}
}
