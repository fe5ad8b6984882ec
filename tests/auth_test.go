package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// requestWithHeaders sends body (empty: none) with header name/value pairs
// and returns the answer with its body read.
func (sp *serverProcess) requestWithHeaders(t testing.TB, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, sp.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// serveSharedModels starts a server of its own on the shared test models.
func serveSharedModels(t *testing.T, args ...string) *serverProcess {
	t.Helper()
	return startServer(t, true, append([]string{
		"--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank",
	}, args...)...)
}

// The five API families a key guards, each with a request it serves.
var keyedRoutes = []struct {
	path, body string
	// message decodes the family's error envelope and returns its text.
	message func(raw []byte) (string, error)
}{
	{"/v1/embeddings", `{"input": "hello"}`, func(raw []byte) (string, error) {
		var e api.OpenAIErrorResponse
		err := json.Unmarshal(raw, &e)
		return e.Error.Message, err
	}},
	{"/v1/rerank", `{"query": "q", "documents": ["a", "b"]}`, func(raw []byte) (string, error) {
		var e api.CohereError
		err := json.Unmarshal(raw, &e)
		return e.Message, err
	}},
	{"/v2/embed", `{"model": "tiny-cls", "texts": ["hello"], "input_type": "search_document", "embedding_types": ["float"]}`, func(raw []byte) (string, error) {
		var e api.CohereError
		err := json.Unmarshal(raw, &e)
		return e.Message, err
	}},
	{"/api/embed", `{"model": "tiny-cls", "input": "hello"}`, func(raw []byte) (string, error) {
		var e api.OllamaError
		err := json.Unmarshal(raw, &e)
		return e.Error, err
	}},
	{"/embed", `{"inputs": "hello"}`, func(raw []byte) (string, error) {
		var e api.TEIError
		err := json.Unmarshal(raw, &e)
		return e.Error, err
	}},
}

// With --api-key and --api-key-file, each family's route answers 401 in its
// own envelope without a valid key, 200 with one in either header; the
// probes stay open; SIGHUP rereads the file, and a bad file keeps the old
// keys. No key reaches the log.
func TestAPIKeys(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	writeKeys := func(text string) {
		if err := os.WriteFile(keyFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeKeys("# team a\nfile-key-one\n\n")
	sp := serveSharedModels(t, "--api-key", "flag-key-a,flag-key-b", "--api-key-file", keyFile)

	for _, r := range keyedRoutes {
		for _, headers := range [][]string{nil, {"Authorization", "Bearer wrong-key"}} {
			resp, raw := sp.requestWithHeaders(t, http.MethodPost, r.path, r.body, headers...)
			msg, err := r.message(raw)
			if resp.StatusCode != http.StatusUnauthorized || err != nil || !strings.Contains(msg, "API key") {
				t.Errorf("POST %s %v: %d %s, want 401 in the route's envelope", r.path, headers, resp.StatusCode, raw)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("POST %s: WWW-Authenticate %q, X-Request-Id %q", r.path, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("X-Request-Id"))
			}
		}
		for _, headers := range [][]string{
			{"Authorization", "Bearer flag-key-b"},
			{"x-api-key", "flag-key-a"},
			{"Authorization", "Bearer file-key-one"},
		} {
			if resp, raw := sp.requestWithHeaders(t, http.MethodPost, r.path, r.body, headers...); resp.StatusCode != http.StatusOK {
				t.Errorf("POST %s with %v: %d %s, want 200", r.path, headers, resp.StatusCode, raw)
			}
		}
	}
	for path, want := range map[string]int{"/health": http.StatusOK, "/ready": http.StatusOK, "/info": http.StatusUnauthorized} {
		if resp, _ := sp.requestWithHeaders(t, http.MethodGet, path, ""); resp.StatusCode != want {
			t.Errorf("GET %s without a key: %d, want %d", path, resp.StatusCode, want)
		}
	}

	// A new key file takes over on SIGHUP: its key works, the old one not.
	writeKeys("file-key-two\n")
	if err := sp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, sp, "file-key-two", http.StatusOK)
	if resp, _ := sp.requestWithHeaders(t, http.MethodPost, "/embed", `{"inputs": "a"}`, "x-api-key", "file-key-one"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a key removed from the file still works after SIGHUP: %d", resp.StatusCode)
	}
	// An emptied file is refused and the keys in force stay.
	writeKeys("# nothing\n")
	if err := sp.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sp.stderr.String(), "not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the refused reload:\n%s", tail(sp.stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, _ := sp.requestWithHeaders(t, http.MethodPost, "/embed", `{"inputs": "a"}`, "x-api-key", "file-key-two"); resp.StatusCode != http.StatusOK {
		t.Errorf("after a refused reload, the previous key gets %d, want 200", resp.StatusCode)
	}
	if resp, _ := sp.requestWithHeaders(t, http.MethodPost, "/embed", `{"inputs": "a"}`, "x-api-key", "flag-key-a"); resp.StatusCode != http.StatusOK {
		t.Errorf("after reloads, the --api-key key gets %d, want 200", resp.StatusCode)
	}

	log := sp.stderr.String()
	for _, key := range []string{"flag-key-a", "flag-key-b", "file-key-one", "file-key-two", "wrong-key"} {
		if strings.Contains(log, key) {
			t.Errorf("the log holds the key %s", key)
		}
	}
}

// waitForStatus polls POST /embed with key until it gets want: a signal is
// handled asynchronously.
func waitForStatus(t *testing.T, sp *serverProcess, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, raw := sp.requestWithHeaders(t, http.MethodPost, "/embed", `{"inputs": "a"}`, "x-api-key", key)
		if resp.StatusCode == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("key %s: still %d %s after SIGHUP, want %d", key, resp.StatusCode, raw, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A key file with no key is refused at start, rather than serving without
// keys.
func TestEmptyKeyFileIsRefused(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("# revoked everyone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := launch(false, "--api-key-file", keyFile)
	if err == nil {
		sp.kill()
		t.Fatal("the server started with a key file holding no key")
	}
	if !strings.Contains(err.Error(), "holds no key") {
		t.Errorf("the error does not say why: %v", err)
	}
}
