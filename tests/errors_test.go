package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// Every error the embeddings API can return, with its status and the
// OpenAI error envelope.
func TestEmbeddingsErrors(t *testing.T) {
	tooMany := make([]string, 101) // the shared server allows 100 inputs
	for i := range tooMany {
		tooMany[i] = "hello"
	}
	cases := []struct {
		name      string
		body      any
		status    int
		inMessage string
	}{
		{"bad json", `{"input": `, http.StatusBadRequest, "JSON"},
		{"missing input", map[string]any{"model": "tiny-cls"}, http.StatusBadRequest, "input"},
		{"empty input", map[string]any{"input": []string{}}, http.StatusBadRequest, "input"},
		{"wrong input type", map[string]any{"input": map[string]int{"a": 1}}, http.StatusBadRequest, "input"},
		{"bad encoding_format", map[string]any{"input": "hello", "encoding_format": "hex"}, http.StatusBadRequest, "encoding_format"},
		{"dimensions too large", map[string]any{"input": "hello", "dimensions": 65}, http.StatusBadRequest, "dimensions"},
		{"token id outside vocabulary", map[string]any{"input": []int{2, 99999, 3}}, http.StatusBadRequest, "99999"},
		{"unknown model", map[string]any{"input": "hello", "model": "no-such-model"}, http.StatusNotFound, "no-such-model"},
		{"reranker on embeddings", map[string]any{"input": "hello", "model": "tiny-rank"}, http.StatusUnprocessableEntity, "rerank"},
		{"unsupported model", map[string]any{"input": "hello", "model": "nv-embed-v2"}, http.StatusUnprocessableEntity, "latent"},
		{"model file missing", map[string]any{"input": "hello", "model": "tiny-missing"}, http.StatusServiceUnavailable, "not-there.gguf"},
		{"too many inputs", map[string]any{"input": tooMany}, http.StatusRequestEntityTooLarge, "100"},
		{"body too large", map[string]any{"input": strings.Repeat("hello ", 40000)}, http.StatusRequestEntityTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e api.OpenAIErrorResponse
			r := shared.srv.post(t, "/v1/embeddings", c.body, &e)
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d (message %q)", r.StatusCode, c.status, e.Error.Message)
			}
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("error envelope missing message or type: %+v", e.Error)
			}
			if !strings.Contains(e.Error.Message, c.inMessage) {
				t.Errorf("message %q does not mention %q", e.Error.Message, c.inMessage)
			}
			if c.status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	// The server survived all of it.
	if r := shared.srv.get(t, "/health", nil); r.StatusCode != 200 {
		t.Fatalf("health %d after errors", r.StatusCode)
	}
}

func TestModelListings(t *testing.T) {
	var openai api.OpenAIModelList
	shared.srv.get(t, "/v1/models", &openai)
	ids := map[string]bool{}
	for _, d := range openai.Data {
		ids[d.ID] = true
	}
	if openai.Object != "list" || !ids["tiny-cls"] || !ids["bge-m3"] || ids["nv-embed-v2"] {
		t.Errorf("/v1/models: %+v", openai)
	}

	var models api.CatalogModelList
	shared.srv.get(t, "/models", &models)
	byName := map[string]int{}
	for i, m := range models.Data {
		byName[m.Name] = i
	}
	builtins, err := os.ReadFile("../models.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(string(builtins), "\n  - name: "); len(models.Data) != want+6 {
		t.Errorf("/models lists %d entries, want the %d built-ins and 6 of the test catalog", len(models.Data), want)
	}
	cls := models.Data[byName["tiny-cls"]]
	missing := models.Data[byName["tiny-missing"]]
	if !cls.Downloaded || !cls.Loaded || cls.Kind != "embedding" || missing.Downloaded || missing.Loaded {
		t.Errorf("states wrong: tiny-cls %+v, tiny-missing %+v", cls, missing)
	}

	// `models --json` prints GET /models' answer; the CLI loads nothing.
	res := runCLI(t, "models", "--json", "--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"))
	var printed api.CatalogModelList
	if err := json.Unmarshal([]byte(res.stdout), &printed); err != nil {
		t.Fatalf("models --json: exit %d, %v: %s", res.code, err, clip([]byte(res.stdout)))
	}
	for i := range models.Data {
		models.Data[i].Loaded = false
	}
	if !reflect.DeepEqual(printed, models) {
		t.Errorf("models --json differs from GET /models:\n%s", clip([]byte(res.stdout)))
	}
}
