package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// GET /openapi.json describes every route of the router, each one that
// exists, in a structurally valid OpenAPI 3 document whose references all
// resolve; the schemas are the wire types'.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	rec := do(t, h, http.MethodGet, "/openapi.json", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	doc := decode[map[string]any](t, rec)
	checkOpenAPIStructure(t, doc)

	// Every documented operation is served: no 404 or 405 for it.
	paths := doc["paths"].(map[string]any)
	for path, item := range paths {
		for method := range item.(map[string]any) {
			method = strings.ToUpper(method)
			rec := do(t, h, method, path, "{}")
			if rec.Code == http.StatusNotFound && !strings.Contains(rec.Body.String(), "model") || rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s is documented but answers %d: %s", method, path, rec.Code, rec.Body)
			}
		}
	}
	for _, want := range []string{"/embed_all", "/openapi.json", "/v1/embeddings", "/v2/rerank", "/api/embed", "/decode", "/similarity"} {
		if paths[want] == nil {
			t.Errorf("%s is not documented", want)
		}
	}

	// The schemas are the wire types': /embed_all's request and answer.
	embedAll := paths["/embed_all"].(map[string]any)["post"].(map[string]any)
	body := dig(t, embedAll, "requestBody", "content", "application/json", "schema", "$ref")
	if body != "#/components/schemas/TEIEmbedAllRequest" {
		t.Fatalf("/embed_all's request is %v", body)
	}
	props := dig(t, doc, "components", "schemas", "TEIEmbedAllRequest", "properties").(map[string]any)
	for _, field := range []string{"inputs", "truncate", "truncation_direction", "prompt_name", "model"} {
		if props[field] == nil {
			t.Errorf("TEIEmbedAllRequest has no %q: %v", field, props)
		}
	}
	if alts := dig(t, props, "inputs", "oneOf").([]any); len(alts) != 4 {
		t.Errorf("inputs has %d alternatives, want string, strings, ids and lists of ids", len(alts))
	}
	answer := dig(t, embedAll, "responses", "200", "content", "application/json", "schema")
	if got, _ := json.Marshal(answer); string(got) != `{"items":{"items":{"items":{"type":"number"},"type":"array"},"type":"array"},"type":"array"}` {
		t.Errorf("/embed_all answers %s, want [[[number]]]", got)
	}
	if dig(t, embedAll, "responses", "400", "content", "application/json", "schema", "$ref") != "#/components/schemas/TEIError" {
		t.Error("/embed_all's errors are not TEI's envelope")
	}
}

// The document refuses a route it does not describe, and a description of
// a route the router lacks.
func TestOpenAPIDocumentNeedsEveryRoute(t *testing.T) {
	r := mux.NewRouter()
	for _, op := range openAPIOperations {
		r.HandleFunc(op.path, func(http.ResponseWriter, *http.Request) {}).Methods(op.methods...)
	}
	if _, err := openAPIDocument(r, "1"); err != nil {
		t.Fatalf("with every route: %v", err)
	}
	r.HandleFunc("/undocumented", func(http.ResponseWriter, *http.Request) {}).Methods(http.MethodPost)
	if _, err := openAPIDocument(r, "1"); err == nil || !strings.Contains(err.Error(), "POST /undocumented") {
		t.Errorf("an undocumented route: %v", err)
	}
	partial := mux.NewRouter()
	partial.HandleFunc("/health", func(http.ResponseWriter, *http.Request) {}).Methods(http.MethodGet, http.MethodHead)
	if _, err := openAPIDocument(partial, "1"); err == nil || !strings.Contains(err.Error(), "POST /embed_all") {
		t.Errorf("documented routes the router lacks: %v", err)
	}
	// The server answers a document it cannot build with an error, not a
	// partial document.
	rec := httptest.NewRecorder()
	(&server{}).openAPI(partial)(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("a broken document: status %d", rec.Code)
	}
}

// checkOpenAPIStructure checks what OpenAPI 3.0 requires of the parts the
// document uses: the version, info's title and version, paths starting
// with "/" holding operations by method, each with a unique operationId
// and responses that have descriptions, and $refs that resolve.
func checkOpenAPIStructure(t *testing.T, doc map[string]any) {
	t.Helper()
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Errorf("openapi = %v, want 3.x", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if title, _ := info["title"].(string); title == "" {
		t.Error("info.title is missing")
	}
	if version, _ := info["version"].(string); version == "" {
		t.Error("info.version is missing")
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("paths is missing")
	}
	methods := []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	ids := map[string]bool{}
	for path, item := range paths {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		for method, op := range item.(map[string]any) {
			if !slices.Contains(methods, method) {
				t.Errorf("%s: %q is not an HTTP method", path, method)
				continue
			}
			op := op.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or not unique", method, path, id)
			}
			ids[id] = true
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
			for status, resp := range responses {
				if d, _ := resp.(map[string]any)["description"].(string); d == "" {
					t.Errorf("%s %s: response %s has no description", method, path, status)
				}
			}
		}
	}
	schemas := dig(t, doc, "components", "schemas").(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if !found || schemas[name] == nil {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// dig follows keys through nested JSON objects.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("no %q in %v", k, v)
		}
		v = m[k]
	}
	return v
}
