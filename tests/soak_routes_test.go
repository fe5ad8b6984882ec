//go:build soak

package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/rerank-api/rerank-api/api"
)

// soakRoute is one route the soak sends requests to: its body for a model
// and inputs, and the check of a 200's body against the reference.
type soakRoute struct {
	family, path string
	kind         string // "embedding" or "rerank": which models it takes
	body         func(model string, in soakInput) any
	check        func(raw []byte, m *testModel, in soakInput) error
}

// soakInput is what one request sends: texts to embed, or a query and its
// documents to rank. Every word is in the test vocabulary, so the oracle's
// token ids are llama.cpp's; no input is long enough to be truncated or
// chunked.
type soakInput struct {
	texts []string
	query string
}

func newSoakInput(r *rand.Rand, kind string) soakInput {
	in := soakInput{texts: make([]string, 1+r.IntN(3))}
	for i := range in.texts {
		in.texts[i] = randomText(r, 3+r.IntN(10))
	}
	if kind == "rerank" {
		in.query = randomText(r, 2+r.IntN(3))
	}
	return in
}

// soakRoutes covers every API family: OpenAI, TEI, Cohere, Jina and Ollama.
var soakRoutes = []soakRoute{
	{"openai", "/v1/embeddings", "embedding",
		func(model string, in soakInput) any { return map[string]any{"model": model, "input": in.texts} },
		func(raw []byte, m *testModel, in soakInput) error {
			var r api.OpenAIEmbeddingResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			vs := make([][]float32, len(r.Data))
			for i, d := range r.Data {
				vs[i] = anyFloats(d.Embedding)
			}
			return checkEmbeddings(vs, m, in.texts)
		}},
	{"tei", "/embed", "embedding",
		func(model string, in soakInput) any { return map[string]any{"model": model, "inputs": in.texts} },
		func(raw []byte, m *testModel, in soakInput) error {
			var vs [][]float32
			if err := json.Unmarshal(raw, &vs); err != nil {
				return err
			}
			return checkEmbeddings(vs, m, in.texts)
		}},
	{"cohere", "/v2/embed", "embedding",
		func(model string, in soakInput) any {
			return map[string]any{"model": model, "texts": in.texts, "input_type": "search_document", "embedding_types": []string{"float"}}
		},
		func(raw []byte, m *testModel, in soakInput) error {
			var r struct{ Embeddings api.CohereEmbeddings }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			return checkEmbeddings(r.Embeddings.Float, m, in.texts)
		}},
	{"ollama", "/api/embed", "embedding",
		func(model string, in soakInput) any { return map[string]any{"model": model, "input": in.texts} },
		func(raw []byte, m *testModel, in soakInput) error {
			var r api.OllamaEmbedResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			return checkEmbeddings(r.Embeddings, m, in.texts)
		}},
	{"ollama", "/api/embeddings", "embedding",
		func(model string, in soakInput) any { return map[string]any{"model": model, "prompt": in.texts[0]} },
		func(raw []byte, m *testModel, in soakInput) error {
			var r api.OllamaEmbeddingResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			return checkEmbeddings([][]float32{r.Embedding}, m, in.texts[:1])
		}},
	{"tei", "/rerank", "rerank",
		func(model string, in soakInput) any {
			return map[string]any{"model": model, "query": in.query, "texts": in.texts}
		},
		func(raw []byte, m *testModel, in soakInput) error {
			var ranks []api.TEIRank
			if err := json.Unmarshal(raw, &ranks); err != nil {
				return err
			}
			got := map[int]float64{}
			for _, r := range ranks {
				got[r.Index] = r.Score
			}
			return checkRanks(got, m, in)
		}},
	{"cohere", "/v2/rerank", "rerank",
		func(model string, in soakInput) any {
			return map[string]any{"model": model, "query": in.query, "documents": in.texts}
		},
		func(raw []byte, m *testModel, in soakInput) error {
			var r api.CohereRerankResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			return checkRanks(scores(r), m, in)
		}},
	{"jina", "/v1/rerank", "rerank",
		func(model string, in soakInput) any {
			return map[string]any{"model": model, "query": in.query, "documents": in.texts, "top_n": len(in.texts), "return_documents": false}
		},
		func(raw []byte, m *testModel, in soakInput) error {
			var r api.CohereRerankResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			return checkRanks(scores(r), m, in)
		}},
}

// anyFloats reads a JSON array of numbers decoded into an any.
func anyFloats(v any) []float32 {
	list, _ := v.([]any)
	out := make([]float32, len(list))
	for i, x := range list {
		f, _ := x.(float64)
		out[i] = float32(f)
	}
	return out
}

func checkEmbeddings(got [][]float32, m *testModel, texts []string) error {
	if len(got) != len(texts) {
		return fmt.Errorf("%d embeddings for %d inputs", len(got), len(texts))
	}
	for i, text := range texts {
		want := m.expectedEmbedding(m.cfg.ExpectedIDs(text), 0)
		if len(got[i]) != len(want) {
			return fmt.Errorf("input %d: %d dimensions, want %d", i, len(got[i]), len(want))
		}
		for j := range want {
			if d := math.Abs(float64(got[i][j]) - want[j]); !(d <= tolerance) {
				return fmt.Errorf("input %d %q: component %d off by %.2e", i, text, j, d)
			}
		}
	}
	return nil
}

func checkRanks(got map[int]float64, m *testModel, in soakInput) error {
	if len(got) != len(in.texts) {
		return fmt.Errorf("%d scores for %d documents", len(got), len(in.texts))
	}
	for i, doc := range in.texts {
		want, _ := m.expectedScore(m.words(in.query), m.words(doc), false)
		if d := math.Abs(got[i] - want); !(d <= tolerance) {
			return fmt.Errorf("document %d: score %.5f, want %.5f", i, got[i], want)
		}
	}
	return nil
}
