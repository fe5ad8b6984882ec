package tests

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// Qwen3-Embedding and Qwen3-Reranker in miniature convert to llama.cpp's
// qwen3 architecture and serve the exact forward pass of
// internal/reference: the embedder pools the <|endoftext|> the card
// appends, with the card's query prompt, a request's instruction and
// Matryoshka dimensions; the reranker scores the card's prompt by its
// "yes" against "no" logit on every rerank route. Texts mix the test
// vocabulary's words with capitals, digits, punctuation and newlines, so
// llama.cpp's byte-level BPE must split and merge as testmodel.Qwen3IDs
// (Qwen2's pre-tokenizer and transformers' merges, written out in Go) does.
var qwen3Texts = []string{
	"hello",
	"the quick dog",
	"Hello, World! 42 cats\nand  two spaces",
	"search query about the river and the mountain in winter?",
}

// qwen3Models are the test models: an embedder, the reranker with and
// without a tied head, served with an f32 K/V cache (kv_cache_type f32,
// flash attention off for them), and the embedder and reranker again with
// llama.cpp's defaults, an f16 cache and flash attention.
type qwen3Models struct {
	embedder       *reference.Qwen3
	reranker, tied *reference.Qwen3
	sp             *serverProcess
	yes, no        int32
	worst          map[string]float64 // per served model
}

// qwen3Exact bounds the f32-cache models' difference from the reference:
// measured 1.4e-7 (embeddings) and 1.6e-7 (scores), f32 rounding.
const qwen3Exact = 1e-5

func serveQwen3(t *testing.T) *qwen3Models {
	t.Helper()
	dir := t.TempDir()
	m := &qwen3Models{yes: testmodel.Qwen3TokenID("yes"), no: testmodel.Qwen3TokenID("no"), worst: map[string]float64{}}
	convert := func(name string, cfg testmodel.Qwen3Config) *reference.Qwen3 {
		model := testmodel.GenerateQwen3(cfg)
		src := filepath.Join(dir, name+"-hf")
		if err := testmodel.WriteQwen3HF(src, model, cfg); err != nil {
			t.Fatal(err)
		}
		runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
		return model
	}
	m.embedder = convert("qwen3-embed", testmodel.TinyQwen3(43))
	rerank := testmodel.TinyQwen3(44)
	rerank.Reranker = true
	m.reranker = convert("qwen3-rerank", rerank)
	rerank.Seed, rerank.Tied = 45, true
	m.tied = convert("qwen3-rerank-tied", rerank)
	catalog := `models:
  - {name: qwen3-embed, kind: embedding, file: qwen3-embed.gguf, matryoshka: true, min_dimensions: 16, kv_cache_type: f32}
  - {name: qwen3-embed-fixed, kind: embedding, file: qwen3-embed.gguf, matryoshka: false, kv_cache_type: f32}
  - {name: qwen3-embed-f16, kind: embedding, file: qwen3-embed.gguf}
  - {name: qwen3-rerank, kind: rerank, file: qwen3-rerank.gguf, kv_cache_type: f32}
  - {name: qwen3-rerank-tied, kind: rerank, file: qwen3-rerank-tied.gguf, kv_cache_type: f32}
  - {name: qwen3-rerank-f16, kind: rerank, file: qwen3-rerank.gguf}
`
	m.sp = serveCatalog(t, true, dir, catalog, "--embedding-model", "qwen3-embed", "--reranker-model", "qwen3-rerank")
	return m
}

func TestQwen3ServesReference(t *testing.T) {
	m := serveQwen3(t)
	t.Run("embeddings", m.testEmbeddings)
	t.Run("prompts", m.testPrompts)
	t.Run("dimensions", m.testDimensions)
	t.Run("rerank", m.testRerank)
	t.Run("f16 cache", m.testF16Cache)
	for name, diff := range m.worst {
		t.Logf("%s: max abs diff from the reference %.2e", name, diff)
	}
}

// embed posts one /v1/embeddings request and checks its status.
func (m *qwen3Models) embed(t *testing.T, body map[string]any, status int) api.OpenAIEmbeddingResponse {
	t.Helper()
	var res api.OpenAIEmbeddingResponse
	var e api.OpenAIErrorResponse
	out := any(&res)
	if status != 200 {
		out = &e
	}
	if r := m.sp.post(t, "/v1/embeddings", body, out); r.StatusCode != status {
		t.Fatalf("%v: status %d, want %d (%s)", body, r.StatusCode, status, e.Error.Message)
	}
	if status != 200 && e.Error.Message == "" {
		t.Errorf("%v: status %d without a message", body, status)
	}
	return res
}

// checkEmbedding compares a vector served by model with the reference
// embedding of ids, cut to dims (0: all) and normalized.
func (m *qwen3Models) checkEmbedding(t *testing.T, model, label string, got any, ids []int32, dims int) {
	t.Helper()
	want := m.embedder.Embedding(ids)
	if dims > 0 {
		want = want[:dims]
	}
	m.check(t, model, label, maxAbsDiff(t, floats(t, got), reference.Normalize(want)))
}

// check records the difference of one output of model from the
// reference and holds it to the model's tolerance: tolerance for the
// f16-cache models, qwen3Exact for the others.
func (m *qwen3Models) check(t *testing.T, model, label string, diff float64) {
	t.Helper()
	m.worst[model] = max(m.worst[model], diff)
	limit := qwen3Exact
	if strings.HasSuffix(model, "-f16") {
		limit = tolerance
	}
	if diff > limit {
		t.Errorf("%s %s: max abs diff %.2e > %.0e", model, label, diff, limit)
	}
}

func (m *qwen3Models) testEmbeddings(t *testing.T) {
	m.embedTexts(t, "qwen3-embed")
}

// embedTexts embeds qwen3Texts with model, in one batch and one by one.
func (m *qwen3Models) embedTexts(t *testing.T, model string) {
	batch := m.embed(t, map[string]any{"model": model, "input": qwen3Texts}, 200)
	tokens := 0
	for i, text := range qwen3Texts {
		ids := testmodel.Qwen3EmbeddingIDs(text)
		tokens += len(ids)
		m.checkEmbedding(t, model, fmt.Sprintf("batched %q", text), batch.Data[i].Embedding, ids, 0)
		single := m.embed(t, map[string]any{"model": model, "input": text}, 200)
		m.checkEmbedding(t, model, fmt.Sprintf("alone %q", text), single.Data[0].Embedding, ids, 0)
	}
	// The count shows llama.cpp split the texts as the oracle did, and
	// appended <|endoftext|>.
	if batch.Usage.PromptTokens != tokens {
		t.Errorf("usage: %d prompt tokens, want %d", batch.Usage.PromptTokens, tokens)
	}
}

// Queries get the card's prompt "Instruct: {task}\nQuery:" (no space
// after the colon), with the default task or a request's instruction;
// documents get nothing.
func (m *qwen3Models) testPrompts(t *testing.T) {
	text := qwen3Texts[1]
	for _, c := range []struct {
		name   string
		fields map[string]any
		prefix string
	}{
		{"query", map[string]any{"input_type": "query"}, testmodel.Qwen3QueryPrompt},
		{"search_query", map[string]any{"input_type": "search_query"}, testmodel.Qwen3QueryPrompt},
		{"document", map[string]any{"input_type": "document"}, ""},
		{"instruction", map[string]any{"instruction": "Find the cat"}, "Instruct: Find the cat\nQuery:"},
		{"instruction and query", map[string]any{"instruction": "Find the dog", "input_type": "query"}, "Instruct: Find the dog\nQuery:"},
	} {
		body := map[string]any{"model": "qwen3-embed", "input": []string{text}}
		for k, v := range c.fields {
			body[k] = v
		}
		res := m.embed(t, body, 200)
		m.checkEmbedding(t, "qwen3-embed", c.name, res.Data[0].Embedding, testmodel.Qwen3EmbeddingIDs(c.prefix+text), 0)
	}
	// An instruction describes a query: documents refuse it, and so does
	// an empty one.
	m.embed(t, map[string]any{"model": "qwen3-embed", "input": text, "instruction": "Find", "input_type": "document"}, 400)
	m.embed(t, map[string]any{"model": "qwen3-embed", "input": text, "instruction": " "}, 400)
}

// Matryoshka: the catalog allows 16 up for qwen3-embed and no truncation
// for qwen3-embed-fixed, the same file.
func (m *qwen3Models) testDimensions(t *testing.T) {
	text := qwen3Texts[2]
	ids := testmodel.Qwen3EmbeddingIDs(text)
	res := m.embed(t, map[string]any{"model": "qwen3-embed", "input": text, "dimensions": 32}, 200)
	m.checkEmbedding(t, "qwen3-embed", "dimensions 32", res.Data[0].Embedding, ids, 32)
	m.embed(t, map[string]any{"model": "qwen3-embed", "input": text, "dimensions": 8}, 400)
	m.embed(t, map[string]any{"model": "qwen3-embed-fixed", "input": text, "dimensions": 32}, 400)
	res = m.embed(t, map[string]any{"model": "qwen3-embed-fixed", "input": text, "dimensions": 64}, 200)
	m.checkEmbedding(t, "qwen3-embed-fixed", "full dimensions", res.Data[0].Embedding, ids, 0)
}

// expectedRerank is the reference score of a pair, the card's
// sigmoid(yes - no).
func (m *qwen3Models) expectedRerank(model *reference.Qwen3, instruction, query, doc string) float64 {
	logit := model.RerankLogit(testmodel.Qwen3RerankIDs(instruction, query, doc), m.yes, m.no)
	return 1 / (1 + math.Exp(-logit))
}

func (m *qwen3Models) testRerank(t *testing.T) {
	query := "where is the river"
	docs := append([]string{"the river is near the mountain"}, qwen3Texts...)
	custom := "Find passages about the weather"
	for _, c := range []struct {
		route, model, instruction string
		weights                   *reference.Qwen3
	}{
		{"/v1/rerank", "qwen3-rerank", "", m.reranker},
		{"/v2/rerank", "qwen3-rerank", custom, m.reranker},
		{"/rerank", "qwen3-rerank", custom, m.reranker},
		{"/rerank", "qwen3-rerank", "", m.reranker},
		{"/v1/rerank", "qwen3-rerank-tied", "", m.tied},
		{"/v1/rerank", "qwen3-rerank-f16", "", m.reranker},
	} {
		label := fmt.Sprintf("%s %s instruction %q", c.route, c.model, c.instruction)
		body := map[string]any{"model": c.model, "query": query}
		if c.instruction != "" {
			body["instruction"] = c.instruction
		}
		instruction := c.instruction
		if instruction == "" {
			instruction = testmodel.Qwen3Instruction
		}
		got := map[int]float64{}
		if c.route == "/rerank" {
			body["texts"], body["raw_scores"] = docs, true
			var ranks []api.TEIRank
			if r := m.sp.post(t, c.route, body, &ranks); r.StatusCode != 200 {
				t.Fatalf("%s: status %d", label, r.StatusCode)
			}
			for _, r := range ranks {
				got[r.Index] = 1 / (1 + math.Exp(-r.Score)) // raw_scores: the yes - no logit
			}
		} else {
			body["documents"] = docs
			var res api.CohereRerankResponse
			if r := m.sp.post(t, c.route, body, &res); r.StatusCode != 200 {
				t.Fatalf("%s: status %d", label, r.StatusCode)
			}
			got = scores(res)
		}
		if len(got) != len(docs) {
			t.Fatalf("%s: %d results for %d documents", label, len(got), len(docs))
		}
		for i, doc := range docs {
			m.check(t, c.model, fmt.Sprintf("%s doc %d", label, i), math.Abs(got[i]-m.expectedRerank(c.weights, instruction, query, doc)))
		}
	}
	// The instruction counts against the pair's length like the query.
	var e api.CohereError
	body := map[string]any{"model": "qwen3-rerank", "query": query, "documents": docs, "instruction": strings.Repeat("x ", 400)}
	if r := m.sp.post(t, "/v1/rerank", body, &e); r.StatusCode != 400 {
		t.Errorf("an instruction longer than the model reads: status %d, want 400", r.StatusCode)
	}
}

// llama.cpp's defaults, an f16 cache and flash attention, stay within
// tolerance of the reference, and the f32 cache is measurably closer:
// the reason kv_cache_type exists.
func (m *qwen3Models) testF16Cache(t *testing.T) {
	m.embedTexts(t, "qwen3-embed-f16")
	for _, exact := range []string{"qwen3-embed", "qwen3-rerank"} {
		if m.worst[exact] > m.worst[exact+"-f16"]/10 {
			t.Errorf("%s differs from the reference by %.2e, with an f16 cache by %.2e: the f32 cache should be 10× closer",
				exact, m.worst[exact], m.worst[exact+"-f16"])
		}
	}
}
