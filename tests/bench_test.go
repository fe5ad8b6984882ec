package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/bench"
)

// benchJSON runs `rerank-api bench --json` against the shared server and
// decodes its report.
func benchJSON(t *testing.T, args ...string) (bench.Report, cliResult) {
	t.Helper()
	res := runCLI(t, append([]string{"bench", "--url", shared.srv.url, "--json"}, args...)...)
	var rep bench.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("bench %v: exit %d, undecodable report %q: %v; stderr:\n%s", args, res.code, res.stdout, err, tail(res.stderr))
	}
	return rep, res
}

// Every API shape bench speaks is one rerank-api serves: each load
// completes without a failure, with the server's token counts where the
// API carries them, and progress on stderr.
func TestBenchEveryAPI(t *testing.T) {
	small := []string{"--tokens", "4", "--query-tokens", "2", "--documents", "5", "--inputs", "3", "--concurrency", "2", "--requests", "6"}
	for _, c := range []struct {
		api, model, path, route, source string
	}{
		{"openai", "tiny-cls", "", "/v1/embeddings", bench.FromServer},
		{"cohere", "tiny-rank", "", "/v1/rerank", bench.FromServer},
		{"cohere", "tiny-xlmr-rank", "/v2/rerank", "/v2/rerank", bench.FromServer},
		{"tei", "tiny-mean", "", "/embed", bench.FromServer},
		{"tei-rerank", "tiny-rank", "", "/rerank", bench.FromServer},
		{"ollama", "tiny-cls", "", "/api/embed", bench.FromServer},
	} {
		t.Run(c.api+c.path, func(t *testing.T) {
			args := append([]string{"--api", c.api, "--model", c.model, "--url", shared.srv.url + c.path}, small...)
			rep, res := benchJSON(t, args...)
			if res.code != 0 || rep.Requests != 6 || rep.Failures != 0 {
				t.Fatalf("exit %d, %d ok, %d failed %v; want 6 ok; stderr:\n%s", res.code, rep.Requests, rep.Failures, rep.FirstFailure, tail(res.stderr))
			}
			if rep.URL != shared.srv.url+c.route || rep.TokensSource != c.source || rep.Tokens <= 0 || rep.TokensPerSecond <= 0 {
				t.Errorf("endpoint %s, %d tokens (%g/s) from %s; want %s, tokens from %s", rep.URL, rep.Tokens, rep.TokensPerSecond, rep.TokensSource, c.route, c.source)
			}
			if l := rep.Latency; l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
				t.Errorf("latency percentiles out of order: %+v", l)
			}
			if !strings.Contains(res.stderr, "warm-up: ") || !strings.Contains(res.stderr, "measured: ") {
				t.Errorf("no progress on stderr:\n%s", res.stderr)
			}
		})
	}
}

// The server's refusals are counted by status; a run in which none
// succeeded exits 1 after its report.
func TestBenchCountsFailures(t *testing.T) {
	// tiny-rank is a reranker: embedding with it is the client's mistake.
	rep, res := benchJSON(t, "--api", "openai", "--model", "tiny-rank", "--tokens", "3", "--requests", "3", "--warmup", "0")
	if res.code != 1 || !strings.Contains(res.stderr, "no request succeeded") {
		t.Errorf("exit %d, stderr %q; want 1 and why", res.code, res.stderr)
	}
	if rep.Requests != 0 || rep.Failures != 3 || len(rep.FailuresByKind) != 1 {
		t.Fatalf("%d ok, %d failed %v; want 3 failures of one kind", rep.Requests, rep.Failures, rep.FailuresByKind)
	}
	for kind := range rep.FailuresByKind {
		if !strings.HasPrefix(kind, "4") || !strings.Contains(rep.FirstFailure[kind], "tiny-rank") {
			t.Errorf("failure %s: %s; want a 4xx naming the model", kind, rep.FirstFailure[kind])
		}
	}
	// With a warm-up, the same mistake stops before measuring.
	res = runCLI(t, "bench", "--url", shared.srv.url, "--model", "tiny-rank", "--requests", "3")
	if res.code != 1 || !strings.Contains(res.stderr, "every warm-up request") || res.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and the warm-up's failure", res.code, res.stdout, res.stderr)
	}
}

// --duration bounds the run, and the text report gives throughput and
// latency.
func TestBenchDurationAndText(t *testing.T) {
	res := runCLI(t, "bench", "--url", shared.srv.url, "--model", "tiny-cls", "--tokens", "4", "--concurrency", "2", "--duration", "1500ms")
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, tail(res.stderr))
	}
	for _, want := range []string{"openai " + shared.srv.url + "/v1/embeddings, model tiny-cls", "2 clients, 1 inputs/request of 4 words",
		"requests/s", "tokens/s (as the server counted them)", "latency:    p50 "} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(res.stderr, "of 1.5s") {
		t.Errorf("progress does not show the duration:\n%s", res.stderr)
	}
}

// Bad arguments get a clear error and exit 1 before any request is sent.
func TestBenchRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--api", "grpc"}, "unknown API"},
		{[]string{"--url", "localhost:7987"}, "--url"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--api", "cohere", "--documents", "-1"}, "--documents"},
		{[]string{"--duration", "0s"}, "--duration or --requests"},
		{[]string{"http://localhost:7987"}, "no arguments"},
	} {
		res := runCLI(t, append([]string{"bench"}, c.args...)...)
		if res.code != 1 || !strings.Contains(res.stderr, c.want) || res.stdout != "" {
			t.Errorf("bench %v: exit %d, stdout %q, stderr %q; want 1 and an error naming %s", c.args, res.code, res.stdout, res.stderr, c.want)
		}
	}
}
