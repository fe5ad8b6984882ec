package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// replicaArgs serve the shared server's models (tiny-cls as the default,
// no default reranker) from a process of a test's own, which it may stop.
func replicaArgs(args ...string) []string {
	return append([]string{"--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--embedding-model", "tiny-cls", "--reranker-model="}, args...)
}

// referenceChecker returns a check of an OpenAI embeddings answer for
// inputs through model against the reference, computed once here; the
// check returns what is wrong, so load tests can call it off the test's
// goroutine.
func referenceChecker(model string, inputs []string) func(status int, body []byte) error {
	m := shared.models[model]
	want := make([][]float64, len(inputs))
	for i, text := range inputs {
		want[i] = m.expectedEmbedding(m.ids(text), 0)
	}
	return func(status int, body []byte) error {
		var resp api.OpenAIEmbeddingResponse
		if err := json.Unmarshal(body, &resp); err != nil || status != http.StatusOK || len(resp.Data) != len(inputs) {
			return fmt.Errorf("status %d, %d vectors for %d inputs (%v): %s", status, len(resp.Data), len(inputs), err, clip(body))
		}
		for i := range inputs {
			got, ok := resp.Data[i].Embedding.([]any)
			if !ok || len(got) != len(want[i]) {
				return fmt.Errorf("input %d: embedding %T of %d components, want %d", i, resp.Data[i].Embedding, len(got), len(want[i]))
			}
			for j, x := range got {
				if f, _ := x.(float64); f-want[i][j] > tolerance || want[i][j]-f > tolerance {
					return fmt.Errorf("input %d (%q) component %d is %v, the reference %v", i, inputs[i], j, f, want[i][j])
				}
			}
		}
		return nil
	}
}

// heldRequest is a request whose body is all sent but its last bytes: the
// server has called its handler (net/http does once the headers are in),
// so the request is in progress, and it cannot finish until finish.
type heldRequest struct {
	conn net.Conn
	rest []byte
}

func holdRequest(t *testing.T, sp *serverProcess, path string, body []byte) *heldRequest {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(sp.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cut := len(body) - 8
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, len(body), body[:cut]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // for the server to read the headers and start the handler
	return &heldRequest{conn, body[cut:]}
}

// finish sends the rest of the body and reads the answer.
func (h *heldRequest) finish(t *testing.T) reply {
	t.Helper()
	if _, err := h.conn.Write(h.rest); err != nil {
		t.Fatal(err)
	}
	_ = h.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		t.Fatalf("no answer to the held request: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Close {
		// net/http takes "Connection: close" out of the headers it reads
		// and says so here instead; put it back for the test to see.
		resp.Header.Set("Connection", "close")
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// waitReadyStatus polls GET /ready until it answers want, for at most 2 s.
func waitReadyStatus(t *testing.T, sp *serverProcess, want int) {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(sp.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("GET /ready did not answer %d within 2s of SIGTERM (last: %v %v)", want, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// On SIGTERM: /ready turns 503 at once, a new request gets 503 with
// Retry-After in its route's envelope, a large request in progress
// finishes with a correct answer, and the process exits 0 well within
// --shutdown-timeout.
func TestDrainOnSIGTERM(t *testing.T) {
	sp := startServer(t, true, replicaArgs("--max-client-batch-size", "1000", "--payload-limit", "1000000", "--shutdown-timeout", "20s")...)
	inputs := make([]string, 500)
	for i := range inputs {
		inputs[i] = texts[i%len(texts)]
	}
	held := holdRequest(t, sp, "/v1/embeddings", mustJSON(map[string]any{"model": "tiny-cls", "input": inputs}))

	signalled := time.Now()
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitReadyStatus(t, sp, http.StatusServiceUnavailable)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/embeddings", `{"model": "tiny-cls", "input": "hello"}`, `"code":"shutting_down"`},
		{"/embed", `{"inputs": "hello"}`, `"error_type":"Unhealthy"`},
	} {
		r, err := postRaw(sp.url+tc.path, []byte(tc.body))
		if err != nil {
			t.Fatalf("POST %s while draining: %v", tc.path, err)
		}
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), tc.want) ||
			r.header.Get("Retry-After") == "" || r.header.Get("Connection") != "close" {
			t.Errorf("POST %s while draining = %d %v %s, want 503 with Retry-After, Connection: close and %s",
				tc.path, r.status, r.header, clip(r.body), tc.want)
		}
	}
	select {
	case <-sp.exited:
		t.Fatalf("the server exited with a request in progress (%v)", sp.waitErr)
	default:
	}

	r := held.finish(t)
	if err := referenceChecker("tiny-cls", inputs)(r.status, r.body); err != nil {
		t.Errorf("the request in progress at SIGTERM: %v", err)
	}
	if r.header.Get("Connection") != "close" {
		t.Errorf("the request in progress at SIGTERM was answered without Connection: close: %v", r.header)
	}
	select {
	case <-sp.exited:
		if sp.waitErr != nil {
			t.Fatalf("exited with %v; its log:\n%s", sp.waitErr, tail(sp.stderr.String()))
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after its last request finished")
	}
	t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
}

// A second SIGTERM while draining ends the process at once, with a
// failure status, without waiting for the request in progress.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	sp, err := launch(true, replicaArgs("--shutdown-timeout", "60s")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.kill)
	holdRequest(t, sp, "/v1/embeddings", mustJSON(map[string]any{"model": "tiny-cls", "input": "hello"}))
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitReadyStatus(t, sp, http.StatusServiceUnavailable)
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sp.exited:
		if sp.waitErr == nil {
			t.Error("exited 0 with a request cut off, want a failure status")
		}
		if !strings.Contains(sp.stderr.String(), "second signal") {
			t.Errorf("the log does not say why it exited:\n%s", tail(sp.stderr.String()))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5s after the second SIGTERM")
	}
}

// A request still running when --shutdown-timeout runs out is cancelled:
// its queued work is dropped, it answers 503 (which a client or load
// balancer retries, unlike a dropped connection), and the exit status says
// the drain was cut short.
func TestShutdownTimeoutCutsOff(t *testing.T) {
	sp, err := launch(true, replicaArgs("--shutdown-timeout", "300ms", "--max-batch-tokens", "32",
		"--max-client-batch-size", "20000", "--payload-limit", "10000000")...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.kill)
	// 20,000 inputs of 32 tokens encoded one per call: seconds of work on
	// any machine.
	inputs := make([]string, 20000)
	for i := range inputs {
		inputs[i] = strings.TrimSpace(strings.Repeat("the river ", 15))
	}
	body := mustJSON(map[string]any{"model": "tiny-cls", "input": inputs})
	answer := make(chan reply, 1)
	go func() {
		r, err := postRaw(sp.url+"/v1/embeddings", body)
		if err != nil {
			r = reply{body: []byte(err.Error())}
		}
		answer <- r
	}()
	time.Sleep(500 * time.Millisecond) // sent and being worked on
	if err := sp.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-answer:
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"code":"shutting_down"`) ||
			!strings.Contains(string(r.body), "--shutdown-timeout") || r.header.Get("Retry-After") == "" {
			t.Errorf("the request cut off = %d %v %s, want 503 shutting_down naming --shutdown-timeout, with Retry-After",
				r.status, r.header, clip(r.body))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no answer 15s after SIGTERM with a 300ms shutdown timeout")
	}
	select {
	case <-sp.exited:
		if sp.waitErr == nil {
			t.Error("exited 0 after cutting a request off, want a failure status")
		}
		if log := sp.stderr.String(); !strings.Contains(log, "cancelling the requests still in progress") {
			t.Errorf("the log does not say requests were cancelled:\n%s", tail(log))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15s after SIGTERM with a 300ms shutdown timeout")
	}
}
