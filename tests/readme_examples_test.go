package tests

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeModels stand in for the default catalog's models in README's
// examples: the shared server has the tiny test models only. A Matryoshka
// cut to 256 dimensions becomes one within the tiny models' 64.
var readmeModels = strings.NewReplacer(
	`"bge-m3:latest"`, `"tiny-mean:latest"`,
	`"bge-m3"`, `"tiny-mean"`,
	`"bge-reranker-v2-m3"`, `"tiny-rank"`,
	`"jina-reranker-v2-multilingual"`, `"tiny-xlmr-rank"`,
	`"output_dimension": 256`, `"output_dimension": 32`,
)

// curlExample is one `curl -s localhost:7987/...` of README's "Use it":
// the path, and the body of a POST.
type curlExample struct{ path, body string }

var curlCommand = regexp.MustCompile(`(?s)curl -s localhost:7987(/\S*)(?:.*?-d '(.*?)')?$`)

// readmeCurlExamples reads the curl commands of README.md's "Use it",
// each with the lines it continues on: a trailing backslash, or a body
// still open.
func readmeCurlExamples(t *testing.T) []curlExample {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Only "Use it" shows the routes; other sections (Security) show a
	// header on a route already shown.
	_, use, found := strings.Cut(string(data), "\n## Use it\n")
	use, _, _ = strings.Cut(use, "\n## ")
	if !found {
		t.Fatal(`README.md has no "## Use it" section`)
	}
	var out []curlExample
	lines := strings.Split(use, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "curl -s localhost:7987/") {
			continue
		}
		cmd := lines[i]
		for strings.HasSuffix(cmd, `\`) || strings.Count(cmd, "'")%2 == 1 {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + "\n" + lines[i]
		}
		m := curlCommand.FindStringSubmatch(strings.TrimSpace(cmd))
		if m == nil {
			t.Fatalf("cannot read the curl command %q", cmd)
		}
		out = append(out, curlExample{path: m[1], body: m[2]})
	}
	return out
}

// README shows exactly one curl command per API family, and each works
// as written (the models aside) against the server, in its family's
// success shape.
func TestREADMECurlExamples(t *testing.T) {
	families := map[string]string{
		"/v1/embeddings": "OpenAI", "/v2/embed": "Cohere embed", "/v1/embed": "Cohere embed",
		"/v2/rerank": "Cohere rerank", "/v1/rerank": "Jina", "/embed": "TEI", "/embed_all": "TEI",
		"/rerank": "TEI", "/tokenize": "TEI", "/decode": "TEI", "/similarity": "TEI",
		"/api/embed": "Ollama", "/api/embeddings": "Ollama",
		"/ready": "server", "/health": "server", "/info": "server", "/models": "server", "/v1/models": "server", "/openapi.json": "server",
	}
	seen := map[string]string{}
	for _, ex := range readmeCurlExamples(t) {
		family, ok := families[ex.path]
		if !ok {
			t.Errorf("README's curl example of %s: no family known for it", ex.path)
			continue
		}
		if other, dup := seen[family]; dup {
			t.Errorf("%s has two curl examples in README, %s and %s: keep one", family, other, ex.path)
		}
		seen[family] = ex.path
		var r reply
		if ex.body == "" {
			r = shared.srv.send(t, http.MethodGet, ex.path, "", nil)
		} else {
			r = shared.srv.send(t, http.MethodPost, ex.path, "application/json", []byte(readmeModels.Replace(ex.body)))
		}
		if r.status != http.StatusOK {
			t.Errorf("README's curl example of %s: status %d: %s", ex.path, r.status, clip(r.body))
			continue
		}
		if ex.body != "" {
			checkReply(t, envelopeOf(ex.path, []byte(ex.body)), r)
		}
	}
	for _, family := range []string{"OpenAI", "Cohere embed", "Cohere rerank", "Jina", "TEI", "Ollama", "server"} {
		if seen[family] == "" {
			t.Errorf("README has no curl example for %s", family)
		}
	}
}

// README's routes table names every operation the server serves, as
// GET /openapi.json lists them (HEAD aside: every GET route takes it).
func TestREADMEListsEveryRoute(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Paths map[string]map[string]any }
	if r := shared.srv.get(t, "/openapi.json", &doc); r.StatusCode != http.StatusOK || len(doc.Paths) == 0 {
		t.Fatalf("/openapi.json: status %d, %d paths", r.StatusCode, len(doc.Paths))
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "head" {
				continue
			}
			if op := "`" + strings.ToUpper(method) + " " + path + "`"; !strings.Contains(string(data), op) {
				t.Errorf("README.md's routes table lacks %s", op)
			}
		}
	}
}
