package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
)

// scrapeMetrics GETs /metrics and parses it.
func scrapeMetrics(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := do(t, h, http.MethodGet, "/metrics", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// seriesLabels lists the label sets of name's series, each as
// "route status err..." for the labels asked.
func seriesLabels(families map[string]*dto.MetricFamily, name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		key := ""
		for i, l := range labels {
			if i > 0 {
				key += " "
			}
			key += have[l]
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out
}

func TestRequestsAreRecordedInMetrics(t *testing.T) {
	engine := &fakeEngine{embed: func(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
		switch req.Model {
		case "busy":
			return nil, fmt.Errorf("%w: queue full", backend.ErrOverloaded)
		case "gone":
			return nil, context.Canceled // what the engine returns when the client left
		}
		return &backend.EmbedResult{Model: "m", Vectors: [][]float32{vectorFor(0, fakeDims), vectorFor(1, fakeDims)}, PromptTokens: 9,
			Stats: backend.BatchStats{Batches: 1}}, nil
	}}
	h := newTestServer(engine, Config{})
	do(t, h, http.MethodPost, "/v1/embeddings", `{"model": "m", "input": ["a", "b"]}`)
	do(t, h, http.MethodPost, "/v1/embeddings", `{"model": "busy", "input": "a"}`)
	do(t, h, http.MethodPost, "/v1/embeddings", `{"model": "m", "input": "a"`) // cut short
	do(t, h, http.MethodPost, "/embed", `{"model": "gone", "inputs": "a"}`)
	do(t, h, http.MethodPost, "/tokenize", `{"inputs": "abc", "add_special_tokens": false}`)
	do(t, h, http.MethodGet, "/no/such/route", "")
	do(t, h, http.MethodGet, "/embed", "") // 405: a known path, the wrong method
	do(t, h, http.MethodGet, "/health", "")
	scrapeMetrics(t, h)

	f := scrapeMetrics(t, h)
	want := map[string]float64{
		"/v1/embeddings 200 batch": 1, "/v1/embeddings 429 single": 1, "/v1/embeddings 400 single": 1,
		"/embed 499 single": 1, "/tokenize 200 single": 1, "unmatched 404 single": 1, "unmatched 405 single": 1,
	}
	got := seriesLabels(f, "te_request_count", "route", "status", "method")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("te_request_count by route, status and method:\n got %v\nwant %v (scrapes and probes left out)", got, want)
	}
	wantFailures := map[string]float64{"/v1/embeddings overloaded": 1, "/v1/embeddings validation": 1, "/embed dropped": 1,
		"unmatched validation": 2}
	if got := seriesLabels(f, "te_request_failure", "route", "err"); fmt.Sprint(got) != fmt.Sprint(wantFailures) {
		t.Errorf("te_request_failure by route and err:\n got %v\nwant %v", got, wantFailures)
	}
	if got := seriesLabels(f, "te_request_input_tokens_total", "route", "model"); got["/v1/embeddings m"] != 9 || len(got) != 1 {
		t.Errorf("input tokens = %v, want 9 for /v1/embeddings of m alone", got)
	}
	if got := seriesLabels(f, "te_request_output_tokens_total", "route"); got["/tokenize"] != 3 {
		t.Errorf("output tokens = %v, want /tokenize's 3", got)
	}
	if n := len(f["te_request_queue_duration"].GetMetric()); n != 1 {
		t.Errorf("te_request_queue_duration has %d series, want 1: only the batched request", n)
	}
}

func TestFailureKinds(t *testing.T) {
	for _, c := range []struct {
		status int
		err    error
		want   string
	}{
		{statusClientClosedRequest, context.Canceled, "dropped"},
		{http.StatusTooManyRequests, fmt.Errorf("%w: full", backend.ErrOverloaded), "overloaded"},
		{http.StatusRequestEntityTooLarge, tooMany("input", "inputs", 10, 5), "batch_size"},
		{http.StatusRequestEntityTooLarge, errors.New("body"), "validation"},
		{http.StatusUnprocessableEntity, fmt.Errorf("%w: a reranker", backend.ErrWrongKind), "model_type"},
		{http.StatusNotFound, fmt.Errorf("%w: x", backend.ErrUnknownModel), "validation"},
		{http.StatusUnauthorized, nil, "unauthorized"},
		{http.StatusServiceUnavailable, fmt.Errorf("%w: loading", backend.ErrModelUnavailable), "unavailable"},
		{http.StatusGatewayTimeout, context.DeadlineExceeded, "timeout"},
		{http.StatusInternalServerError, errors.New("boom"), "inference"},
	} {
		if got := failureKind(c.status, c.err); got != c.want {
			t.Errorf("failureKind(%d, %v) = %q, want %q", c.status, c.err, got, c.want)
		}
	}
}

// A request refused before routing (here, without an API key) is labelled
// with the route it asked for, and /metrics stays open without a key.
func TestRefusedRequestsKeepTheirRoute(t *testing.T) {
	h := New(&fakeEngine{}, Config{APIKeys: NewAPIKeys([]string{"sk-metrics-test-key-0123456789"})}, zerolog.Nop())
	if rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input": "a"}`); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without a key: %d, want 401", rec.Code)
	}
	f := scrapeMetrics(t, h)
	want := map[string]float64{"/v1/embeddings unauthorized": 1}
	if got := seriesLabels(f, "te_request_failure", "route", "err"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("te_request_failure by route and err: got %v, want %v", got, want)
	}
}
