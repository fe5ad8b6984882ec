package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// testModel is a generated model and the weights to check it against.
type testModel struct {
	name    string
	cfg     testmodel.Config
	weights *reference.Weights
}

// writeModels generates seeded random models as f32 GGUF files in dir.
func writeModels(dir string, models map[string]testmodel.Config) (map[string]*testModel, error) {
	out := map[string]*testModel{}
	for name, cfg := range models {
		w := testmodel.Generate(cfg)
		if err := testmodel.WriteGGUF(filepath.Join(dir, name+".gguf"), w, cfg, "f32"); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
		out[name] = &testModel{name: name, cfg: cfg, weights: w}
	}
	return out, nil
}

// serverProcess is a running bin/rerank-api.
type serverProcess struct {
	url     string
	cmd     *exec.Cmd
	stderr  *bytes.Buffer // written by the process until it exits
	exited  chan struct{}
	waitErr error
}

// binaryPath is the path of the binary under test: bin/rerank-api, which
// `make test` builds first, or the one RERANK_API_BINARY names (relative to
// the repository root; `make test-dist` runs the suite on dist/rerank-api).
// A binary older than any source it is built from is refused, so a stale
// build cannot pass (or fail) in the sources' name.
func binaryPath() (string, error) {
	binaryOnce.Do(func() {
		rel := os.Getenv("RERANK_API_BINARY")
		if rel == "" {
			rel = "bin/rerank-api"
		}
		binaryFound, binaryErr = freshBinary("..", rel)
	})
	return binaryFound, binaryErr
}

var (
	binaryOnce  sync.Once
	binaryFound string
	binaryErr   error
)

func freshBinary(root, rel string) (string, error) {
	path, err := filepath.Abs(filepath.Join(root, rel))
	if err != nil {
		return "", err
	}
	bin, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s is missing: run `make test` (it builds the binary) or `make build` first", path)
	}
	var newer string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// Build outputs, data, VCS metadata and this suite are not
			// the binary's sources.
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "tests" || name == "bin" || name == "dist" || name == "models") {
				return filepath.SkipDir
			}
			return nil
		}
		// models.yaml and eval/data's .gz sets are go:embed'ed.
		source := name == "go.mod" || name == "go.sum" || name == "models.yaml" || strings.HasSuffix(name, ".gz") ||
			(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) ||
			strings.HasSuffix(name, ".c") || strings.HasSuffix(name, ".h")
		if !source {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(bin.ModTime()) {
			newer = p
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if newer != "" {
		return "", fmt.Errorf("%s is older than %s: run `make test` (it builds the binary) or `make build` first", path, newer)
	}
	return path, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch runs `rerank-api serve` with args and waits until /ready answers
// 200 (or until /health answers, when wantReady is false).
func launch(wantReady bool, args ...string) (*serverProcess, error) {
	bin, err := binaryPath()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	all := append([]string{"serve", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--log-format", "json", "--threads", "2", "--offline"}, args...)
	cmd := exec.Command(bin, all...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sp := &serverProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, stderr: stderr}
	exited := make(chan struct{})
	go func() { sp.waitErr = cmd.Wait(); close(exited) }()
	sp.exited = exited
	path := "/health"
	if wantReady {
		path = "/ready"
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(sp.url + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return sp, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("server exited (%v); its log:\n%s", sp.waitErr, tail(stderr.String()))
		default:
		}
		if time.Now().After(deadline) {
			sp.kill()
			return nil, fmt.Errorf("server not ready within 60s (%v); its log:\n%s", err, tail(stderr.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServer launches a server owned by one test.
func startServer(t testing.TB, wantReady bool, args ...string) *serverProcess {
	t.Helper()
	sp, err := launch(wantReady, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sp.stop(); err != nil {
			t.Error(err)
		}
	})
	return sp
}

// stop ends the server with SIGINT and checks it exits cleanly: a crash
// (SIGABRT from a llama.cpp assert) shows up here.
func (sp *serverProcess) stop() error {
	_ = sp.cmd.Process.Signal(os.Interrupt)
	select {
	case <-sp.exited:
		if sp.waitErr != nil {
			return fmt.Errorf("server exited with %v; its log:\n%s", sp.waitErr, tail(sp.stderr.String()))
		}
		return nil
	case <-time.After(30 * time.Second):
		sp.kill()
		return fmt.Errorf("server did not stop within 30s")
	}
}

func (sp *serverProcess) kill() { _ = sp.cmd.Process.Kill() }

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// post sends a JSON body (a string is sent verbatim) and decodes the reply.
func (sp *serverProcess) post(t testing.TB, path string, body any, out any) *http.Response {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Post(sp.url+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: status %d, undecodable body %q: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp
}

func (sp *serverProcess) get(t testing.TB, path string, out any) *http.Response {
	t.Helper()
	resp, err := http.Get(sp.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp
}

// expectedEmbedding is the reference embedding of ids, pooled as the model
// is and L2-normalized, optionally cut to dims first.
func (m *testModel) expectedEmbedding(ids []int32, dims int) []float64 {
	types := make([]int32, len(ids))
	h := m.weights.Hidden(ids, types)
	mode := reference.PoolCLS
	if m.cfg.Pooling == "mean" {
		mode = reference.PoolMean
	}
	v := reference.Pool(h, mode)
	if dims > 0 {
		v = v[:dims]
	}
	return reference.Normalize(v)
}

// widen converts a served vector for comparison with another server's.
func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func maxAbsDiff(t testing.TB, got []float32, want []float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("vector has %d components, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		d := float64(got[i]) - want[i]
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
	}
	return worst
}

// serveCatalog writes catalog (a models.yaml) into dir and serves it with
// dir as the models directory.
func serveCatalog(t testing.TB, wantReady bool, dir, catalog string, args ...string) *serverProcess {
	t.Helper()
	path := filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(path, []byte(catalog), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, wantReady, append([]string{"--models-dir", dir, "--models-config", path}, args...)...)
}

// The suite refuses a binary built before its sources changed.
func TestStaleBinaryIsRefused(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, age time.Duration) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/rerank-api", time.Hour)
	write("server/server_test.go", 0) // tests are not built into the binary
	write("testdata/big.gguf", 0)
	if _, err := freshBinary(root, "bin/rerank-api"); err != nil {
		t.Fatalf("a binary newer than every source: %v", err)
	}
	write("backend/llama/shim.c", 0)
	if _, err := freshBinary(root, "bin/rerank-api"); err == nil || !strings.Contains(err.Error(), "shim.c") {
		t.Fatalf("a binary older than shim.c: %v, want an error naming it", err)
	}
}
