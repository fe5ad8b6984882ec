package tests

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// EmbeddingGemma in miniature converts to llama.cpp's gemma-embedding
// architecture and serves the exact forward pass of internal/reference:
// bidirectional attention, sliding on five layers of six, mean pooling,
// the 2_Dense and 3_Dense projections, the card's task prompts and
// Matryoshka dimensions. Most texts are longer than the window (4 tokens
// on either side); they mix the test vocabulary's words with capitals, digits,
// punctuation and a newline (byte pieces), so llama.cpp's SentencePiece
// BPE must tokenize as testmodel.GemmaIDs (tokenizers' BPE, in Go) does.
var gemmaTexts = []string{
	"hello",
	"the quick dog ran over the river",
	"Hello, World! 42 cats\nand  two spaces",
	"search query about the river and the mountain in winter?",
}

type gemmaModels struct {
	hf, ggml *reference.Gemma // the model with HF's GELU and with ggml's f16-table GELU
	sp       *serverProcess
	worst    map[string]float64
}

// gemmaExact bounds gemma-embed's difference from the reference that
// computes GELU as ggml's CPU backend does (measured 1.9e-5, f32
// rounding); from HF's GELU it differs by 9.9e-5, and with llama.cpp's
// defaults (flash attention, in f16 on the CPU) by 2.9e-4.
const gemmaExact = 5e-5

func serveGemma(t *testing.T) *gemmaModels {
	t.Helper()
	dir := t.TempDir()
	cfg := testmodel.TinyGemma(46)
	m := &gemmaModels{hf: testmodel.GenerateGemma(cfg), worst: map[string]float64{}}
	ggml := *m.hf
	ggml.Activation = reference.GELUTanhF16
	m.ggml = &ggml
	src := filepath.Join(dir, "gemma-hf")
	if err := testmodel.WriteGemmaHF(src, m.hf, cfg); err != nil {
		t.Fatal(err)
	}
	out := runConvert(t, "--input", src, "--output", filepath.Join(dir, "gemma-embed.gguf"), "--outtype", "f32")
	t.Logf("convert: %s", out)
	catalog := `models:
  - {name: gemma-embed, kind: embedding, file: gemma-embed.gguf, matryoshka: true, min_dimensions: 16, kv_cache_type: f32}
  - {name: gemma-embed-default, kind: embedding, file: gemma-embed.gguf}
`
	m.sp = serveCatalog(t, true, dir, catalog, "--embedding-model", "gemma-embed", "--reranker-model", "")
	return m
}

func TestGemmaEmbeddingServesReference(t *testing.T) {
	m := serveGemma(t)
	t.Run("embeddings", func(t *testing.T) { m.embedTexts(t, "gemma-embed") })
	t.Run("default settings", func(t *testing.T) { m.embedTexts(t, "gemma-embed-default") })
	t.Run("window", m.testWindow)
	t.Run("prompts", m.testPrompts)
	t.Run("dimensions", m.testDimensions)
	// kv_cache_type: f32 turns flash attention off; gemma-embedding has no
	// cache, but flash attention computes in f16.
	if exact, fast := m.worst["gemma-embed"], m.worst["gemma-embed-default"]; exact >= fast {
		t.Errorf("without flash attention %.2e from HF's reference, with it %.2e: it should be closer", exact, fast)
	}
	for name, diff := range m.worst {
		t.Logf("%s: max abs diff from the reference %.2e", name, diff)
	}
}

// embed posts one /v1/embeddings request and checks its status, as the
// Qwen3 test does.
func (m *gemmaModels) embed(t *testing.T, body map[string]any, status int) api.OpenAIEmbeddingResponse {
	t.Helper()
	return (&qwen3Models{sp: m.sp}).embed(t, body, status)
}

// check compares a vector model served for text (prompt included) with
// the reference, cut to dims (0: all) and normalized: every model to the
// 2e-3 tolerance of HF's, and gemma-embed (f32, no flash attention) to
// gemmaExact of the reference with ggml's GELU.
func (m *gemmaModels) check(t *testing.T, model, label string, got []float32, text string, dims int) {
	t.Helper()
	ids := testmodel.GemmaIDs(text)
	for _, c := range []struct {
		ref   *reference.Gemma
		limit float64
		name  string
	}{{m.hf, tolerance, model}, {m.ggml, gemmaExact, model + " (ggml GELU)"}} {
		if c.ref == m.ggml && model != "gemma-embed" {
			continue
		}
		want := c.ref.Embedding(ids)
		if dims > 0 {
			want = want[:dims]
		}
		diff := maxAbsDiff(t, got, reference.Normalize(want))
		m.worst[c.name] = max(m.worst[c.name], diff)
		if diff > c.limit {
			t.Errorf("%s %s: max abs diff %.2e > %.0e", c.name, label, diff, c.limit)
		}
	}
}

func (m *gemmaModels) embedTexts(t *testing.T, model string) {
	batch := m.embed(t, map[string]any{"model": model, "input": gemmaTexts}, 200)
	tokens := 0
	for i, text := range gemmaTexts {
		tokens += len(testmodel.GemmaIDs(text))
		m.check(t, model, fmt.Sprintf("batched %q", text), floats(t, batch.Data[i].Embedding), text, 0)
		single := m.embed(t, map[string]any{"model": model, "input": text}, 200)
		m.check(t, model, fmt.Sprintf("alone %q", text), floats(t, single.Data[0].Embedding), text, 0)
	}
	// The count shows llama.cpp split the texts as the oracle did and
	// added <bos> and <eos>.
	if batch.Usage.PromptTokens != tokens {
		t.Errorf("usage: %d prompt tokens, want %d", batch.Usage.PromptTokens, tokens)
	}
}

// The texts are longer than the sliding window, so the window shapes the
// answer: the reference without it is far from what is served.
func (m *gemmaModels) testWindow(t *testing.T) {
	text := gemmaTexts[3]
	ids := testmodel.GemmaIDs(text)
	if len(ids) <= m.hf.SlidingWindow+1 {
		t.Fatalf("%q is %d tokens, not longer than the window of %d", text, len(ids), m.hf.SlidingWindow)
	}
	res := m.embed(t, map[string]any{"model": "gemma-embed", "input": text}, 200)
	unwindowed := *m.ggml
	unwindowed.SlidingWindow = 2 * len(ids)
	if diff := maxAbsDiff(t, floats(t, res.Data[0].Embedding), reference.Normalize(unwindowed.Embedding(ids))); diff < 100*gemmaExact {
		t.Errorf("served like a model without a window (max abs diff %.2e): the test text does not exercise it", diff)
	}
}

// The card's prompts: queries "task: search result | query: ", documents
// "title: none | text: ", other tasks by instruction ("task: {task} |
// query: "); nothing without an input type.
func (m *gemmaModels) testPrompts(t *testing.T) {
	text := gemmaTexts[1]
	for _, c := range []struct {
		name   string
		fields map[string]any
		prefix string
	}{
		{"none", nil, ""},
		{"query", map[string]any{"input_type": "query"}, testmodel.GemmaQueryPrompt},
		{"search_query", map[string]any{"input_type": "search_query"}, testmodel.GemmaQueryPrompt},
		{"document", map[string]any{"input_type": "document"}, testmodel.GemmaDocumentPrompt},
		{"search_document", map[string]any{"input_type": "search_document"}, testmodel.GemmaDocumentPrompt},
		{"clustering", map[string]any{"instruction": "clustering"}, "task: clustering | query: "},
		{"fact checking", map[string]any{"instruction": "fact checking", "input_type": "query"}, "task: fact checking | query: "},
	} {
		body := map[string]any{"model": "gemma-embed", "input": []string{text}}
		for k, v := range c.fields {
			body[k] = v
		}
		res := m.embed(t, body, 200)
		m.check(t, "gemma-embed", c.name, floats(t, res.Data[0].Embedding), c.prefix+text, 0)
	}
	// TEI's prompt_name selects the same prompts.
	var vecs [][]float32
	if r := m.sp.post(t, "/embed", map[string]any{"model": "gemma-embed", "inputs": text, "prompt_name": "document"}, &vecs); r.StatusCode != 200 || len(vecs) != 1 {
		t.Fatalf("/embed prompt_name document: status %d, %d vectors", r.StatusCode, len(vecs))
	}
	m.check(t, "gemma-embed", "prompt_name document", vecs[0], testmodel.GemmaDocumentPrompt+text, 0)
	m.embed(t, map[string]any{"model": "gemma-embed", "input": text, "instruction": "clustering", "input_type": "document"}, 400)
}

// Matryoshka: the test catalog allows 16 up to the model's 64, as the real
// entry allows 128 up to 768.
func (m *gemmaModels) testDimensions(t *testing.T) {
	text := gemmaTexts[2]
	res := m.embed(t, map[string]any{"model": "gemma-embed", "input": text, "dimensions": 32}, 200)
	if got := len(floats(t, res.Data[0].Embedding)); got != 32 {
		t.Fatalf("dimensions 32: %d components", got)
	}
	m.check(t, "gemma-embed", "dimensions 32", floats(t, res.Data[0].Embedding), text, 32)
	for _, dims := range []int{8, 100} {
		m.embed(t, map[string]any{"model": "gemma-embed", "input": text, "dimensions": dims}, 400)
	}
}
