//go:build soak

package tests

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// TestSoak is `make soak` (not in CI): SOAK_CLIENTS (default 64) clients
// for SOAK_DURATION (default 10m) over every API family and three models
// whose bookings together exceed the memory budget while any two fit. The
// clients want two of them at a time, the pair moving on every phase, so
// the LRU evicts the idle one and reloads it, under load, every phase.
// Every fourth answer is checked against the reference. It passes with no
// 5xx, no other error but 429 (a model that cannot be loaded yet because
// the two in use hold the budget: the client backs off), no wrong answer,
// resident memory after the warm-up flat within 5%, and as many goroutines
// and open files once the load stops as before it began. SOAK_PHASE sets
// the phase (default: a twentieth of the run, 5 to 30 s); one longer than
// the run is load without churn, to compare with.
func TestSoak(t *testing.T) {
	duration, err := time.ParseDuration(cmp.Or(os.Getenv("SOAK_DURATION"), "10m"))
	if err != nil {
		t.Fatalf("SOAK_DURATION: %v", err)
	}
	clients := 64
	if s := os.Getenv("SOAK_CLIENTS"); s != "" {
		if _, err := fmt.Sscan(s, &clients); err != nil || clients < 1 {
			t.Fatalf("SOAK_CLIENTS %q: want a positive number", s)
		}
	}
	dir := t.TempDir()
	names := []string{"soak-cls", "soak-mean", "soak-rank"}
	models, err := writeModels(dir, map[string]testmodel.Config{
		names[0]: testmodel.Tiny(81, "cls"), names[1]: testmodel.Tiny(82, "mean"), names[2]: testmodel.Tiny(83, "rank"),
	})
	if err != nil {
		t.Fatal(err)
	}
	catalog := "models:\n" +
		"  - {name: soak-cls, kind: embedding, file: soak-cls.gguf}\n" +
		"  - {name: soak-mean, kind: embedding, file: soak-mean.gguf}\n" +
		"  - {name: soak-rank, kind: rerank, pooling: rank, file: soak-rank.gguf}\n"
	args := []string{"--embedding-model", "", "--reranker-model", "", "--keep-alive", "-1", "--log-level", "warn"}
	budget := twoOfThree(t, dir, catalog, names, args)
	sp := serveCatalog(t, true, dir, catalog, append(args, "--max-memory", fmt.Sprint(budget))...)

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	// A phase must outlast the requests in flight when it begins (seconds
	// on a busy machine), or no model is ever idle to be evicted.
	phase := min(max(duration/20, 5*time.Second), 30*time.Second)
	if s := os.Getenv("SOAK_PHASE"); s != "" { // a long phase: load without churn, to compare
		if phase, err = time.ParseDuration(s); err != nil {
			t.Fatalf("SOAK_PHASE: %v", err)
		}
	}
	warmUp := min(3*phase, duration/3) // every pair once: each model loaded and evicted
	window := min(3*phase, (duration-warmUp)/3)
	s := &soak{sp: sp, client: client, models: models, names: names, phase: phase}

	// The baseline: the first pair loaded, then idle, connections closed.
	s.start = time.Now()
	for _, m := range names[:2] {
		if _, err := s.send(rand.New(rand.NewPCG(0, 0)), m, true); err != nil {
			t.Fatalf("warming %s: %v", m, err)
		}
	}
	client.CloseIdleConnections()
	before := s.quiet(t)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	s.start = time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); s.run(ctx, i) }()
	}
	var samples []sample
	var warm map[string]float64
	var warmAt time.Duration
	tick := time.NewTicker(time.Second)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			f := scrapeMetrics(t, sp)
			samples = append(samples, sample{time.Since(s.start), gauge(f, "process_resident_memory_bytes"),
				gauge(f, "go_memstats_heap_inuse_bytes"), gauge(f, "go_goroutines"), gauge(f, "process_open_fds")})
			if warm == nil && time.Since(s.start) >= warmUp {
				warm, warmAt = counters(f), time.Since(s.start)
			}
		}
	}
	tick.Stop()
	wg.Wait()
	end, endAt := counters(scrapeMetrics(t, sp)), time.Since(s.start)
	client.CloseIdleConnections()
	after := s.quiet(t)

	// Figures for the README's Soak paragraph.
	if window < 2*time.Second || warm == nil {
		t.Fatalf("SOAK_DURATION %s is too short for a warm-up of %s and windows after it", duration, warmUp)
	}
	last := samples[len(samples)-1].at
	measured := endAt - warmAt
	// Resident memory over the first window after the warm-up, and over the
	// last one.
	rssStart, rssEnd := windowMean(samples, warmUp, warmUp+window, rss), windowMean(samples, last-window, last+time.Second, rss)
	heapStart, heapEnd := windowMean(samples, warmUp, warmUp+window, heap), windowMean(samples, last-window, last+time.Second, heap)
	t.Logf("soak: %s, %d clients, phase %s: %d requests (%d checked against the reference, %d wrong), %d 429, %d other errors; "+
		"%.0f req/s, %.0f tok/s after warm-up; %d evictions, %d loads (%d after warm-up); RSS %.1f → %.1f MiB (%+.1f%%; min %.1f, max %.1f; Go heap %.1f → %.1f); "+
		"goroutines %d before, %d after; open fds %d before, %d after",
		duration, clients, phase, s.requests.Load(), s.checked.Load(), s.wrong.Load(), s.throttled.Load(), s.failed.Load(),
		(end["requests"]-warm["requests"])/measured.Seconds(), (end["tokens"]-warm["tokens"])/measured.Seconds(),
		int(end["evictions"]), int(end["loads"]), int(end["loads"]-warm["loads"]), rssStart/(1<<20), rssEnd/(1<<20), 100*(rssEnd/rssStart-1),
		slices.MinFunc(samples, byRSS).rss/(1<<20), slices.MaxFunc(samples, byRSS).rss/(1<<20), heapStart/(1<<20), heapEnd/(1<<20),
		before.goroutines, after.goroutines, before.fds, after.fds)
	t.Logf("soak: RSS (MiB) every %s: %s", phase, rssSeries(samples, phase))
	for family, n := range s.byFamily() {
		t.Logf("soak: %s: %d answers", family, n)
	}

	for _, msg := range s.errors() {
		t.Error(msg)
	}
	if n := s.serverErrors.Load(); n > 0 {
		t.Errorf("%d answers were 5xx", n)
	}
	if n := s.wrong.Load(); n > 0 || s.checked.Load() == 0 {
		t.Errorf("%d of %d checked answers were wrong", n, s.checked.Load())
	}
	if end["evictions"] < 2 {
		t.Errorf("%v evictions: the LRU did not churn", end["evictions"])
	}
	if rssEnd > 1.05*rssStart {
		t.Errorf("resident memory grew from %.1f to %.1f MiB after the warm-up (more than 5%%)", rssStart/(1<<20), rssEnd/(1<<20))
	}
	if after.goroutines > before.goroutines+5 {
		t.Errorf("goroutines: %d before the load, %d after it", before.goroutines, after.goroutines)
	}
	if after.fds > before.fds+2 {
		t.Errorf("open file descriptors: %d before the load, %d after it", before.fds, after.fds)
	}
	for _, r := range soakRoutes {
		if s.answered(r.path) == 0 {
			t.Errorf("%s was never answered", r.path)
		}
	}
}

// soak is the state the clients share.
type soak struct {
	sp     *serverProcess
	client *http.Client
	models map[string]*testModel
	names  []string
	phase  time.Duration
	start  time.Time

	requests, checked, wrong, throttled, failed, serverErrors atomic.Int64

	mu     sync.Mutex
	msgs   []string       // the first problems, for the report
	routes map[string]int // 200s by route
}

type sample struct {
	at                         time.Duration
	rss, heap, goroutines, fds float64 // heap: the Go heap's part of rss
}

func byRSS(a, b sample) int { return cmp.Compare(a.rss, b.rss) }

// run is one client: it sends requests until ctx ends, each to one of the phase's two
// models on a route of that model's kind.
func (s *soak) run(ctx context.Context, id int) {
	r := rand.New(rand.NewPCG(uint64(id), 81))
	for n := 0; ctx.Err() == nil; n++ {
		p := int(time.Since(s.start) / s.phase)
		model := s.names[(p+r.IntN(2))%len(s.names)]
		if r.IntN(20) == 0 {
			s.list(ctx)
			continue
		}
		status, err := s.send(r, model, n%4 == 0)
		s.requests.Add(1)
		switch {
		case ctx.Err() != nil:
		case status == http.StatusTooManyRequests:
			s.throttled.Add(1)
			time.Sleep(time.Duration(50+r.IntN(100)) * time.Millisecond)
		case err != nil:
			if status >= 500 {
				s.serverErrors.Add(1)
			}
			s.failed.Add(1)
			s.note(err.Error())
		}
	}
}

// send makes one request to model, checks the answer when check is set,
// and returns the status.
func (s *soak) send(r *rand.Rand, model string, check bool) (int, error) {
	m := s.models[model]
	kind := "embedding"
	if m.cfg.Pooling == "rank" {
		kind = "rerank"
	}
	var routes []soakRoute
	for _, rt := range soakRoutes {
		if rt.kind == kind {
			routes = append(routes, rt)
		}
	}
	rt := routes[r.IntN(len(routes))]
	in := newSoakInput(r, kind)
	body, _ := json.Marshal(rt.body(model, in))
	resp, err := s.client.Post(s.sp.url+rt.path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", rt.path, model, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return resp.StatusCode, fmt.Errorf("%s %s: reading the answer: %w", rt.path, model, err)
	case resp.StatusCode != http.StatusOK:
		return resp.StatusCode, fmt.Errorf("%s %s: %d %.300s", rt.path, model, resp.StatusCode, raw)
	}
	s.mu.Lock()
	if s.routes == nil {
		s.routes = map[string]int{}
	}
	s.routes[rt.family+" "+rt.path]++
	s.mu.Unlock()
	if check {
		s.checked.Add(1)
		if err := rt.check(raw, m, in); err != nil {
			s.wrong.Add(1)
			return resp.StatusCode, fmt.Errorf("%s %s: wrong answer: %w", rt.path, model, err)
		}
	}
	return resp.StatusCode, nil
}

// list reads the model lists, which walk the catalog while models load and
// unload.
func (s *soak) list(ctx context.Context) {
	for _, path := range []string{"/v1/models", "/api/tags"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.sp.url+path, nil)
		resp, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				s.failed.Add(1)
				s.note(fmt.Sprintf("GET %s: %v", path, err))
			}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.requests.Add(1)
		if resp.StatusCode != http.StatusOK {
			if resp.StatusCode >= 500 {
				s.serverErrors.Add(1)
			}
			s.failed.Add(1)
			s.note(fmt.Sprintf("GET %s: %d", path, resp.StatusCode))
		}
	}
}

func (s *soak) note(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) < 20 {
		s.msgs = append(s.msgs, msg)
	}
}

func (s *soak) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *soak) answered(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.routes {
		if strings.HasSuffix(k, " "+path) {
			n += v
		}
	}
	return n
}

func (s *soak) byFamily() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.routes)
}

// quietCounts are the server's goroutines and open files with no request in
// flight.
type quietCounts struct{ goroutines, fds int }

// quiet waits for the server to settle (connections closed, handlers gone)
// and reads its goroutines and open files: the lowest of a few scrapes.
func (s *soak) quiet(t *testing.T) quietCounts {
	t.Helper()
	time.Sleep(time.Second)
	q := quietCounts{goroutines: 1 << 30, fds: 1 << 30}
	for range 5 {
		f := scrapeMetrics(t, s.sp)
		q.goroutines = min(q.goroutines, int(gauge(f, "go_goroutines")))
		q.fds = min(q.fds, int(gauge(f, "process_open_fds")))
		time.Sleep(200 * time.Millisecond)
	}
	return q
}
