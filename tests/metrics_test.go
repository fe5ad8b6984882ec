package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// scrapeMetrics GETs /metrics and parses Prometheus' text format.
func scrapeMetrics(t *testing.T, sp *serverProcess) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(sp.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return families
}

// metricTotal adds up the series of name whose labels include want: the
// values of counters and gauges, the sample counts of histograms.
func metricTotal(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	total := 0.0
series:
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// labelValues lists the values label takes in name's series.
func labelValues(families map[string]*dto.MetricFamily, name, label string) []string {
	var out []string
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && !slices.Contains(out, l.GetValue()) {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// Every metric moves as requests flow through a real server: embeddings
// and rerank, bad requests, a model that fails to load, a second and a
// third model loaded under a memory budget that holds one besides the
// defaults (an eviction), a model pulled from a hub, a client that leaves
// while its model downloads, and a burst that fills a queue. The Grafana
// dashboard's queries name only metrics the scrape has.
func TestMetricsMoveAsRequestsFlow(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeModels(dir, map[string]testmodel.Config{
		"pin": testmodel.Tiny(71, "cls"), "rr": testmodel.Tiny(72, "rank"), "b": testmodel.Tiny(73, "cls"), "c": testmodel.Tiny(74, "cls"),
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.gguf"), []byte("not a GGUF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if _, err := writeModels(src, map[string]testmodel.Config{"hubbed": testmodel.Tiny(75, "cls")}); err != nil {
		t.Fatal(err)
	}
	gguf, err := os.ReadFile(filepath.Join(src, "hubbed.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for a client to give up while it downloads.
	serveFromHub(t, "org/hubbed-GGUF", "hubbed.gguf", gguf, 1500*time.Millisecond)
	catalog := `models:
  - {name: pin, kind: embedding, file: pin.gguf}
  - {name: rr, kind: rerank, pooling: rank, file: rr.gguf}
  - {name: b, kind: embedding, file: b.gguf}
  - {name: c, kind: embedding, file: c.gguf}
  - {name: broken, kind: embedding, file: broken.gguf}
  - {name: hubbed, kind: embedding, source: {repo: org/hubbed-GGUF, file: hubbed.gguf}}
`
	// A tiny model books its file (< 1 MiB) and one context of 64 tokens
	// (36 MiB): 128 MiB holds the two defaults and one more, not two more.
	// A budget of 8 tokens per encode call encodes each burst sentence
	// alone, so the burst's queue stays full long enough to be seen. (The
	// models pool by CLS: llama.cpp asserts when a mean-pooling context has
	// fewer tokens than its 256 sequences.)
	const budget = 128 << 20
	sp := serveCatalog(t, true, dir, catalog, "--offline=false", "--pull-on-request", "catalog", "--embedding-model", "pin", "--reranker-model", "rr",
		"--max-memory", "128MiB", "--keep-alive", "-1", "--workers", "1", "--max-batch-tokens", "8")

	before := scrapeMetrics(t, sp)
	if got := labelValues(before, "te_model_loaded", "model"); !slices.Equal(got, []string{"pin", "rr"}) {
		t.Fatalf("loaded at start: %v, want the defaults pin and rr", got)
	}

	status := func(path string, body any, want int) {
		t.Helper()
		if r := sp.post(t, path, body, nil); r.StatusCode != want {
			t.Fatalf("POST %s %v: status %d, want %d", path, body, r.StatusCode, want)
		}
	}
	status("/v1/embeddings", map[string]any{"model": "pin", "input": []string{"hello world", "a second input"}}, http.StatusOK)
	status("/embed", map[string]any{"inputs": "hello"}, http.StatusOK)
	status("/rerank", map[string]any{"query": "what is it", "texts": []string{"a document", "another one"}}, http.StatusOK)
	status("/tokenize", map[string]any{"inputs": "hello world"}, http.StatusOK)
	status("/v1/embeddings", `{"input": `, http.StatusBadRequest)
	status("/v1/embeddings", map[string]any{"model": "no-such-model", "input": "x"}, http.StatusNotFound)
	status("/v1/no-such-route", map[string]any{}, http.StatusNotFound)
	status("/v1/embeddings", map[string]any{"model": "broken", "input": "x"}, http.StatusServiceUnavailable)
	status("/v1/embeddings", map[string]any{"model": "b", "input": "x"}, http.StatusOK)
	status("/v1/embeddings", map[string]any{"model": "c", "input": "x"}, http.StatusOK) // evicts b

	// A client that gives up while its model downloads (499 in the log);
	// the download goes on and the next request gets the model.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sp.url+"/v1/embeddings", strings.NewReader(`{"model": "hubbed", "input": "x"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request for a model downloading for 1.5 s answered %d within 300 ms", resp.StatusCode)
	}
	cancel()
	status("/v1/embeddings", map[string]any{"model": "hubbed", "input": "x"}, http.StatusOK) // evicts c

	if peak := burstQueue(t, sp); peak == 0 {
		t.Error("te_queue_size never rose above 0 while a burst of requests waited")
	}

	// The dropped request is recorded when its handler returns, which may
	// be after the client has moved on.
	var after map[string]*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		after = scrapeMetrics(t, sp)
		if metricTotal(after, "te_request_failure", map[string]string{"err": "dropped"}) > 0 || time.Now().After(deadline) {
			break
		}
	}

	// Counters and histograms: each must have grown.
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"te_request_count", map[string]string{"route": "/v1/embeddings", "model": "pin", "status": "200"}},
		{"te_request_count", map[string]string{"route": "/rerank", "model": "rr", "status": "200"}},
		{"te_request_count", map[string]string{"route": "/v1/embeddings", "status": "400"}},
		{"te_request_count", map[string]string{"route": "unmatched", "status": "404"}},
		{"te_request_count", map[string]string{"route": "/v1/embeddings", "status": "499"}},
		{"te_request_count", map[string]string{"route": "/v1/embeddings", "status": "503"}},
		{"te_request_success", map[string]string{"route": "/embed", "model": "pin", "method": "single"}},
		{"te_request_success", map[string]string{"route": "/v1/embeddings", "method": "batch"}},
		{"te_request_failure", map[string]string{"err": "validation"}},
		{"te_request_failure", map[string]string{"err": "unavailable"}},
		{"te_request_failure", map[string]string{"route": "/v1/embeddings", "err": "dropped"}},
		{"te_request_duration", map[string]string{"route": "/rerank", "status": "200"}},
		{"te_request_duration", map[string]string{"route": "/v1/embeddings", "status": "404"}},
		{"te_request_queue_duration", map[string]string{"route": "/v1/embeddings", "model": "pin"}},
		{"te_request_inference_duration", map[string]string{"route": "/rerank", "model": "rr"}},
		{"te_request_input_tokens_total", map[string]string{"route": "/rerank", "model": "rr"}},
		{"te_request_output_tokens_total", map[string]string{"route": "/tokenize", "model": "pin"}},
		{"te_request_input_length", map[string]string{"model": "pin"}},
		{"te_batch_next_size", map[string]string{"model": "rr"}},
		{"te_batch_next_tokens", map[string]string{"model": "pin"}},
		{"te_batch_inference_duration", map[string]string{"model": "hubbed"}},
		{"te_model_load_duration", map[string]string{"model": "hubbed"}},
		{"te_model_load_failures_total", map[string]string{"model": "broken"}},
		{"te_model_evictions_total", map[string]string{"model": "b", "reason": "memory"}},
		{"te_model_evictions_total", map[string]string{"model": "c", "reason": "memory"}},
		{"te_model_pulls_total", map[string]string{"model": "hubbed", "result": "success"}},
		{"te_model_pull_bytes_total", map[string]string{"model": "hubbed"}},
		{"process_cpu_seconds_total", nil},
		{"go_memstats_alloc_bytes_total", nil},
	} {
		if b, a := metricTotal(before, c.name, c.labels), metricTotal(after, c.name, c.labels); a <= b {
			t.Errorf("%s%v did not move: %v before, %v after", c.name, c.labels, b, a)
		}
	}
	if got := metricTotal(after, "te_model_pull_bytes_total", map[string]string{"model": "hubbed"}); got != float64(len(gguf)) {
		t.Errorf("te_model_pull_bytes_total{model=hubbed} = %v, want the GGUF's %d bytes", got, len(gguf))
	}
	if got := metricTotal(after, "te_model_pulls_total", nil); got != 1 {
		t.Errorf("te_model_pulls_total = %v, want 1: the request that gave up and the one that waited shared one download", got)
	}
	if got := metricTotal(after, "te_request_count", map[string]string{"model": "no-such-model"}); got != 0 {
		t.Error("a model name no catalog entry has became a label")
	}

	// Gauges: what is loaded now, and the memory it holds.
	if got := labelValues(after, "te_model_loaded", "model"); !slices.Equal(got, []string{"hubbed", "pin", "rr"}) {
		t.Errorf("loaded at the end: %v, want hubbed beside the defaults", got)
	}
	ram := map[string]string{"device": "RAM"}
	if b, a := metricTotal(before, "te_memory_used_bytes", ram), metricTotal(after, "te_memory_used_bytes", ram); b <= 0 || a <= b || a > budget {
		t.Errorf("te_memory_used_bytes{device=RAM}: %v with two models, %v with three; want it to grow, within the %d-byte budget", b, a, budget)
	}
	if got := metricTotal(after, "te_memory_budget_bytes", ram); got != budget {
		t.Errorf("te_memory_budget_bytes{device=RAM} = %v, want %d", got, budget)
	}
	if metricTotal(after, "go_goroutines", nil) <= 0 || after["process_resident_memory_bytes"] == nil {
		t.Error("the Go runtime and process collectors are missing")
	}

	checkDashboard(t, after)
}

// burstQueue sends concurrent requests of many sentences, each longer than
// the token budget of an encode call, and scrapes while they wait; it
// returns the largest te_queue_size seen, retrying the burst a few times.
func burstQueue(t *testing.T, sp *serverProcess) float64 {
	t.Helper()
	inputs := make([]string, 30)
	for i := range inputs {
		inputs[i] = fmt.Sprintf("burst sentence number %d, long enough to need an encode call of its own", i)
	}
	body, _ := json.Marshal(map[string]any{"inputs": inputs})
	peak := 0.0
	for attempt := 0; attempt < 5 && peak == 0; attempt++ {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(sp.url+"/embed", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("burst request: status %d", resp.StatusCode)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		// Scrape until the queue shows, not after: scrapes take CPU from
		// the encoding.
		for waiting := true; waiting && peak == 0; {
			select {
			case <-done:
				waiting = false
			case <-time.After(2 * time.Millisecond):
				peak = max(peak, metricTotal(scrapeMetrics(t, sp), "te_queue_size", map[string]string{"model": "pin"}))
			}
		}
		<-done
	}
	return peak
}

// The dashboard's queries (and its variables') name only metrics a real
// server exposes.
func checkDashboard(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	raw, err := os.ReadFile("../deploy/grafana/rerank-api.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Error("the dashboard has no title or uid")
	}
	exposed := map[string]bool{}
	for name, f := range families {
		exposed[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			exposed[name+"_bucket"], exposed[name+"_sum"], exposed[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			exposed[name+"_sum"], exposed[name+"_count"] = true, true
		}
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			names := promQLMetricNames(target.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: found no metric in %q", p.Title, target.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !exposed[n] {
					t.Errorf("panel %q queries %s, which /metrics does not expose: %s", p.Title, n, target.Expr)
				}
			}
		}
	}
	for _, v := range dash.Templating.List {
		q, _ := v.Query.(map[string]any)
		expr, _ := q["query"].(string)
		if m := labelValuesQuery.FindStringSubmatch(expr); m != nil && !exposed[m[1]] {
			t.Errorf("variable %s reads %s, which /metrics does not expose", v.Name, m[1])
		}
	}
	// The panels the issue asks for: request rate and latency, queue,
	// batches, inference, tokens, loaded models, memory, errors.
	for _, n := range []string{"te_request_count", "te_request_duration_bucket", "te_queue_size", "te_batch_next_size_sum",
		"te_batch_inference_duration_bucket", "te_request_input_tokens_total", "te_model_loaded", "te_memory_used_bytes", "te_request_failure"} {
		if !used[n] {
			t.Errorf("no panel queries %s", n)
		}
	}
}

var (
	labelValuesQuery = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	// What in a PromQL expression is not a metric name: label matchers,
	// ranges, grouping clauses, strings, and the keywords left after them.
	promQLNoise   = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|"[^"]*"`)
	promQLName    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promQLKeyword = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
		"group_left": true, "group_right": true}
)

// promQLMetricNames lists the metrics expr selects: the names left once
// label matchers, ranges and grouping are cut, that are not followed by a
// parenthesis (functions and aggregations are).
func promQLMetricNames(expr string) []string {
	var names []string
	for _, m := range promQLName.FindAllStringSubmatch(promQLNoise.ReplaceAllString(expr, " "), -1) {
		if m[1] != "" || promQLKeyword[strings.ToLower(m[0])] {
			continue
		}
		names = append(names, m[0])
	}
	return names
}

func TestPromQLMetricNames(t *testing.T) {
	got := promQLMetricNames(`histogram_quantile(0.99, sum by (le, route) (rate(te_request_duration_bucket{instance=~"$instance",status=~"2.."}[$__rate_interval]))) / on (x) group_left go_goroutines * 60`)
	if want := []string{"te_request_duration_bucket", "go_goroutines"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
