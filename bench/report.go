package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteText prints the report for a reader: the load, then throughput,
// latency and failures.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	model := r.Model
	if model == "" {
		model = "(server default)"
	}
	fmt.Fprintf(&b, "%s %s, model %s\n", r.API, r.URL, model)
	if r.API.rerank() {
		fmt.Fprintf(&b, "load:       %d clients, 1 query of %d words × %d documents of %d words, seed %d\n",
			r.Concurrency, r.QueryTokens, r.Documents, r.TokensPerInput, r.Seed)
	} else {
		fmt.Fprintf(&b, "load:       %d clients, %d inputs/request of %d words, seed %d\n", r.Concurrency, r.Inputs, r.TokensPerInput, r.Seed)
	}
	interrupted := ""
	if r.Interrupted {
		interrupted = ", interrupted"
	}
	fmt.Fprintf(&b, "requests:   %d succeeded, %d failed in %s%s\n", r.Requests, r.Failures, seconds(r.ElapsedSeconds), interrupted)
	items := "inputs"
	if r.API.rerank() {
		items = "documents"
	}
	fmt.Fprintf(&b, "throughput: %.2f requests/s, %.1f %s/s, %.1f tokens/s (%s)\n",
		r.RequestsPerSecond, r.ItemsPerSecond, items, r.TokensPerSecond, sourceNote(r.TokensSource))
	l := r.Latency
	fmt.Fprintf(&b, "latency:    p50 %s, p90 %s, p95 %s, p99 %s (min %s, mean %s, max %s)\n",
		milli(l.P50), milli(l.P90), milli(l.P95), milli(l.P99), milli(l.Min), milli(l.Mean), milli(l.Max))
	for _, kind := range sortedKinds(r.FailuresByKind) {
		fmt.Fprintf(&b, "failures:   %d × %s, first: %s\n", r.FailuresByKind[kind], kind, r.FirstFailure[kind])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sourceNote(source string) string {
	switch source {
	case FromServer:
		return "as the server counted them"
	case FromBoth:
		return "the server's counts where it gave them, else estimated at one per word"
	}
	return "estimated at one per word: this server reports no token counts"
}

// sortedKinds orders failure kinds, most frequent first.
func sortedKinds(byKind map[string]int) []string {
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if byKind[kinds[i]] != byKind[kinds[j]] {
			return byKind[kinds[i]] > byKind[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	return kinds
}

// milli prints a latency with three or four significant digits: 1.45s,
// 55.5ms, 812µs.
func milli(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Millisecond).String()
}
