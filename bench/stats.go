package bench

import (
	"math"
	"slices"
	"time"
)

// outcome is one measured request: how long it took, how it ended ("" for
// a success, else its failure kind: the HTTP status as text, "timeout",
// "connection" or "invalid answer"), and what it carried.
type outcome struct {
	latency  time.Duration
	failure  string
	detail   string // the first words of the failure, for the report
	tokens   int    // the server's count, or the estimate when !reported
	reported bool
	estimate int // tokens sent, at one per word
	items    int // inputs embedded or documents ranked
}

// Latency is a distribution of successful requests' latencies, in
// milliseconds.
type Latency struct {
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// Token sources a Report names.
const (
	FromServer   = "server"   // every success carried the server's count
	FromEstimate = "estimate" // none did: words sent, about one token each
	FromBoth     = "server+estimate"
)

// Results are what a run measured.
type Results struct {
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Requests       int     `json:"requests"` // successes
	Failures       int     `json:"failures"`
	// FailuresByKind counts failures by HTTP status ("429", "503") or by
	// "timeout", "connection" or "invalid answer".
	FailuresByKind map[string]int `json:"failures_by_kind"`
	// FirstFailure is the first failure of each kind, as the server or
	// the network said it.
	FirstFailure      map[string]string `json:"first_failure,omitempty"`
	RequestsPerSecond float64           `json:"requests_per_second"`
	ItemsPerSecond    float64           `json:"items_per_second"` // inputs embedded or documents ranked
	Tokens            int               `json:"tokens"`
	TokensPerSecond   float64           `json:"tokens_per_second"`
	// TokensSource says where Tokens came from: FromServer, FromEstimate
	// or FromBoth.
	TokensSource    string  `json:"tokens_source"`
	EstimatedTokens int     `json:"estimated_tokens"` // words sent in successful requests
	Latency         Latency `json:"latency"`
}

// summarize turns the outcomes of a run that took elapsed into Results.
// Rates count successes over the whole run, failures included in its
// time, so a server that refuses half its load is not twice as fast.
func summarize(outcomes []outcome, elapsed time.Duration) Results {
	r := Results{ElapsedSeconds: elapsed.Seconds(), FailuresByKind: map[string]int{}, FirstFailure: map[string]string{}}
	var latencies []time.Duration
	items, reported := 0, 0
	for _, o := range outcomes {
		if o.failure != "" {
			r.Failures++
			r.FailuresByKind[o.failure]++
			if _, seen := r.FirstFailure[o.failure]; !seen {
				r.FirstFailure[o.failure] = o.detail
			}
			continue
		}
		r.Requests++
		latencies = append(latencies, o.latency)
		r.Tokens += o.tokens
		r.EstimatedTokens += o.estimate
		items += o.items
		if o.reported {
			reported++
		}
	}
	switch {
	case reported == 0:
		r.TokensSource = FromEstimate
	case reported == r.Requests:
		r.TokensSource = FromServer
	default:
		r.TokensSource = FromBoth
	}
	if s := elapsed.Seconds(); s > 0 {
		r.RequestsPerSecond = float64(r.Requests) / s
		r.ItemsPerSecond = float64(items) / s
		r.TokensPerSecond = float64(r.Tokens) / s
	}
	r.Latency = latencyOf(latencies)
	return r
}

// latencyOf summarizes latencies; all zero when there are none.
func latencyOf(latencies []time.Duration) Latency {
	if len(latencies) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Latency{
		Min:  ms(sorted[0]),
		Mean: ms(sum / time.Duration(len(sorted))),
		P50:  ms(percentile(sorted, 50)),
		P90:  ms(percentile(sorted, 90)),
		P95:  ms(percentile(sorted, 95)),
		P99:  ms(percentile(sorted, 99)),
		Max:  ms(sorted[len(sorted)-1]),
	}
}

// percentile is the nearest-rank percentile of sorted (ascending, not
// empty): the smallest latency that p percent of the requests did not
// exceed. Unlike interpolation it is always a latency some request had,
// and p99 of fewer than 100 requests is their maximum.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
