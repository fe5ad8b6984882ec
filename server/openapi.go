package server

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/mux"
)

// openAPIVersion is the OpenAPI version of GET /openapi.json: 3.0, which
// more tools read than 3.1.
const openAPIVersion = "3.0.3"

// openAPI serves GET /openapi.json: an OpenAPI document of every route r
// serves. Schemas come from the wire types in api/ by reflection
// (openapi_schema.go) and each route's types and summary from
// openAPIOperations; the paths come from walking r, and a route with no
// entry there (or an entry with no route) fails the document, so neither
// can be added alone (TestOpenAPIDocumentsEveryRoute).
func (s *server) openAPI(r *mux.Router) http.HandlerFunc {
	build := sync.OnceValues(func() ([]byte, error) {
		doc, err := openAPIDocument(r, s.cfg.Info.Version)
		if err != nil {
			return nil, err
		}
		return json.Marshal(doc)
	})
	return func(w http.ResponseWriter, req *http.Request) {
		body, err := build()
		if err != nil {
			writeError(w, req, fmt.Errorf("building the OpenAPI document: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// routeKey names one operation: "POST /embed".
func routeKey(method, path string) string { return method + " " + path }

// openAPIDocument walks r and describes each of its routes.
func openAPIDocument(r *mux.Router, version string) (map[string]any, error) {
	ops := map[string]openAPIOperation{}
	for _, op := range openAPIOperations {
		for _, m := range op.methods {
			ops[routeKey(m, op.path)] = op
		}
	}
	b := newSchemaBuilder()
	paths := map[string]map[string]any{}
	seen := map[string]bool{}
	var missing []string
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := route.GetMethods()
		if err != nil {
			return fmt.Errorf("route %s has no methods: %w", path, err)
		}
		for _, m := range methods {
			op, ok := ops[routeKey(m, path)]
			if !ok {
				missing = append(missing, routeKey(m, path))
				continue
			}
			seen[routeKey(m, path)] = true
			if paths[path] == nil {
				paths[path] = map[string]any{}
			}
			paths[path][strings.ToLower(m)] = op.describe(b, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for key := range ops {
		if !seen[key] {
			missing = append(missing, key+" (described, but the router has no such route)")
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("routes without a description in openAPIOperations: %s", strings.Join(missing, ", "))
	}
	return map[string]any{
		"openapi": openAPIVersion,
		"info": map[string]any{
			"title":       "rerank-api",
			"version":     cmp.Or(version, "dev"),
			"description": "Text embeddings and reranking from GGUF models, wire-compatible with OpenAI, Cohere, Jina, Hugging Face TEI and Ollama clients.",
		},
		"paths":      paths,
		"components": map[string]any{"schemas": b.components},
	}, nil
}

// openAPIOperation describes the route(s) at path with methods. request
// and responses are zero values of wire types (nil: no body); several are
// alternatives (oneOf), as /rerank takes TEI's request or Cohere's.
type openAPIOperation struct {
	path     string
	methods  []string
	tag      string // the API family, which groups operations in viewers
	summary  string
	request  []any
	response []any
	// responseType is the 200's media type when it is not JSON.
	responseType string
	// errors are the error statuses the route answers besides "default";
	// errorBody is its family's envelope (several for /rerank).
	errors    []int
	errorBody []any
}

func (op openAPIOperation) describe(b *schemaBuilder, method string) map[string]any {
	out := map[string]any{
		"operationId": operationID(method, op.path),
		"summary":     op.summary,
		"tags":        []string{op.tag},
	}
	if len(op.request) > 0 && method != http.MethodGet && method != http.MethodHead {
		out["requestBody"] = map[string]any{
			"required": true,
			"content":  jsonContent(b, op.request),
		}
	}
	responses := map[string]any{
		"200":     map[string]any{"description": "OK", "content": content(b, cmp.Or(op.responseType, "application/json"), op.response)},
		"default": map[string]any{"description": "Error", "content": jsonContent(b, op.errorBody)},
	}
	for _, status := range op.errors {
		responses[strconv.Itoa(status)] = map[string]any{
			"description": http.StatusText(status),
			"content":     jsonContent(b, op.errorBody),
		}
	}
	out["responses"] = responses
	return out
}

func jsonContent(b *schemaBuilder, alts []any) map[string]any {
	return content(b, "application/json", alts)
}

func content(b *schemaBuilder, mediaType string, alts []any) map[string]any {
	return map[string]any{mediaType: map[string]any{"schema": b.oneOf(alts)}}
}

// operationID is e.g. "post_v1_embeddings", unique per method and path.
func operationID(method, path string) string {
	return strings.ToLower(method) + strings.NewReplacer("/", "_", ".", "_").Replace(path)
}
