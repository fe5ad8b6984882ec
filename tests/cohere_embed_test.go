package tests

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// cohereEmbed posts body to path and decodes Cohere's embed response, its
// embeddings by type (v1's float-only shape is read as Float).
func cohereEmbed(t *testing.T, path string, body map[string]any) (api.CohereEmbedResponse, api.CohereEmbeddings) {
	t.Helper()
	var resp api.CohereEmbedResponse
	if r := shared.srv.post(t, path, body, &resp); r.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: status %d", path, r.StatusCode)
	}
	raw, err := json.Marshal(resp.Embeddings) // decoded as any: back to JSON, into its type
	if err != nil {
		t.Fatal(err)
	}
	var emb api.CohereEmbeddings
	if resp.ResponseType == "embeddings_floats" {
		err = json.Unmarshal(raw, &emb.Float)
	} else {
		err = json.Unmarshal(raw, &emb)
	}
	if err != nil {
		t.Fatalf("POST %s: embeddings %s: %v", path, raw, err)
	}
	return resp, emb
}

func TestCohereEmbedMatchesReference(t *testing.T) {
	m := shared.models["tiny-cls"]
	in := texts[:3]
	tokens := 0
	for _, text := range in {
		tokens += len(m.ids(text))
	}
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/v1/embed", map[string]any{"model": "tiny-cls", "texts": in}},
		{"/v1/embed", map[string]any{"model": "tiny-cls", "texts": in, "embedding_types": []string{"float", "int8", "binary"}}},
		{"/v2/embed", map[string]any{"model": "tiny-cls", "texts": in, "input_type": "search_document",
			"embedding_types": []string{"float", "int8", "binary"}}},
	} {
		resp, emb := cohereEmbed(t, tc.path, tc.body)
		version := tc.path[2:3]
		if resp.Meta.APIVersion.Version != version || resp.Meta.BilledUnits.InputTokens != tokens || !slices.Equal(resp.Texts, in) || resp.ID == "" {
			t.Errorf("%s: id %q, texts %q, meta %+v; want version %s and %d tokens", tc.path, resp.ID, resp.Texts, resp.Meta, version, tokens)
		}
		if len(emb.Float) != len(in) {
			t.Fatalf("%s: %d float vectors for %d texts", tc.path, len(emb.Float), len(in))
		}
		_, byType := tc.body["embedding_types"]
		for i, text := range in {
			vec := emb.Float[i]
			if diff := maxAbsDiff(t, vec, m.expectedEmbedding(m.ids(text), 0)); diff > tolerance {
				t.Errorf("%s: input %d off by %.2e", tc.path, i, diff)
			}
			if !byType {
				continue
			}
			// int8 and binary are the definitions in api.CohereEmbeddings,
			// applied to the floats the same response carries.
			for j, x := range vec {
				if q := int8(min(max(math.Round(float64(x)*127), -128), 127)); emb.Int8[i][j] != q {
					t.Errorf("%s: int8[%d][%d] = %d, want %d for %g", tc.path, i, j, emb.Int8[i][j], q, x)
				}
			}
			if len(emb.Binary[i]) != (len(vec)+7)/8 {
				t.Fatalf("%s: binary[%d] has %d bytes for %d dimensions", tc.path, i, len(emb.Binary[i]), len(vec))
			}
			for j, x := range vec {
				bit := (int(emb.Binary[i][j/8])+128)>>(7-j%8)&1 == 1
				if bit != (x > 0) {
					t.Errorf("%s: binary[%d] bit %d is %v for %g", tc.path, i, j, bit, x)
				}
			}
		}
	}
}

func TestCohereEmbedTruncate(t *testing.T) {
	m := shared.models["tiny-cls"]
	long := texts[2] + " " + strings.TrimSpace(strings.Repeat("the dog ", 40)) // > 64 positions
	ids := m.ids(long)
	var e api.CohereError
	r := shared.srv.post(t, "/v2/embed", map[string]any{"texts": []string{long}, "input_type": "clustering", "truncate": "NONE"}, &e)
	if r.StatusCode != http.StatusBadRequest || e.ID == "" || !strings.Contains(e.Message, "64") {
		t.Fatalf("truncate NONE: status %d, error %+v: want a 400 in Cohere's envelope naming the limit 64", r.StatusCode, e)
	}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		want   []int32
	}{
		{"END", map[string]any{"truncate": "END"}, append(ids[:63:63], ids[len(ids)-1])},
		{"START", map[string]any{"truncate": "START"}, append([]int32{ids[0]}, ids[len(ids)-63:]...)},
		{"max_tokens", map[string]any{"max_tokens": 5}, append(ids[:4:4], ids[len(ids)-1])},
		{"max_tokens START", map[string]any{"max_tokens": 5, "truncate": "START"}, append([]int32{ids[0]}, ids[len(ids)-4:]...)},
	} {
		body := map[string]any{"texts": []string{long}, "input_type": "clustering"}
		for k, v := range tc.fields {
			body[k] = v
		}
		resp, emb := cohereEmbed(t, "/v2/embed", body)
		if diff := maxAbsDiff(t, emb.Float[0], m.expectedEmbedding(tc.want, 0)); diff > tolerance {
			t.Errorf("%s: off by %.2e", tc.name, diff)
		}
		if resp.Meta.BilledUnits.InputTokens != len(tc.want) {
			t.Errorf("%s: input_tokens %d, want %d", tc.name, resp.Meta.BilledUnits.InputTokens, len(tc.want))
		}
	}
}
