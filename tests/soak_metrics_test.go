//go:build soak

package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// gauge is the value of a metric without labels (0 when absent).
func gauge(f map[string]*dto.MetricFamily, name string) float64 {
	return metricTotal(f, name, nil)
}

// counters are the soak's running totals: requests answered, input tokens,
// evictions and loads.
func counters(f map[string]*dto.MetricFamily) map[string]float64 {
	return map[string]float64{
		"requests":  metricTotal(f, "te_request_count", nil),
		"tokens":    metricTotal(f, "te_request_input_tokens_total", nil),
		"evictions": metricTotal(f, "te_model_evictions_total", map[string]string{"reason": "memory"}),
		"loads":     metricTotal(f, "te_model_load_duration", nil),
	}
}

// windowMean is the mean of one figure of the samples taken in [from, to).
func windowMean(samples []sample, from, to time.Duration, figure func(sample) float64) float64 {
	sum, n := 0.0, 0
	for _, s := range samples {
		if s.at >= from && s.at < to {
			sum += figure(s)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// rssSeries is the resident memory at the end of each period, in MiB.
func rssSeries(samples []sample, period time.Duration) string {
	var out []string
	next := period
	for i, s := range samples {
		if s.at >= next || i == len(samples)-1 {
			out = append(out, fmt.Sprintf("%.0f", s.rss/(1<<20)))
			next += period
		}
	}
	return strings.Join(out, " ")
}

func rss(s sample) float64  { return s.rss }
func heap(s sample) float64 { return s.heap }

// twoOfThree measures what each model books on a server of its own with the
// default budget, and returns a budget that holds any two of them but not
// all three.
func twoOfThree(t *testing.T, dir, catalog string, names, args []string) uint64 {
	t.Helper()
	sp := serveCatalog(t, true, dir, catalog, args...)
	var sizes []float64
	used := 0.0
	for _, name := range names {
		body := map[string]any{"model": name, "input": "hello"}
		path := "/v1/embeddings"
		if name == "soak-rank" {
			path, body = "/v2/rerank", map[string]any{"model": name, "query": "hello", "documents": []string{"world"}}
		}
		if r := sp.post(t, path, body, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("loading %s: %d", name, r.StatusCode)
		}
		now := metricTotal(scrapeMetrics(t, sp), "te_memory_used_bytes", map[string]string{"device": "RAM"})
		sizes = append(sizes, now-used)
		used = now
	}
	if err := sp.stop(); err != nil {
		t.Fatal(err)
	}
	smallest := min(sizes[0], sizes[1], sizes[2])
	t.Logf("soak: the models book %.1f, %.1f and %.1f MiB", sizes[0]/(1<<20), sizes[1]/(1<<20), sizes[2]/(1<<20))
	return uint64(used - smallest/2)
}
