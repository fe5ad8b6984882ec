package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// load is clients calling their function again and again until end; the
// first error of each goes to errs and ends that client.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	errs chan error
}

func newLoad() *load { return &load{stop: make(chan struct{}), errs: make(chan error, 64)} }

// run starts n clients; each calls call with its number.
func (l *load) run(n int, call func(client int) error) {
	for c := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if err := call(c); err != nil {
					l.errs <- err
					return
				}
			}
		}()
	}
}

// end stops the clients and waits for them.
func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

// postRaw posts body and returns the status, headers and body, or the
// transport error.
func postRaw(url string, body []byte) (reply, error) {
	resp, err := robustClient.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if resp.Close {
		resp.Header.Set("Connection", "close") // taken out by net/http, which says so here
	}
	return reply{resp.StatusCode, resp.Header, raw}, err
}

// A model busier than --max-concurrent-requests-per-model gets 429 with
// Retry-After in each route's envelope, its other requests are answered
// correctly, and a client of another model meanwhile is never refused:
// the busy model holds one of the server's three slots at most.
func TestOverload429(t *testing.T) {
	sp := startServer(t, true, replicaArgs("--max-concurrent-requests", "3", "--max-concurrent-requests-per-model", "1")...)
	inputs := make([]string, 64)
	for i := range inputs {
		inputs[i] = texts[4]
	}
	hot := map[string][]byte{
		"/v1/embeddings": mustJSON(map[string]any{"model": "tiny-cls", "input": inputs}),
		"/embed":         mustJSON(map[string]any{"model": "tiny-cls", "inputs": inputs}),
	}
	envelope := map[string]string{"/v1/embeddings": `"code":"overloaded"`, "/embed": `"error_type":"Overloaded"`}
	other := mustJSON(map[string]any{"model": "tiny-mean", "input": texts})
	checkHot, checkOther := referenceChecker("tiny-cls", inputs), referenceChecker("tiny-mean", texts)
	if _, err := postRaw(sp.url+"/v1/embeddings", other); err != nil { // loads tiny-mean
		t.Fatal(err)
	}

	var refused, served, otherServed atomic.Int32
	clients := newLoad()
	clients.run(8, func(c int) error {
		path := "/v1/embeddings"
		if c%2 == 1 {
			path = "/embed"
		}
		r, err := postRaw(sp.url+path, hot[path])
		switch {
		case err != nil:
			return err
		case r.status == http.StatusTooManyRequests:
			refused.Add(1)
			time.Sleep(10 * time.Millisecond) // less than Retry-After asks, to keep the pressure on
			if body := string(r.body); r.header.Get("Retry-After") != "1" || !strings.Contains(body, envelope[path]) ||
				!strings.Contains(body, "--max-concurrent-requests-per-model") || !strings.Contains(body, "tiny-cls") {
				return fmt.Errorf("%s: 429 with Retry-After %q, body %s; want Retry-After 1, %s, the model and the flag",
					path, r.header.Get("Retry-After"), clip(r.body), envelope[path])
			}
		case r.status == http.StatusOK:
			served.Add(1)
			if path == "/v1/embeddings" { // TEI's shape carries the same vectors
				return checkHot(r.status, r.body)
			}
		default:
			return fmt.Errorf("%s: status %d: %s", path, r.status, clip(r.body))
		}
		return nil
	})
	clients.run(1, func(int) error {
		r, err := postRaw(sp.url+"/v1/embeddings", other)
		if err == nil {
			err = checkOther(r.status, r.body)
		}
		if err != nil {
			return fmt.Errorf("the other model's client: %w", err)
		}
		otherServed.Add(1)
		return nil
	})
	deadline := time.After(20 * time.Second)
	for refused.Load() < 20 || otherServed.Load() < 20 || served.Load() < 5 {
		select {
		case err := <-clients.errs:
			clients.end()
			t.Fatal(err)
		case <-deadline:
			clients.end()
			t.Fatalf("after 20s: %d refused, %d served, %d of the other model's served; want 20, 5 and 20",
				refused.Load(), served.Load(), otherServed.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
	clients.end()
	close(clients.errs)
	for err := range clients.errs {
		t.Error(err)
	}
	t.Logf("%d refused with 429, %d served; the other model's client: %d served", refused.Load(), served.Load(), otherServed.Load())
}

// A request still running at --request-timeout gets 504 in its envelope,
// naming the limit, and the server goes on serving.
func TestRequestTimeout504(t *testing.T) {
	// Long enough for a quick request on a busy 2-core machine.
	sp := startServer(t, true, replicaArgs("--request-timeout", "2s")...)
	// The clock starts when the handler does: a body held back for longer
	// than the timeout leaves the request no time for its model work.
	held := holdRequest(t, sp, "/v1/embeddings", mustJSON(map[string]any{"model": "tiny-cls", "input": texts}))
	time.Sleep(2 * time.Second)
	r := held.finish(t)
	if body := string(r.body); r.status != http.StatusGatewayTimeout || !strings.Contains(body, `"code":"timeout"`) ||
		!strings.Contains(body, "--request-timeout") || !strings.Contains(body, "2s") {
		t.Errorf("a request past the timeout = %d %s, want 504 with code timeout naming --request-timeout and 2s", r.status, clip(r.body))
	}
	r = sp.send(t, http.MethodPost, "/v1/embeddings", "application/json", mustJSON(map[string]any{"model": "tiny-cls", "input": texts}))
	if err := referenceChecker("tiny-cls", texts)(r.status, r.body); err != nil {
		t.Errorf("a request within the timeout: %v", err)
	}
}
