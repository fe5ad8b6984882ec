package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func okEmbeddings(w http.ResponseWriter, _ *http.Request, body map[string]any) {
	reply(w, map[string]any{"data": make([]map[string]any, len(body["input"].([]any)))})
}

func embedLoad(url string) Config {
	return Config{URL: url, API: OpenAI, Concurrency: 2, Inputs: 2, Tokens: 5, Seed: 7}
}

// --duration ends the run: no request starts after it, those in flight
// finish and count, and the run takes about that long.
func TestDurationIsHonoured(t *testing.T) {
	const latency, duration = 20 * time.Millisecond, 300 * time.Millisecond
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		time.Sleep(latency)
		okEmbeddings(w, r, body)
	})
	cfg := embedLoad(f.URL)
	cfg.Duration = duration
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// The slack is for a loaded machine's scheduling, not for requests
	// started late: those are checked below.
	if took < duration || took > duration+latency+time.Second {
		t.Errorf("a %v run took %v", duration, took)
	}
	if rep.ElapsedSeconds < duration.Seconds() || rep.ElapsedSeconds > took.Seconds() {
		t.Errorf("elapsed %.3f s, want between %v and %v", rep.ElapsedSeconds, duration, took)
	}
	// Two clients, 20 ms each: about 30 requests; a loaded machine may
	// manage fewer, never more.
	if rep.Requests < 5 || rep.Requests > 2*int(duration/latency)+2 {
		t.Errorf("%d requests in %v from 2 clients at %v each", rep.Requests, duration, latency)
	}
	last := slices.MaxFunc(f.arrivals, func(a, b time.Time) int { return a.Compare(b) })
	if late := last.Sub(start); late > duration+latency+250*time.Millisecond {
		t.Errorf("a request arrived %v after the start of a %v run", late, duration)
	}
	if len(f.received()) != rep.Requests {
		t.Errorf("the server got %d requests, the report counts %d", len(f.received()), rep.Requests)
	}
}

// --requests sends exactly that many, however many clients share them.
func TestRequestsAreExact(t *testing.T) {
	f := newFake(t, okEmbeddings)
	cfg := embedLoad(f.URL)
	cfg.Concurrency, cfg.Requests, cfg.Warmup = 4, 17, 3
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 17 || len(f.received()) != 20 {
		t.Errorf("report %d requests, server %d; want 17 measured + 3 warm-up", rep.Requests, len(f.received()))
	}
}

// The same seed sends the same requests whatever the clients and the
// warm-up; another seed sends others.
func TestLoadIsDeterministic(t *testing.T) {
	bodies := func(seed int64, clients, warmup int) []string {
		f := newFake(t, okEmbeddings)
		cfg := embedLoad(f.URL)
		cfg.Seed, cfg.Concurrency, cfg.Requests, cfg.Warmup = seed, clients, 8, warmup
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		got := f.received()
		slices.Sort(got)
		return got
	}
	a := bodies(1, 1, 0)
	if b := bodies(1, 4, 0); !slices.Equal(a, b) {
		t.Errorf("seed 1 sent different requests from 1 and 4 clients:\n%v\n%v", a, b)
	}
	withWarmup := bodies(1, 2, 3)
	if len(withWarmup) != 11 {
		t.Fatalf("%d requests with 3 warm-ups, want 11", len(withWarmup))
	}
	for _, body := range a {
		if !slices.Contains(withWarmup, body) {
			t.Errorf("with a warm-up the measured requests changed: %s is missing", body)
		}
	}
	if c := bodies(2, 1, 0); slices.Equal(a, c) {
		t.Error("seeds 1 and 2 sent the same requests")
	}
	if len(slices.Compact(slices.Clone(a))) != len(a) {
		t.Error("one run sent the same request twice: a cache would answer it")
	}
}

// A warm-up in which every request fails stops the run before measuring,
// saying why: a wrong key, route or address is not a benchmark.
func TestWarmupFailureStops(t *testing.T) {
	var calls atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid api key"}`))
	})
	cfg := embedLoad(f.URL)
	cfg.Requests, cfg.Warmup = 50, 2
	rep, err := Run(context.Background(), cfg)
	if err == nil || rep != nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid api key") {
		t.Errorf("got %v, %v; want an error quoting the 401", rep, err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests sent, want the 2 warm-ups only", calls.Load())
	}
	// Nothing listening.
	cfg.URL = "http://127.0.0.1:1"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "connection") {
		t.Errorf("no server: %v, want a connection failure", err)
	}
}

// Without a warm-up a run whose every request failed still reports, and
// says so in its error.
func TestNoSuccess(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	cfg := embedLoad(f.URL)
	cfg.Requests = 4
	rep, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrNoSuccess) || rep == nil || rep.FailuresByKind["500"] != 4 {
		t.Errorf("got %+v, %v; want 4 × 500 and ErrNoSuccess", rep, err)
	}
}

// Cancelling (Ctrl-C) ends the run at once with what it measured; the
// requests it cut short count neither way.
func TestInterrupt(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
		okEmbeddings(w, r, body)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Millisecond)
	defer cancel()
	cfg := embedLoad(f.URL)
	cfg.Duration = time.Minute
	start := time.Now()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("an interrupted run returned after %v", took)
	}
	if !rep.Interrupted || rep.Requests == 0 || rep.Failures != 0 {
		t.Errorf("interrupted %v, %d ok, %d failed; want interrupted with the successes so far and no failures", rep.Interrupted, rep.Requests, rep.Failures)
	}
}

// Progress shows while the run goes, ending with the final count.
func TestProgress(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		time.Sleep(10 * time.Millisecond)
		okEmbeddings(w, r, body)
	})
	var out strings.Builder
	cfg := embedLoad(f.URL)
	cfg.Duration, cfg.Warmup, cfg.Progress, cfg.ProgressEvery = 200*time.Millisecond, 1, &out, 40*time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	measured := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "measured: ") {
			measured++
		}
	}
	if !strings.HasPrefix(lines[0], "warm-up: ") || measured < 3 {
		t.Errorf("progress:\n%s\nwant a warm-up line, then a measured line every 40ms", out.String())
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, " of 200ms, ") || !strings.Contains(last, fmt.Sprintf(", %d requests (0 failed)", rep.Requests)) {
		t.Errorf("last progress line %q does not give the final %d requests", last, rep.Requests)
	}
}

func TestConfigRefused(t *testing.T) {
	good := Config{URL: "http://localhost:7987", API: OpenAI, Concurrency: 1, Inputs: 1, Tokens: 1, Requests: 1}
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.URL = "localhost:7987" }, "--url"},
		{func(c *Config) { c.URL = "ftp://x/" }, "--url"},
		{func(c *Config) { c.Concurrency = 0 }, "--concurrency"},
		{func(c *Config) { c.Tokens = 0 }, "--tokens"},
		{func(c *Config) { c.Inputs = 0 }, "--inputs"},
		{func(c *Config) { c.API, c.Documents, c.QueryTokens = Cohere, 0, 4 }, "--documents"},
		{func(c *Config) { c.API, c.Documents, c.QueryTokens = TEIRerank, 3, 0 }, "--query-tokens"},
		{func(c *Config) { c.Requests = 0 }, "--duration or --requests"},
		{func(c *Config) { c.Warmup = -1 }, "negative"},
		{func(c *Config) { c.API = "grpc" }, "unknown API"},
	} {
		cfg := good
		c.change(&cfg)
		if _, err := cfg.endpoint(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", cfg, err, c.want)
		}
	}
	for url, want := range map[string]string{
		"http://localhost:7987":           "http://localhost:7987/v1/embeddings",
		"http://localhost:7987/":          "http://localhost:7987/v1/embeddings",
		"http://localhost:8080/embedding": "http://localhost:8080/embedding",
	} {
		cfg := good
		cfg.URL = url
		if got, err := cfg.endpoint(); err != nil || got != want {
			t.Errorf("--url %s: endpoint %s, %v; want %s", url, got, err, want)
		}
	}
	if _, err := ParseAPI("TEI-Rerank"); err != nil {
		t.Error(err)
	}
	if _, err := ParseAPI("vllm"); err == nil || !strings.Contains(err.Error(), "openai, cohere, tei, tei-rerank, ollama") {
		t.Errorf("ParseAPI(vllm): %v, want the list of APIs", err)
	}
}
