package tests

import (
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpCollector is a minimal OTLP/HTTP trace receiver: it decodes what is
// POSTed to /v1/traces and keeps it.
type otlpCollector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	problems []string
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	var req coltracepb.ExportTraceServiceRequest
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/traces":
		c.problems = append(c.problems, r.Method+" "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		c.problems = append(c.problems, "Content-Type "+r.Header.Get("Content-Type"))
	case err != nil:
		c.problems = append(c.problems, err.Error())
	default:
		if err := proto.Unmarshal(body, &req); err != nil {
			c.problems = append(c.problems, "undecodable export: "+err.Error())
			break
		}
		c.requests = append(c.requests, &req)
	}
	// An empty body is an empty ExportTraceServiceResponse: all accepted.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// spans returns every span received with its resource's service.name.
func (c *otlpCollector) spans() (spans []*tracepb.Span, services []string, problems []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			service := stringAttr(rs.GetResource().GetAttributes(), "service.name")
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, s)
					services = append(services, service)
				}
			}
		}
	}
	return spans, services, append([]string(nil), c.problems...)
}

func stringAttr(attrs []*commonpb.KeyValue, key string) string {
	for _, kv := range attrs {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, a request becomes a span with its
// route, request id and the caller's trace, with queue and inference
// children, under OTEL_SERVICE_NAME; the server stops before the batcher's
// 5-second delay, so the spans arrive only if shutdown flushes them.
func TestTracesReachAnOTLPCollector(t *testing.T) {
	collector := &otlpCollector{}
	srv := httptest.NewServer(collector)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "rerank-e2e")
	sp := serveSharedModels(t)

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	resp, raw := sp.requestWithHeaders(t, http.MethodPost, "/v1/embeddings", `{"input": ["hello", "world"]}`,
		"X-Request-Id", "trace-e2e-1", "traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/embeddings: %d %s", resp.StatusCode, raw)
	}
	if err := sp.stop(); err != nil {
		t.Fatal(err)
	}

	spans, services, problems := collector.spans()
	for _, p := range problems {
		t.Errorf("the collector got a bad export: %s", p)
	}
	var request *tracepb.Span
	for i, s := range spans {
		if stringAttr(s.Attributes, "rerank_api.request_id") == "trace-e2e-1" {
			request = s
			if services[i] != "rerank-e2e" {
				t.Errorf("service.name %q, want OTEL_SERVICE_NAME's rerank-e2e", services[i])
			}
		}
	}
	if request == nil {
		t.Fatalf("no span with the request id among %d spans; server log:\n%s", len(spans), tail(sp.stderr.String()))
	}
	if request.Name != "POST /v1/embeddings" || stringAttr(request.Attributes, "http.route") != "/v1/embeddings" {
		t.Errorf("span %q with route %q, want POST /v1/embeddings", request.Name, stringAttr(request.Attributes, "http.route"))
	}
	if got := stringAttr(request.Attributes, "gen_ai.request.model"); got != "tiny-cls" {
		t.Errorf("span model %q, want tiny-cls", got)
	}
	if got := hex.EncodeToString(request.TraceId); got != traceID {
		t.Errorf("trace id %x, want the traceparent's %s", request.TraceId, traceID)
	}
	children := map[string]bool{}
	for _, s := range spans {
		if string(s.ParentSpanId) == string(request.SpanId) {
			children[s.Name] = true
		}
	}
	if !children["queue"] || !children["inference"] {
		t.Errorf("the request's span has children %v, want queue and inference", children)
	}
	if !strings.Contains(sp.stderr.String(), `"trace_id":"`+traceID+`"`) {
		t.Errorf("the request's log line has no trace_id")
	}
}

// Without an endpoint nothing is sent, not even to the exporter's default
// (localhost:4318), though other OTEL_* variables are set.
func TestNoTracesWithoutAnEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:4318")
	if err != nil {
		t.Skipf("cannot listen on OTLP's default port to watch it: %v", err)
	}
	collector := &otlpCollector{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: collector}}
	srv.Start()
	defer srv.Close()
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		t.Setenv(v, "") // restored after the test; unset for the server
		os.Unsetenv(v)
	}
	t.Setenv("OTEL_SERVICE_NAME", "rerank-e2e")
	sp := serveSharedModels(t)
	if resp, raw := sp.requestWithHeaders(t, http.MethodPost, "/embed", `{"inputs": "hello"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /embed: %d %s", resp.StatusCode, raw)
	}
	if err := sp.stop(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // waits for any request in flight
	spans, _, problems := collector.spans()
	if len(spans) > 0 || len(problems) > 0 {
		t.Errorf("with no endpoint set the collector got %d spans (%v)", len(spans), problems)
	}
	if strings.Contains(sp.stderr.String(), "trace_id") || strings.Contains(sp.stderr.String(), "tracing: exporting") {
		t.Errorf("tracing is on without an endpoint:\n%s", tail(sp.stderr.String()))
	}
}
