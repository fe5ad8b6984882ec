package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is an httptest server that records what it was sent.
type fake struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   []string
	arrivals []time.Time
}

func newFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body map[string]any)) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Errorf("undecodable request body: %v", err)
		}
		data, _ := json.Marshal(body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(data))
		f.arrivals = append(f.arrivals, time.Now())
		f.mu.Unlock()
		answer(w, r, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

// strs reads a JSON array of strings.
func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			t.Fatalf("%v is not a string", x)
		}
	}
	return out
}

// wordsOf checks every text has n words.
func wordsOf(t *testing.T, texts []string, n int) {
	t.Helper()
	for _, s := range texts {
		if got := len(strings.Fields(s)); got != n {
			t.Errorf("text %q has %d words, want %d", s, got, n)
		}
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func repeat[T any](n int, v T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Each API's requests go to its route with the body its servers read, and
// its answer's token count (usage, meta, a header) is what the report
// counts.
func TestAPIShapes(t *testing.T) {
	const inputs, documents, tokens, queryTokens = 3, 4, 6, 2
	for _, c := range []struct {
		name   string
		api    API
		path   string // added to the fake's URL; "" uses the API's route
		route  string
		check  func(t *testing.T, body map[string]any) int // returns the texts sent
		answer func(w http.ResponseWriter, n int)
		source string
		tokens int // per request, as the server reports
	}{
		{
			name: "openai", api: OpenAI, route: "/v1/embeddings",
			check: func(t *testing.T, b map[string]any) int {
				if b["model"] != "m" || b["encoding_format"] != "float" {
					t.Errorf("body %v: want model m, encoding_format float", b)
				}
				in := strs(t, b["input"])
				wordsOf(t, in, tokens)
				return len(in)
			},
			answer: func(w http.ResponseWriter, n int) {
				reply(w, map[string]any{"data": repeat(n, map[string]any{"embedding": []float32{0.5}}), "usage": map[string]int{"prompt_tokens": 21, "total_tokens": 21}})
			},
			source: FromServer, tokens: 21,
		},
		{
			name: "cohere v1 (jina usage)", api: Cohere, route: "/v1/rerank",
			check: func(t *testing.T, b map[string]any) int {
				if b["model"] != "m" || b["return_documents"] != false {
					t.Errorf("body %v: want model m, return_documents false", b)
				}
				wordsOf(t, []string{b["query"].(string)}, queryTokens)
				docs := strs(t, b["documents"])
				wordsOf(t, docs, tokens)
				return len(docs)
			},
			answer: func(w http.ResponseWriter, n int) {
				reply(w, map[string]any{"results": repeat(n, map[string]any{"index": 0, "relevance_score": 0.5}), "usage": map[string]int{"total_tokens": 40}})
			},
			source: FromServer, tokens: 40,
		},
		{
			name: "cohere v2 (meta tokens)", api: Cohere, path: "/v2/rerank", route: "/v2/rerank",
			check: func(t *testing.T, b map[string]any) int { return len(strs(t, b["documents"])) },
			answer: func(w http.ResponseWriter, n int) {
				reply(w, map[string]any{"results": repeat(n, map[string]any{"index": 0}), "meta": map[string]any{"tokens": map[string]int{"input_tokens": 33}}})
			},
			source: FromServer, tokens: 33,
		},
		{
			name: "tei with X-Compute-Tokens", api: TEI, route: "/embed",
			check: func(t *testing.T, b map[string]any) int {
				in := strs(t, b["inputs"])
				wordsOf(t, in, tokens)
				return len(in)
			},
			answer: func(w http.ResponseWriter, n int) {
				w.Header().Set("X-Compute-Tokens", "19")
				reply(w, repeat(n, []float32{0.1, 0.2}))
			},
			source: FromServer, tokens: 19,
		},
		{
			name: "tei without a count", api: TEI, route: "/embed",
			check:  func(t *testing.T, b map[string]any) int { return len(strs(t, b["inputs"])) },
			answer: func(w http.ResponseWriter, n int) { reply(w, repeat(n, []float32{0.1})) },
			source: FromEstimate, tokens: inputs * tokens,
		},
		{
			name: "tei-rerank", api: TEIRerank, route: "/rerank",
			check: func(t *testing.T, b map[string]any) int {
				wordsOf(t, []string{b["query"].(string)}, queryTokens)
				texts := strs(t, b["texts"])
				wordsOf(t, texts, tokens)
				return len(texts)
			},
			answer: func(w http.ResponseWriter, n int) {
				reply(w, repeat(n, map[string]any{"index": 0, "score": 0.1}))
			},
			source: FromEstimate, tokens: documents * (queryTokens + tokens),
		},
		{
			name: "ollama", api: Ollama, route: "/api/embed",
			check: func(t *testing.T, b map[string]any) int {
				if b["model"] != "m" {
					t.Errorf("body %v: want model m", b)
				}
				return len(strs(t, b["input"]))
			},
			answer: func(w http.ResponseWriter, n int) {
				reply(w, map[string]any{"model": "m", "embeddings": repeat(n, []float32{0.3}), "prompt_eval_count": 17})
			},
			source: FromServer, tokens: 17,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				if r.Method != http.MethodPost || r.URL.Path != c.route {
					t.Errorf("%s %s, want POST %s", r.Method, r.URL.Path, c.route)
				}
				if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer sk-test" {
					t.Errorf("headers %v: want JSON and the API key as a Bearer token", r.Header)
				}
				c.answer(w, c.check(t, body))
			})
			rep, err := Run(context.Background(), Config{URL: f.URL + c.path, API: c.api, Model: "m", APIKey: "sk-test",
				Concurrency: 2, Inputs: inputs, Documents: documents, QueryTokens: queryTokens, Tokens: tokens,
				Requests: 5, Warmup: 1, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.received()) != 6 {
				t.Errorf("the server got %d requests, want 1 warm-up + 5", len(f.received()))
			}
			items := inputs
			if c.api.rerank() {
				items = documents
			}
			if rep.Requests != 5 || rep.Failures != 0 || rep.TokensSource != c.source || rep.Tokens != 5*c.tokens {
				t.Errorf("report: %d ok, %d failed, %d tokens from %s; want 5 ok, 0 failed, %d tokens from %s",
					rep.Requests, rep.Failures, rep.Tokens, rep.TokensSource, 5*c.tokens, c.source)
			}
			wantEstimate := 5 * inputs * tokens
			if c.api.rerank() {
				wantEstimate = 5 * documents * (queryTokens + tokens)
			}
			if rep.EstimatedTokens != wantEstimate || rep.ItemsPerSecond <= 0 || math.Abs(rep.ItemsPerSecond/rep.RequestsPerSecond-float64(items)) > 1e-9 {
				t.Errorf("estimate %d (want %d), %g items/s at %g requests/s (want %d per request)",
					rep.EstimatedTokens, wantEstimate, rep.ItemsPerSecond, rep.RequestsPerSecond, items)
			}
			if !strings.HasSuffix(rep.URL, c.route) {
				t.Errorf("report URL %s, want the endpoint ending in %s", rep.URL, c.route)
			}
		})
	}
}

// Failures are counted by kind: each status, an answer that does not hold
// one result per input, a connection cut, a timeout.
func TestFailuresCounted(t *testing.T) {
	var mu sync.Mutex
	n := 0
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		switch i % 6 {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"busy"}`))
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			reply(w, map[string]any{"data": []any{}}) // no embedding for the input
		case 4:
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 5:
			select { // past the client's timeout, which hangs up
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		default:
			reply(w, map[string]any{"data": []any{map[string]any{}}})
		}
	})
	rep, err := Run(context.Background(), Config{URL: f.URL, API: OpenAI, Concurrency: 1, Inputs: 1, Tokens: 3,
		Requests: 12, Seed: 1, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"429": 2, "503": 2, "invalid answer": 2, "connection": 2, "timeout": 2}
	if rep.Requests != 2 || rep.Failures != 10 || fmt.Sprint(rep.FailuresByKind) != fmt.Sprint(want) {
		t.Errorf("%d ok, %d failed %v; want 2 ok, 10 failed %v", rep.Requests, rep.Failures, rep.FailuresByKind, want)
	}
	if !strings.Contains(rep.FirstFailure["429"], "busy") {
		t.Errorf("the 429's first failure %q does not quote the server", rep.FirstFailure["429"])
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"2 succeeded, 10 failed", "2 × 429", "2 × timeout", "p99"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report lacks %q:\n%s", s, text.String())
		}
	}
}
