package tests

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// getText fetches url and returns its status and body.
func getText(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// --pprof-addr serves Go's profiles on a listener of its own; the API port
// never does, with the flag or without it (the shared server's default).
func TestPprofOnItsOwnListener(t *testing.T) {
	if code, _ := getText(t, shared.srv.url+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the API port without --pprof-addr: %d, want 404", code)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	sp := startServer(t, false, "--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank", "--pprof-addr", fmt.Sprint(port))
	pprof := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := getText(t, pprof+"/debug/pprof/cmdline"); code != http.StatusOK || !strings.Contains(body, "--pprof-addr") {
		t.Errorf("GET /debug/pprof/cmdline: %d %q; want the server's command line", code, body)
	}
	if code, body := getText(t, pprof+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine: %d %.200q", code, body)
	}
	if code, _ := getText(t, sp.url+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on the API port with --pprof-addr: %d, want 404", code)
	}
}
