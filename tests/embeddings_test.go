package tests

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// Texts use only words of the test vocabulary, so testmodel.ExpectedIDs is
// an independent oracle for their token ids.
var texts = []string{
	"hello",
	"the quick dog",
	"search query about the river and the mountain in winter",
	"a", // not in the vocabulary: [UNK]
	"the cat and the dog walk near the window while the sun is bright and the wind is cool in the garden",
}

func floats(t *testing.T, v any) []float32 {
	t.Helper()
	switch x := v.(type) {
	case []any:
		out := make([]float32, len(x))
		for i, f := range x {
			out[i] = float32(f.(float64))
		}
		return out
	case string:
		raw, err := base64.StdEncoding.DecodeString(x)
		if err != nil || len(raw)%4 != 0 {
			t.Fatalf("bad base64 embedding: %v", err)
		}
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	}
	t.Fatalf("unexpected embedding type %T", v)
	return nil
}

// ids returns the oracle token ids, with out-of-vocabulary words as [UNK].
func (m *testModel) ids(text string) []int32 {
	var words []string
	for _, w := range strings.Fields(text) {
		if w == "a" {
			continue
		}
		words = append(words, w)
	}
	ids := m.cfg.ExpectedIDs(strings.Join(words, " "))
	if text == "a" {
		return []int32{ids[0], 1, ids[1]} // [CLS] [UNK] [SEP]
	}
	return ids
}

// tolerance bounds an f32 GGUF served by llama.cpp against the exact
// float64 reference: its CPU GELU is the tanh form through an f16 table and
// flash attention rounds K and V to f16, ~1e-4..1e-3 on these models.
const tolerance = 2e-3

func TestEmbeddingsMatchReference(t *testing.T) {
	for _, name := range []string{"tiny-cls", "tiny-mean"} {
		t.Run(name, func(t *testing.T) {
			m := shared.models[name]
			var resp api.OpenAIEmbeddingResponse
			r := shared.srv.post(t, "/v1/embeddings", map[string]any{"model": name, "input": texts}, &resp)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			if resp.Object != "list" || resp.Model != name || len(resp.Data) != len(texts) {
				t.Fatalf("bad envelope: object=%q model=%q data=%d", resp.Object, resp.Model, len(resp.Data))
			}
			tokens := 0
			for i, text := range texts {
				ids := m.ids(text)
				tokens += len(ids)
				d := resp.Data[i]
				if d.Index != i || d.Object != "embedding" {
					t.Fatalf("data[%d] has index %d object %q", i, d.Index, d.Object)
				}
				if diff := maxAbsDiff(t, floats(t, d.Embedding), m.expectedEmbedding(ids, 0)); diff > tolerance {
					t.Errorf("input %d (%q): max abs diff %.2e > %.0e", i, text, diff, tolerance)
				}
			}
			if resp.Usage.PromptTokens != tokens || resp.Usage.TotalTokens != tokens {
				t.Errorf("usage %+v, want %d tokens", resp.Usage, tokens)
			}
		})
	}
}

func TestEmbeddingsInputForms(t *testing.T) {
	m := shared.models["tiny-cls"]
	ids0, ids1 := m.ids(texts[1]), m.ids(texts[2])
	cases := []struct {
		name  string
		input any
		want  [][]int32
	}{
		{"string", texts[1], [][]int32{ids0}},
		{"strings", []string{texts[1], texts[2]}, [][]int32{ids0, ids1}},
		{"tokens", ids0, [][]int32{ids0}},
		{"token lists", [][]int32{ids0, ids1}, [][]int32{ids0, ids1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp api.OpenAIEmbeddingResponse
			// No model: the default embedding model (tiny-cls) serves it.
			if r := shared.srv.post(t, "/v1/embeddings", map[string]any{"input": c.input}, &resp); r.StatusCode != 200 {
				t.Fatalf("status %d", r.StatusCode)
			}
			if len(resp.Data) != len(c.want) || resp.Model != "tiny-cls" {
				t.Fatalf("got %d vectors from %q", len(resp.Data), resp.Model)
			}
			for i, ids := range c.want {
				if diff := maxAbsDiff(t, floats(t, resp.Data[i].Embedding), m.expectedEmbedding(ids, 0)); diff > tolerance {
					t.Errorf("vector %d: max abs diff %.2e", i, diff)
				}
			}
		})
	}
}

func TestEmbeddingsBase64EqualsFloat(t *testing.T) {
	var asFloat, asBase64 api.OpenAIEmbeddingResponse
	shared.srv.post(t, "/v1/embeddings", map[string]any{"model": "tiny-mean", "input": texts}, &asFloat)
	shared.srv.post(t, "/embeddings", map[string]any{"model": "tiny-mean", "input": texts, "encoding_format": "base64"}, &asBase64)
	if len(asFloat.Data) != len(texts) || len(asBase64.Data) != len(texts) {
		t.Fatalf("got %d and %d vectors", len(asFloat.Data), len(asBase64.Data))
	}
	for i := range texts {
		if _, ok := asBase64.Data[i].Embedding.(string); !ok {
			t.Fatalf("base64 response holds %T", asBase64.Data[i].Embedding)
		}
		f, b := floats(t, asFloat.Data[i].Embedding), floats(t, asBase64.Data[i].Embedding)
		if fmt.Sprint(f) != fmt.Sprint(b) {
			t.Errorf("input %d: base64 decodes to different floats", i)
		}
	}
}

func TestEmbeddingsDimensions(t *testing.T) {
	m := shared.models["tiny-mean"]
	var resp api.OpenAIEmbeddingResponse
	shared.srv.post(t, "/v1/embeddings", map[string]any{"model": "test-org/tiny-mean", "input": texts[2], "dimensions": 16}, &resp)
	if len(resp.Data) != 1 {
		t.Fatalf("got %d vectors", len(resp.Data))
	}
	got := floats(t, resp.Data[0].Embedding)
	if diff := maxAbsDiff(t, got, m.expectedEmbedding(m.ids(texts[2]), 16)); diff > tolerance {
		t.Errorf("truncated+renormalized vector off by %.2e", diff)
	}
	norm := 0.0
	for _, x := range got {
		norm += float64(x) * float64(x)
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Errorf("norm² %f, want 1", norm)
	}
}

func TestTEIEmbed(t *testing.T) {
	m := shared.models["tiny-cls"]
	var vecs [][]float32
	r := shared.srv.post(t, "/embed", map[string]any{"inputs": []string{texts[0], texts[2]}}, &vecs)
	if r.StatusCode != 200 || len(vecs) != 2 {
		t.Fatalf("status %d, %d vectors", r.StatusCode, len(vecs))
	}
	for i, text := range []string{texts[0], texts[2]} {
		if diff := maxAbsDiff(t, vecs[i], m.expectedEmbedding(m.ids(text), 0)); diff > tolerance {
			t.Errorf("vector %d off by %.2e", i, diff)
		}
	}
}

func TestEmbeddingsTruncate(t *testing.T) {
	m := shared.models["tiny-cls"]
	long := strings.TrimSpace(strings.Repeat("the dog ", 40)) // 80 words + 2 specials > 64 positions
	var e api.OpenAIErrorResponse
	r := shared.srv.post(t, "/v1/embeddings", map[string]any{"input": long}, &e)
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, "82 tokens") || !strings.Contains(e.Error.Message, "64") {
		t.Fatalf("status %d, message %q: want 400 naming 82 tokens and the limit 64", r.StatusCode, e.Error.Message)
	}
	var resp api.OpenAIEmbeddingResponse
	r = shared.srv.post(t, "/v1/embeddings", map[string]any{"input": long, "truncate": true}, &resp)
	if r.StatusCode != 200 {
		t.Fatalf("truncate: status %d", r.StatusCode)
	}
	ids := m.ids(long)
	ids = append(ids[:63:63], ids[len(ids)-1]) // HF truncation keeps the closing [SEP]
	if diff := maxAbsDiff(t, floats(t, resp.Data[0].Embedding), m.expectedEmbedding(ids, 0)); diff > tolerance {
		t.Errorf("truncated input off by %.2e", diff)
	}
	if resp.Usage.PromptTokens != 64 {
		t.Errorf("prompt_tokens %d, want 64", resp.Usage.PromptTokens)
	}
}

func TestEmbeddingsConcurrentMixedLengths(t *testing.T) {
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"tiny-cls", "tiny-mean"}[i%2]
			m := shared.models[name]
			batch := texts[:1+i%len(texts)]
			var resp api.OpenAIEmbeddingResponse
			r := shared.srv.post(t, "/v1/embeddings", map[string]any{"model": name, "input": batch}, &resp)
			if r.StatusCode != 200 || len(resp.Data) != len(batch) {
				errs <- fmt.Errorf("request %d: status %d, %d vectors", i, r.StatusCode, len(resp.Data))
				return
			}
			for j, text := range batch {
				if diff := maxAbsDiff(t, floats(t, resp.Data[j].Embedding), m.expectedEmbedding(m.ids(text), 0)); diff > tolerance {
					errs <- fmt.Errorf("request %d input %d: off by %.2e", i, j, diff)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
