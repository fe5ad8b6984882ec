package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Report is a run's load and what it measured, as --json prints it.
type Report struct {
	API            API       `json:"api"`
	URL            string    `json:"url"` // the endpoint requests went to
	Model          string    `json:"model,omitempty"`
	Concurrency    int       `json:"concurrency"`
	Inputs         int       `json:"inputs_per_request,omitempty"`
	Documents      int       `json:"documents_per_query,omitempty"`
	QueryTokens    int       `json:"query_tokens,omitempty"`
	TokensPerInput int       `json:"tokens_per_input"` // words per input or document
	Seed           int64     `json:"seed"`
	Warmup         int       `json:"warmup_requests"`
	Started        time.Time `json:"started"`
	// Interrupted is set when the run was cancelled (Ctrl-C) before its
	// end: the results cover the part that ran.
	Interrupted bool `json:"interrupted,omitempty"`
	Results
}

// ErrNoSuccess is returned, with the report, when no measured request
// succeeded: the numbers then describe failures only.
var ErrNoSuccess = errors.New("no request succeeded")

// Run sends the load and measures it: Warmup requests first, then
// requests from Concurrency clients until Duration or Requests. Cancelling
// ctx stops it early with the results so far. The error is a refused
// Config, a warm-up in which every request failed (a server down, a wrong
// route or key), or ErrNoSuccess.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	endpoint, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, shape: shapes[cfg.API], endpoint: endpoint, client: &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			// No proxy: it would be measured along with the server.
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}}
	defer r.client.CloseIdleConnections()

	if cfg.Warmup > 0 {
		warm, _, _ := r.phase(ctx, "warm-up", warmupStream, min(cfg.Concurrency, cfg.Warmup), cfg.Warmup, 0)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted during the warm-up: %w", err)
		}
		if res := summarize(warm, 0); res.Requests == 0 {
			return nil, fmt.Errorf("every warm-up request to %s failed (check --url, --api, --model and --api-key): %s", endpoint, describeFailures(res))
		}
	}

	rep := &Report{API: cfg.API, URL: endpoint, Model: cfg.Model, Concurrency: cfg.Concurrency,
		TokensPerInput: cfg.Tokens, Seed: cfg.Seed, Warmup: cfg.Warmup, Started: time.Now().UTC()}
	if cfg.API.rerank() {
		rep.Documents, rep.QueryTokens = cfg.Documents, cfg.QueryTokens
	} else {
		rep.Inputs = cfg.Inputs
	}
	outcomes, elapsed, interrupted := r.phase(ctx, "measured", measuredStream, cfg.Concurrency, cfg.Requests, cfg.Duration)
	rep.Results, rep.Interrupted = summarize(outcomes, elapsed), interrupted
	if rep.Requests == 0 && !interrupted {
		return rep, fmt.Errorf("%w: %s", ErrNoSuccess, describeFailures(rep.Results))
	}
	return rep, nil
}

type runner struct {
	cfg      Config
	shape    shape
	endpoint string
	client   *http.Client
}

// phase sends requests of stream from clients goroutines until requests
// have been sent (0: no bound) or duration has passed (0: no bound), and
// waits for those in flight. It returns their outcomes, the time it took
// and whether ctx ended it.
func (r *runner) phase(ctx context.Context, name string, stream uint64, clients, requests int, duration time.Duration) ([]outcome, time.Duration, bool) {
	var (
		next       atomic.Uint64
		mu         sync.Mutex
		outcomes   []outcome
		wg         sync.WaitGroup
		start      = time.Now()
		deadline   = start.Add(duration)
		live       = &tally{}
		progressed = r.startProgress(name, start, requests, duration, live)
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if requests > 0 && n >= uint64(requests) || duration > 0 && !time.Now().Before(deadline) {
					return
				}
				o, ok := r.send(ctx, stream, n)
				if !ok {
					return // cancelled: neither a success nor the server's failure
				}
				live.add(o)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	progressed()
	return outcomes, elapsed, ctx.Err() != nil
}

// send makes request n of stream. ok is false when ctx was cancelled
// while it was in flight.
func (r *runner) send(ctx context.Context, stream, n uint64) (o outcome, ok bool) {
	p := r.cfg.payloadOf(stream, n)
	body, err := json.Marshal(r.shape.body(r.cfg.Model, p))
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		panic(err) // the endpoint was parsed by Config.endpoint
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	o = outcome{latency: time.Since(start), estimate: p.estimate, items: len(p.texts)}
	switch {
	case err != nil && ctx.Err() != nil:
		return o, false
	case err != nil:
		o.failure, o.detail = transportFailure(err), err.Error()
	case resp.StatusCode/100 != 2:
		o.failure, o.detail = strconv.Itoa(resp.StatusCode), snippet(data)
	default:
		tokens, reported, err := r.shape.answer(resp.Header, data, len(p.texts))
		switch {
		case err != nil:
			o.failure, o.detail = "invalid answer", err.Error()
		case reported:
			o.tokens, o.reported = tokens, true
		default:
			o.tokens = p.estimate
		}
	}
	return o, true
}

// transportFailure names a request that got no answer.
func transportFailure(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection"
}

// describeFailures says what went wrong, for an error message.
func describeFailures(res Results) string {
	if res.Failures == 0 {
		return "no request completed"
	}
	var b bytes.Buffer
	for i, kind := range sortedKinds(res.FailuresByKind) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d × %s (first: %s)", res.FailuresByKind[kind], kind, res.FirstFailure[kind])
	}
	return b.String()
}
