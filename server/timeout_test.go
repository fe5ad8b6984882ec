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

// A request that outlives --request-timeout has its context cancelled
// (which is what drops its queued work in the batcher) and gets a 504 in
// its route's envelope naming the limit; without the flag the context has
// no deadline.
func TestRequestTimeout(t *testing.T) {
	engine, _, _ := blockingEngine()
	h := newTestServer(engine, Config{RequestTimeout: 30 * time.Millisecond})

	start := time.Now()
	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the request took %v with a 30ms timeout", took)
	}
	got := decode[openAIErrorBody](t, rec)
	if rec.Code != http.StatusGatewayTimeout || string(got.Error.Code) != `"timeout"` || got.Error.Type != "server_error" ||
		!strings.Contains(got.Error.Message, "30ms") || !strings.Contains(got.Error.Message, "--request-timeout") {
		t.Errorf("OpenAI route past the timeout = %d %s, want 504 code timeout naming 30ms and --request-timeout", rec.Code, rec.Body)
	}
	engine.mu.Lock()
	ctx := engine.contexts[0]
	engine.mu.Unlock()
	if ctx.Err() != context.DeadlineExceeded {
		t.Errorf("the engine's context ended with %v, want DeadlineExceeded", ctx.Err())
	}

	rec = do(t, h, http.MethodPost, "/embed", `{"inputs":"a"}`)
	if tei := decode[api.TEIError](t, rec); rec.Code != http.StatusGatewayTimeout || !strings.Contains(tei.Error, "--request-timeout") {
		t.Errorf("TEI route past the timeout = %d %s", rec.Code, rec.Body)
	}

	quick := &fakeEngine{}
	do(t, newTestServer(quick, Config{}), http.MethodPost, "/v1/embeddings", `{"input":"a"}`)
	if _, ok := quick.contexts[0].Deadline(); ok {
		t.Error("without --request-timeout the request's context has a deadline")
	}
}

// An engine overload is TEI's 429 with Retry-After in every envelope, and a
// model that cannot serve stays a 503.
func TestOverloadIs429(t *testing.T) {
	h := newTestServer(&fakeEngine{embed: engineError(backend.ErrOverloaded, "8 requests in progress")}, Config{})
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/embeddings", `{"input":"a"}`, `"code":"overloaded"`},
		{"/embed", `{"inputs":"a"}`, `"error_type":"Overloaded"`},
		{"/v2/embed", `{"model":"m","texts":["a"],"input_type":"search_query","embedding_types":["float"]}`, `"message":"`},
		{"/api/embed", `{"model":"m","input":"a"}`, `{"error":"`},
	} {
		rec := do(t, h, http.MethodPost, tc.path, tc.body)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" ||
			!strings.Contains(rec.Body.String(), tc.want) || !strings.Contains(rec.Body.String(), "8 requests in progress") {
			t.Errorf("POST %s overloaded = %d %v %s, want 429 with Retry-After and %s", tc.path, rec.Code, rec.Header(), rec.Body, tc.want)
		}
	}
}

// A request cut off because the shutdown timeout ran out answers 503 with
// Retry-After, which clients and load balancers retry, not the 499 of a
// client that left; one whose client left is still a 499.
func TestShutdownCutOffIs503(t *testing.T) {
	engine, entered, _ := blockingEngine()
	h := newTestServer(engine, Config{})
	for _, tc := range []struct {
		cause  error
		status int
		want   string
	}{
		{ErrShutDown, http.StatusServiceUnavailable, `"code":"shutting_down"`},
		{nil, statusClientClosedRequest, `"code":"client_closed_request"`},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", strings.NewReader(`{"input":"a"}`)).WithContext(ctx)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, req); close(done) }()
		<-entered
		cancel(tc.cause)
		<-done
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("cancelled with cause %v: %d %s, want %d with %s", tc.cause, rec.Code, rec.Body, tc.status, tc.want)
		}
		if tc.cause != nil && rec.Header().Get("Retry-After") == "" {
			t.Errorf("cut off by the shutdown without Retry-After: %v", rec.Header())
		}
	}
}
