package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// blockingEngine answers embeddings only once release is closed, and says
// on entered when a request has reached it.
func blockingEngine() (engine *fakeEngine, entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 16), make(chan struct{})
	engine = &fakeEngine{embed: func(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &backend.EmbedResult{Model: "m", Vectors: [][]float32{vectorFor(0, fakeDims)}}, nil
	}}
	return engine, entered, release
}

// A shutdown in its three steps: once unready, /ready answers 503 and new
// requests are still served; once rejecting, new requests get 503 with
// Retry-After in their route's envelope while the one in progress goes on
// to a 200; Wait returns when it has. From the first step on, every
// response closes its connection.
func TestDrain(t *testing.T) {
	engine, entered, release := blockingEngine()
	d := &Drain{}
	h := newTestServer(engine, Config{Drain: d})
	embed := `{"input":"a"}`

	if rec := do(t, h, http.MethodGet, "/health", ""); rec.Header().Get("Connection") == "close" {
		t.Error("a serving server closes connections")
	}
	inFlight := make(chan *httptest.ResponseRecorder, 1)
	go func() { inFlight <- do(t, h, http.MethodPost, "/v1/embeddings", embed) }()
	<-entered

	d.Unready()
	rec := do(t, h, http.MethodGet, "/ready", "")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(decode[api.Health](t, rec).Error, "shutting down") {
		t.Errorf("GET /ready once unready = %d %s, want 503 saying the server is shutting down", rec.Code, rec.Body)
	}
	served := make(chan *httptest.ResponseRecorder, 1)
	go func() { served <- do(t, h, http.MethodPost, "/v1/embeddings", embed) }()
	<-entered
	d.Reject()

	for _, tc := range []struct{ path, body, want string }{
		{"/v1/embeddings", embed, `"code":"shutting_down"`},
		{"/embed", `{"inputs":"a"}`, `"error_type":"Unhealthy"`},
		{"/v1/rerank", `{"query":"q","documents":["a"]}`, `"message":"the server is shutting down`},
		{"/api/embed", `{"input":"a"}`, `{"error":"the server is shutting down`},
	} {
		rec := do(t, h, http.MethodPost, tc.path, tc.body)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("POST %s while rejecting = %d %s, want 503 with %s", tc.path, rec.Code, rec.Body, tc.want)
		}
		if rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Connection") != "close" {
			t.Errorf("POST %s while rejecting: headers %v, want Retry-After: 1 and Connection: close", tc.path, rec.Header())
		}
	}
	if rec := do(t, h, http.MethodGet, "/health", ""); rec.Code != http.StatusOK || rec.Header().Get("Connection") != "close" {
		t.Errorf("GET /health while rejecting = %d %v, want 200 closing the connection", rec.Code, rec.Header())
	}

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n := d.Wait(short); n != 2 {
		t.Errorf("Wait with both requests still running = %d, want 2", n)
	}
	close(release)
	if n := d.Wait(context.Background()); n != 0 {
		t.Errorf("Wait after they finished = %d, want 0", n)
	}
	for name, ch := range map[string]chan *httptest.ResponseRecorder{"in progress at SIGTERM": inFlight, "sent while unready": served} {
		rec := <-ch
		if rec.Code != http.StatusOK || rec.Header().Get("Connection") != "close" {
			t.Errorf("the request %s = %d %v %s, want 200 closing the connection", name, rec.Code, rec.Header(), rec.Body)
		}
	}
	if n := d.Wait(context.Background()); n != 0 {
		t.Errorf("a second Wait = %d, want 0", n)
	}
}

// Without a Drain the server never drains; a Drain that waits with nothing
// in progress returns at once.
func TestDrainIdle(t *testing.T) {
	var d *Drain
	if d.Draining() {
		t.Error("a nil Drain drains")
	}
	d = &Drain{}
	d.Reject()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := d.Wait(ctx); n != 0 {
		t.Errorf("Wait with nothing in progress = %d", n)
	}
}
