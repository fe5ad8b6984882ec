package bench

import (
	"math"
	"testing"
	"time"
)

func msList(values ...int) []time.Duration {
	out := make([]time.Duration, len(values))
	for i, v := range values {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

// Nearest rank: the smallest recorded latency that p percent of the
// requests did not exceed.
func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1 // 1..100 ms
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   int
	}{
		{msList(7), 50, 7},
		{msList(7), 99, 7},
		{msList(1, 2, 3, 4), 50, 2},
		{msList(1, 2, 3, 4), 51, 3},
		{msList(1, 2, 3, 4), 75, 3},
		{msList(1, 2, 3, 4), 100, 4},
		{msList(1, 2, 3, 4), 0, 1},
		{msList(hundred...), 50, 50},
		{msList(hundred...), 95, 95},
		{msList(hundred...), 99, 99},
		{msList(hundred...), 99.5, 100},
		// Fewer than 100 requests: p99 is the slowest.
		{msList(10, 20, 30, 40, 50, 60, 70, 80, 90, 1000), 99, 1000},
		{msList(10, 20, 30, 40, 50, 60, 70, 80, 90, 1000), 90, 90},
	} {
		if got := percentile(c.sorted, c.p); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("p%g of %v = %v, want %dms", c.p, c.sorted, got, c.want)
		}
	}
}

// Rates count successes over the whole run's time; failures count by kind,
// keep their first message and add nothing to throughput or latency.
func TestSummarize(t *testing.T) {
	var outcomes []outcome
	// Recorded out of order, as clients finish.
	for _, l := range []int{40, 10, 30, 20} {
		outcomes = append(outcomes, outcome{latency: time.Duration(l) * time.Millisecond, tokens: 100, reported: true, estimate: 90, items: 4})
	}
	outcomes = append(outcomes,
		outcome{latency: 5 * time.Second, failure: "429", detail: "busy"},
		outcome{latency: time.Millisecond, failure: "429", detail: "still busy"},
		outcome{latency: time.Minute, failure: "timeout", detail: "deadline"},
	)
	r := summarize(outcomes, 2*time.Second)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if r.Requests != 4 || r.Failures != 3 || r.FailuresByKind["429"] != 2 || r.FailuresByKind["timeout"] != 1 {
		t.Errorf("counts: %d ok, %d failed %v; want 4 ok, 3 failed {429:2 timeout:1}", r.Requests, r.Failures, r.FailuresByKind)
	}
	if r.FirstFailure["429"] != "busy" {
		t.Errorf("first 429: %q, want the first one recorded", r.FirstFailure["429"])
	}
	near("elapsed", r.ElapsedSeconds, 2)
	near("requests/s", r.RequestsPerSecond, 2)
	near("items/s", r.ItemsPerSecond, 8)
	near("tokens/s", r.TokensPerSecond, 200)
	if r.Tokens != 400 || r.EstimatedTokens != 360 || r.TokensSource != FromServer {
		t.Errorf("tokens %d (estimate %d) from %q; want 400 (estimate 360) from the server", r.Tokens, r.EstimatedTokens, r.TokensSource)
	}
	// Failures' latencies (5 s, 1 ms, 1 min) stay out.
	want := Latency{Min: 10, Mean: 25, P50: 20, P90: 40, P95: 40, P99: 40, Max: 40}
	if r.Latency != want {
		t.Errorf("latency %+v, want %+v", r.Latency, want)
	}
}

func TestTokensSource(t *testing.T) {
	server := outcome{tokens: 10, reported: true}
	guessed := outcome{tokens: 8, estimate: 8}
	for _, c := range []struct {
		outcomes []outcome
		want     string
	}{
		{[]outcome{server, server}, FromServer},
		{[]outcome{guessed, guessed}, FromEstimate},
		{[]outcome{server, guessed}, FromBoth},
		{[]outcome{{failure: "500"}}, FromEstimate},
	} {
		if got := summarize(c.outcomes, time.Second).TokensSource; got != c.want {
			t.Errorf("%+v: source %q, want %q", c.outcomes, got, c.want)
		}
	}
}

// A run with nothing measured has zero rates, not NaN or a division panic.
func TestSummarizeEmpty(t *testing.T) {
	r := summarize(nil, 0)
	if r.Requests != 0 || r.RequestsPerSecond != 0 || r.Latency != (Latency{}) {
		t.Errorf("empty run: %+v", r)
	}
}

func TestMilli(t *testing.T) {
	for ms, want := range map[float64]string{1445.3: "1.45s", 55.53: "55.5ms", 0.8123: "812µs", 0: "0s"} {
		if got := milli(ms); got != want {
			t.Errorf("milli(%g) = %q, want %q", ms, got, want)
		}
	}
}
