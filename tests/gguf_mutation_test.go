package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A server asked for hundreds of corrupt GGUFs answers every request with
// a JSON error that gives the reason, keeps /health at 200 and keeps
// serving its good model: no file aborts the process. Each mutant is
// loaded by the real binary; when one kills it, the test names it and
// starts a fresh server for the rest, so one run lists every gap.
func TestCorruptGGUFsNeverAbortTheServer(t *testing.T) {
	dir := t.TempDir()
	bases := map[string]testmodel.Config{"good": testmodel.Tiny(41, "cls"), "rank": testmodel.Tiny(42, "rank"), "xlmr": xlmrStyle(43)}
	if _, err := writeModels(dir, bases); err != nil {
		t.Fatal(err)
	}
	var catalog strings.Builder
	catalog.WriteString("models:\n  - {name: good, kind: embedding, file: good.gguf}\n")
	kinds, edits := map[string]string{}, map[string]string{}
	total := 0
	for _, base := range []string{"good", "rank", "xlmr"} {
		path := filepath.Join(dir, base+".gguf")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := gguf.ReadMetadata(path)
		if err != nil {
			t.Fatal(err)
		}
		kind := "rerank"
		if base == "good" {
			kind = "embedding"
		}
		for _, m := range mutateGGUF(base, raw, meta, int64(len(base))) {
			name := fmt.Sprintf("m%03d", total)
			total++
			if err := os.WriteFile(filepath.Join(dir, name+".gguf"), m.data, 0o644); err != nil {
				t.Fatal(err)
			}
			kinds[name], edits[name] = kind, m.name
			pooling := ""
			if kind == "rerank" {
				pooling = ", pooling: rank"
			}
			fmt.Fprintf(&catalog, "  - {name: %s, kind: %s%s, file: %s.gguf, description: %q}\n", name, kind, pooling, name, m.name)
		}
	}
	if total < 200 {
		t.Fatalf("only %d mutants", total)
	}
	args := []string{"--embedding-model", "good", "--reranker-model", "", "--keep-alive", "0", "--max-batch-tokens", "256"}
	sp := serveCatalog(t, true, dir, catalog.String(), args...)
	want := embedOnce(t, sp, "good")

	counts := map[string]int{}
	var aborted []string
	for i := range total {
		name := fmt.Sprintf("m%03d", i)
		status, msg, err := tryModel(sp, name, kinds[name])
		if err != nil {
			select {
			case <-sp.exited:
			case <-time.After(5 * time.Second):
			}
			aborted = append(aborted, fmt.Sprintf("%s %s: %v: %s", name, edits[name], err, crashCause(sp.stderr.String())))
			sp.kill()
			sp = serveCatalog(t, true, dir, catalog.String(), args...)
			continue
		}
		if testing.Verbose() {
			t.Logf("%s %s: %d %.200s", name, edits[name], status, msg)
		}
		switch {
		case status == http.StatusOK:
			counts["served"]++ // the edit did not matter to llama.cpp
		case status == http.StatusServiceUnavailable && strings.Contains(msg, "invalid GGUF"):
			counts["refused by the Go check"]++
		case status == http.StatusServiceUnavailable && strings.Contains(msg, "cannot load model"):
			counts["refused by llama.cpp"]++ // backend/llama's wording for llama.cpp's own error
		case status == http.StatusServiceUnavailable:
			counts["refused by the Go reader"]++ // gguf.ReadMetadata, or sizing the contexts
		case status >= 400 && status < 500 && msg != "":
			counts[fmt.Sprintf("answered %d", status)]++
		default:
			t.Errorf("%s: status %d, message %q: want 200, a 4xx or 503 with a reason", name, status, msg)
		}
		if status != http.StatusOK && msg == "" {
			t.Errorf("%s: status %d without a reason", name, status)
		}
		if i%25 == 0 {
			if got := embedOnce(t, sp, "good"); !bytes.Equal(got, want) {
				t.Fatalf("after %s the good model answers differently", name)
			}
		}
	}
	if r, err := http.Get(sp.url + "/health"); err != nil || r.StatusCode != http.StatusOK {
		t.Errorf("/health after every mutant: %v %v", r, err)
	}
	t.Logf("%d mutants: %v", total, counts)
	if len(aborted) > 0 {
		t.Errorf("%d mutants killed the server:\n%s", len(aborted), strings.Join(aborted, "\n"))
	}
}

// tryModel asks the server to use model once and returns the status and
// the error message, or a transport error when the server is gone.
func tryModel(sp *serverProcess, model, kind string) (int, string, error) {
	path, body := "/v1/embeddings", map[string]any{"model": model, "input": "hello world"}
	if kind == "rerank" {
		path, body = "/v1/rerank", map[string]any{"model": model, "query": "hello", "documents": []string{"world", "hello there"}}
	}
	raw, _ := json.Marshal(body)
	resp, err := robustClient.Post(sp.url+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "", nil
	}
	var e struct {
		Message string `json:"message"` // Cohere's envelope
		Error   struct {
			Message string `json:"message"`
		} `json:"error"` // OpenAI's
	}
	if err := json.Unmarshal(out, &e); err != nil {
		return resp.StatusCode, "", nil
	}
	return resp.StatusCode, e.Message + e.Error.Message, nil
}

// embedOnce is model's answer to a fixed input, as raw JSON data.
func embedOnce(t *testing.T, sp *serverProcess, model string) []byte {
	t.Helper()
	var out struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
	}
	if r := sp.post(t, "/v1/embeddings", map[string]any{"model": model, "input": "hello world"}, &out); r.StatusCode != http.StatusOK || len(out.Data) != 1 {
		t.Fatalf("%s: status %d", model, r.StatusCode)
	}
	return out.Data[0].Embedding
}

// crashCause picks the lines of a dead server's log that say why it died:
// a GGML_ASSERT, an uncaught C++ exception, a signal.
func crashCause(log string) string {
	var cause []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "GGML_ASSERT") || strings.Contains(line, "terminate") || strings.Contains(line, "what()") ||
			strings.HasPrefix(line, "SIG") || strings.HasPrefix(line, "fatal error") {
			cause = append(cause, strings.TrimSpace(line))
		}
	}
	return strings.Join(cause, " | ")
}
