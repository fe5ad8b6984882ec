package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs m's handler with accept as the Accept header and parses the
// text format it must answer in.
func scrape(t *testing.T, m *Metrics, accept string) map[string]*dto.MetricFamily {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// sample finds the series of name whose labels include want; nil when none.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
series:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue series
			}
		}
		return m
	}
	return nil
}

// mustSample is sample that fails the test when there is no such series.
func mustSample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	m := sample(families, name, labels)
	if m == nil {
		t.Fatalf("no %s%v", name, labels)
	}
	return m
}

func counter(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	return mustSample(t, families, name, labels).GetCounter().GetValue()
}

func histogramCount(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	t.Helper()
	return mustSample(t, families, name, labels).GetHistogram().GetSampleCount()
}

func TestRequestsAreCountedByRouteModelAndStatus(t *testing.T) {
	m := New()
	m.ObserveRequest(Request{Route: "/v1/embeddings", Model: "e5", Status: 200, Inputs: 3, InputTokens: 40,
		Duration: 30 * time.Millisecond, Batched: true, QueueWait: 5 * time.Millisecond, Inference: 20 * time.Millisecond})
	m.ObserveRequest(Request{Route: "/tokenize", Model: "e5", Status: 200, Inputs: 1, OutputTokens: 7, Duration: time.Millisecond})
	// A failure for a model that has served keeps its name; one for a
	// made-up name does not become a label.
	m.ObserveRequest(Request{Route: "/v1/embeddings", Model: "e5", Status: 499, Failure: "dropped", Inputs: 1, Duration: time.Second})
	m.ObserveRequest(Request{Route: "/v1/embeddings", Model: "no-such-model-123", Status: 404, Failure: "validation", Duration: time.Millisecond})

	f := scrape(t, m, "")
	if got := counter(t, f, "te_request_count", map[string]string{"route": "/v1/embeddings", "model": "e5", "status": "200", "method": "batch"}); got != 1 {
		t.Errorf("te_request_count of the batch embed = %v, want 1", got)
	}
	if got := counter(t, f, "te_request_success", map[string]string{"route": "/tokenize", "model": "e5", "method": "single"}); got != 1 {
		t.Errorf("te_request_success of /tokenize = %v, want 1", got)
	}
	if got := counter(t, f, "te_request_failure", map[string]string{"route": "/v1/embeddings", "model": "e5", "err": "dropped"}); got != 1 {
		t.Errorf("dropped requests = %v, want 1", got)
	}
	if got := counter(t, f, "te_request_failure", map[string]string{"model": "", "err": "validation"}); got != 1 {
		t.Errorf("validation failures without a model label = %v, want 1", got)
	}
	for _, mf := range f {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetValue() == "no-such-model-123" {
					t.Errorf("%s has a series labelled with a model that never served", mf.GetName())
				}
			}
		}
	}
	if n := histogramCount(t, f, "te_request_duration", map[string]string{"route": "/v1/embeddings", "status": "499"}); n != 1 {
		t.Errorf("te_request_duration of the 499 has %d samples, want 1", n)
	}
	wait := sample(f, "te_request_queue_duration", map[string]string{"route": "/v1/embeddings", "model": "e5"})
	if wait == nil || wait.GetHistogram().GetSampleCount() != 1 || wait.GetHistogram().GetSampleSum() != 0.005 {
		t.Errorf("te_request_queue_duration = %v, want one sample of 5 ms", wait)
	}
	if sample(f, "te_request_inference_duration", map[string]string{"route": "/tokenize"}) != nil {
		t.Error("a request that was not batched recorded an inference duration")
	}
	if got := counter(t, f, "te_request_input_tokens_total", map[string]string{"route": "/v1/embeddings"}); got != 40 {
		t.Errorf("input tokens = %v, want 40", got)
	}
	if got := counter(t, f, "te_request_output_tokens_total", map[string]string{"route": "/tokenize"}); got != 7 {
		t.Errorf("output tokens = %v, want 7", got)
	}
}

func TestEngineReportsAreRecorded(t *testing.T) {
	m := New()
	m.SequencesQueued("e5", []int{3, 300})
	m.BatchEncoded("e5", 2, 303, 40*time.Millisecond)
	m.ModelLoaded("e5", 2*time.Second, nil)
	m.ModelLoaded("broken", time.Millisecond, errors.New("bad gguf"))
	m.ModelEvicted("e5", "memory")
	m.Pulled("e5", 1234, nil)
	m.Pulled("e5", 0, errors.New("hub down"))

	f := scrape(t, m, "")
	lengths := sample(f, "te_request_input_length", map[string]string{"model": "e5"}).GetHistogram()
	if lengths.GetSampleCount() != 2 || lengths.GetSampleSum() != 303 {
		t.Errorf("te_request_input_length: %d samples summing %v, want 2 summing 303", lengths.GetSampleCount(), lengths.GetSampleSum())
	}
	for _, name := range []string{"te_batch_next_size", "te_batch_next_tokens", "te_batch_inference_duration", "te_model_load_duration"} {
		if n := histogramCount(t, f, name, map[string]string{"model": "e5"}); n != 1 {
			t.Errorf("%s has %d samples, want 1", name, n)
		}
	}
	if sum := sample(f, "te_batch_next_tokens", nil).GetHistogram().GetSampleSum(); sum != 303 {
		t.Errorf("te_batch_next_tokens sums %v, want 303", sum)
	}
	if sample(f, "te_model_load_duration", map[string]string{"model": "broken"}) != nil {
		t.Error("a failed load recorded a load duration")
	}
	if got := counter(t, f, "te_model_load_failures_total", map[string]string{"model": "broken"}); got != 1 {
		t.Errorf("load failures = %v, want 1", got)
	}
	if got := counter(t, f, "te_model_evictions_total", map[string]string{"model": "e5", "reason": "memory"}); got != 1 {
		t.Errorf("evictions = %v, want 1", got)
	}
	if got := counter(t, f, "te_model_pulls_total", map[string]string{"model": "e5", "result": "failure"}); got != 1 {
		t.Errorf("failed pulls = %v, want 1", got)
	}
	if got := counter(t, f, "te_model_pull_bytes_total", map[string]string{"model": "e5"}); got != 1234 {
		t.Errorf("pull bytes = %v, want 1234", got)
	}
}

type fakeState struct {
	queued        map[string]int
	used, budgets map[string]uint64
}

func (s fakeState) QueuedSequences() map[string]int { return s.queued }
func (s fakeState) MemoryBooked() (used, budgets map[string]uint64) {
	return s.used, s.budgets
}

func TestGaugesAreReadAtScrapeTime(t *testing.T) {
	m := New()
	s := &fakeState{queued: map[string]int{"e5": 7, "rr": 0},
		used: map[string]uint64{"RAM": 100}, budgets: map[string]uint64{"RAM": 1000, "CUDA0": 500}}
	m.Watch(s)
	f := scrape(t, m, "")
	if got := sample(f, "te_queue_size", map[string]string{"model": "e5"}).GetGauge().GetValue(); got != 7 {
		t.Errorf("te_queue_size{model=e5} = %v, want 7", got)
	}
	if n := len(f["te_model_loaded"].GetMetric()); n != 2 {
		t.Errorf("te_model_loaded has %d series, want one per loaded model (2)", n)
	}
	if got := sample(f, "te_memory_used_bytes", map[string]string{"device": "CUDA0"}); got == nil || got.GetGauge().GetValue() != 0 {
		t.Errorf("te_memory_used_bytes{device=CUDA0} = %v, want 0: every budgeted device is listed", got)
	}
	if got := sample(f, "te_memory_budget_bytes", map[string]string{"device": "RAM"}).GetGauge().GetValue(); got != 1000 {
		t.Errorf("te_memory_budget_bytes{device=RAM} = %v, want 1000", got)
	}

	s.queued = map[string]int{"rr": 2}
	f = scrape(t, m, "")
	if sample(f, "te_queue_size", map[string]string{"model": "e5"}) != nil || sample(f, "te_model_loaded", map[string]string{"model": "e5"}) != nil {
		t.Error("an unloaded model is still listed")
	}
}

// A Prometheus that prefers OpenMetrics still gets the text format, where
// te_request_count keeps its name; in OpenMetrics it would be exposed as
// te_request_count_total and TEI's queries would miss it. The Go runtime
// and process collectors are there.
func TestHandlerKeepsTEINamesAndRuntimeCollectors(t *testing.T) {
	m := New()
	m.ObserveRequest(Request{Route: "/embed", Status: 200, Inputs: 1})
	f := scrape(t, m, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	if f["te_request_count"] == nil || f["te_request_count"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("te_request_count is missing or not a counter")
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if f[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}
