package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rerank-api/rerank-api/backend"
)

func tracedServer(engine *fakeEngine, logs *bytes.Buffer) (http.Handler, *tracetest.SpanRecorder) {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	return New(engine, Config{TracerProvider: tp}, zerolog.New(logs)), recorder
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// One server span per request, continuing the caller's W3C trace, named
// after the route and tagged with it, the status, the model and the
// request id; the backend's queue wait and compute time become child
// spans of exactly those durations; the log line carries the trace id.
func TestRequestSpan(t *testing.T) {
	const (
		wait    = 30 * time.Millisecond
		compute = 20 * time.Millisecond
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	)
	engine := &fakeEngine{embed: func(_ context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		time.Sleep(wait + compute) // the request lasts as long as the work it reports
		return &backend.EmbedResult{Model: "bge-m3", Vectors: [][]float32{{1}}, PromptTokens: 5,
			Stats: backend.BatchStats{Wait: wait, Compute: compute, Batches: 2}}, nil
	}}
	var logs bytes.Buffer
	h, recorder := tracedServer(engine, &logs)
	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`,
		"X-Request-Id", "trace-req-1",
		"Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range recorder.Ended() {
		spans[s.Name()] = s
	}
	server, ok := spans["POST /v1/embeddings"]
	if !ok || len(spans) != 3 {
		t.Fatalf("spans %v, want POST /v1/embeddings with queue and inference", keys(spans))
	}
	if got := server.SpanContext().TraceID().String(); got != traceID {
		t.Errorf("trace id %s, want the traceparent's %s", got, traceID)
	}
	if got := server.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !server.Parent().IsRemote() {
		t.Errorf("parent span %s (remote %v), want the traceparent's", got, server.Parent().IsRemote())
	}
	attrs := spanAttrs(server)
	for key, want := range map[attribute.Key]string{
		"http.route": "/v1/embeddings", "http.request.method": "POST",
		"rerank_api.request_id": "trace-req-1", "gen_ai.request.model": "bge-m3",
	} {
		if got := attrs[key].Emit(); got != want {
			t.Errorf("attribute %s = %q, want %q", key, got, want)
		}
	}
	if got := attrs["http.response.status_code"].AsInt64(); got != 200 {
		t.Errorf("http.response.status_code = %d, want 200", got)
	}
	queue, inference := spans["queue"], spans["inference"]
	for _, child := range []sdktrace.ReadOnlySpan{queue, inference} {
		if child.Parent().SpanID() != server.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the request's span", child.Name())
		}
		if child.StartTime().Before(server.StartTime()) || child.EndTime().After(server.EndTime()) {
			t.Errorf("%s [%v, %v] lies outside the request's span [%v, %v]", child.Name(),
				child.StartTime(), child.EndTime(), server.StartTime(), server.EndTime())
		}
	}
	if d := queue.EndTime().Sub(queue.StartTime()); d != wait {
		t.Errorf("queue span lasts %v, want the backend's wait %v", d, wait)
	}
	if d := inference.EndTime().Sub(inference.StartTime()); d != compute {
		t.Errorf("inference span lasts %v, want the backend's compute %v", d, compute)
	}
	if !queue.EndTime().Equal(inference.StartTime()) {
		t.Error("inference does not start where the queue wait ends")
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["trace_id"] != traceID {
		t.Errorf("log line trace_id = %v, want %s", line["trace_id"], traceID)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A 5xx marks the span as an error; a 4xx does not (the client's fault);
// a path with no route is named by its method alone, so unknown paths do
// not each make a span name.
func TestSpanStatus(t *testing.T) {
	engine := &fakeEngine{embed: func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		return nil, errors.New("boom")
	}}
	var logs bytes.Buffer
	h, recorder := tracedServer(engine, &logs)
	do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`)
	do(t, h, http.MethodGet, "/no/such/path", "")
	ended := recorder.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans, want 2", len(ended))
	}
	if ended[0].Status().Code != codes.Error || spanAttrs(ended[0])["error.type"].Emit() != "500" {
		t.Errorf("a 500's span: status %v, error.type %q", ended[0].Status(), spanAttrs(ended[0])["error.type"].Emit())
	}
	if ended[1].Name() != "GET" || ended[1].Status().Code == codes.Error {
		t.Errorf("a 404's span: name %q status %v, want GET and no error", ended[1].Name(), ended[1].Status())
	}
	if got := spanAttrs(ended[1])["http.response.status_code"].AsInt64(); got != 404 {
		t.Errorf("a 404's span has status code %d", got)
	}
}

// Every reply carries X-Request-Id, errors included, and its log line the
// same id: a user quoting the header finds the line.
func TestRequestIDOnEveryReply(t *testing.T) {
	var logs bytes.Buffer
	engine := &fakeEngine{embed: func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		panic("boom")
	}}
	h := New(engine, Config{APIKeys: NewAPIKeys([]string{testKey}), PayloadLimit: 64}, zerolog.New(&logs))
	auth := []string{"X-Api-Key", testKey}
	for _, c := range []struct {
		method, path, body string
		headers            []string
		want               int
	}{
		{http.MethodPost, "/v1/embeddings", `{"input":"a"}`, nil, http.StatusUnauthorized},
		{http.MethodGet, "/nowhere", "", auth, http.StatusNotFound},
		{http.MethodGet, "/embed", "", auth, http.StatusMethodNotAllowed},
		{http.MethodPost, "/embed", `{"inputs":"` + strings.Repeat("a", 100) + `"}`, auth, http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/embed", `{"inputs":"a"}`, auth, http.StatusInternalServerError},
		{http.MethodGet, "/health", "", nil, http.StatusOK},
	} {
		logs.Reset()
		rec := do(t, h, c.method, c.path, c.body, c.headers...)
		if rec.Code != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.want)
		}
		id := rec.Header().Get("X-Request-Id")
		if len(id) != 32 {
			t.Errorf("%s %s (%d): X-Request-Id %q, want a generated id", c.method, c.path, rec.Code, id)
		}
		if !strings.Contains(logs.String(), `"id":"`+id+`"`) {
			t.Errorf("%s %s (%d): no log line with id %s:\n%s", c.method, c.path, rec.Code, id, logs.String())
		}
	}
}
