package tests

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// A document whose only relevant passage lies past the model's 64 positions
// ranks first because it is scored in chunks, and does not when it is
// truncated. Random text scores within ~0.01 logits of random text on these
// models, so the texts are chosen with the reference: the passage repeats
// the word whose chunk scores highest, after filler repeating the word whose
// chunk scores lowest, and the test checks with the reference that the best
// chunk beats every other document by a margin while the first chunk (all
// truncation sees) loses to them.
func TestRerankLongDocument(t *testing.T) {
	m := shared.models["tiny-rank"]
	const query = "search query"
	q := m.words(query)
	r := rand.New(rand.NewPCG(11, 12))
	others := []string{randomText(r, 8), randomText(r, 15), randomText(r, 30)}
	bestOther, othersTokens := -1.0, 0
	for _, doc := range others {
		_, raw, n := m.expectedDocument(q, m.words(doc), 1)
		bestOther, othersTokens = max(bestOther, raw), othersTokens+n
	}
	repeat := func(word string, n int) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	high, low := "", ""
	highScore, lowScore := -1e9, 1e9
	for _, w := range vocabWords[:120] {
		_, raw := m.expectedScore(q, m.words(repeat(w, 59)), false)
		if raw > highScore {
			high, highScore = w, raw
		}
		if raw < lowScore {
			low, lowScore = w, raw
		}
	}
	long := repeat(low, 70) + " " + repeat(high, 50) // 120 tokens: chunks [0,59) [52,111) [61,120)
	_, want, tokens := m.expectedDocument(q, m.words(long), 10)
	_, truncated, _ := m.expectedDocument(q, m.words(long), 1)
	const margin = 2 * tolerance
	if want < bestOther+margin || truncated > bestOther-margin {
		t.Fatalf("reference: long document %.4f chunked, %.4f truncated, others up to %.4f: no margin of %.0e; change the seeds",
			want, truncated, bestOther, margin)
	}
	docs := append([]string{long}, others...)
	for _, c := range []struct {
		name      string
		options   map[string]any
		first     bool
		wantScore float64
	}{
		{"chunked", nil, true, want},
		{"truncated", map[string]any{"truncate": true}, false, truncated},
		{"one chunk", map[string]any{"max_chunks_per_doc": 1}, false, truncated},
	} {
		body := map[string]any{"query": query, "documents": docs, "raw_scores": true}
		for k, v := range c.options {
			body[k] = v
		}
		var resp api.CohereRerankResponse
		if r := shared.srv.post(t, "/v1/rerank", body, &resp); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.name, r.StatusCode)
		}
		if (resp.Results[0].Index == 0) != c.first {
			t.Errorf("%s: the long document ranked first %v, want %v (%+v)", c.name, !c.first, c.first, resp.Results)
		}
		if got := scores(resp)[0]; got < c.wantScore-tolerance || got > c.wantScore+tolerance {
			t.Errorf("%s: long document scored %.5f, reference %.5f", c.name, got, c.wantScore)
		}
		if c.name == "chunked" && resp.Meta.Tokens.InputTokens != tokens+othersTokens {
			t.Errorf("chunked: %d tokens, want %d (every chunk counted)", resp.Meta.Tokens.InputTokens, tokens+othersTokens)
		}
	}
}

// 32 concurrent requests of 50 documents each share the batcher and all get
// their own, correct scores.
func TestRerankConcurrent(t *testing.T) {
	m := shared.models["tiny-rank"]
	r := rand.New(rand.NewPCG(21, 22))
	queries := []string{"search query", "the cat and the dog in the garden"}
	pool := make([]string, 60)
	want := make([][]float64, len(queries))
	for qi, query := range queries {
		want[qi] = make([]float64, len(pool))
		for i := range pool {
			if qi == 0 {
				pool[i] = randomText(r, 1+r.IntN(40))
			}
			want[qi][i], _ = m.expectedScore(m.words(query), m.words(pool[i]), false)
		}
	}
	const clients, perRequest = 32, 50
	var wg sync.WaitGroup
	errs := make(chan string, clients*perRequest)
	for c := range clients {
		picks := r.Perm(len(pool))[:perRequest]
		wg.Add(1)
		go func() {
			defer wg.Done()
			docs := make([]string, perRequest)
			for i, p := range picks {
				docs[i] = pool[p]
			}
			var resp api.CohereRerankResponse
			status := shared.srv.post(t, "/v1/rerank", map[string]any{"query": queries[c%2], "documents": docs, "return_documents": false}, &resp).StatusCode
			if status != http.StatusOK || len(resp.Results) != perRequest {
				errs <- fmt.Sprintf("client %d: status %d, %d results", c, status, len(resp.Results))
				return
			}
			for _, res := range resp.Results {
				if d := res.RelevanceScore - want[c%2][picks[res.Index]]; d > tolerance || d < -tolerance {
					errs <- fmt.Sprintf("client %d document %d: off by %.1e", c, res.Index, d)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Every error the rerank routes return, in Cohere's envelope ({id, message})
// or TEI's ({error, error_type}).
func TestRerankErrors(t *testing.T) {
	tooMany := make([]string, 61) // the shared server allows 60
	for i := range tooMany {
		tooMany[i] = "river"
	}
	longQuery := strings.TrimSpace(strings.Repeat("the dog ", 31)) // 62 tokens + 3 specials > 64
	cases := []struct {
		name, path string
		body       any
		status     int
		inMessage  string
	}{
		{"bad json", "/v1/rerank", `{"query": `, http.StatusBadRequest, "JSON"},
		{"empty documents", "/v1/rerank", map[string]any{"query": "river", "documents": []string{}}, http.StatusBadRequest, "documents"},
		{"missing documents", "/v2/rerank", map[string]any{"query": "river"}, http.StatusBadRequest, "documents"},
		{"empty query", "/v1/rerank", map[string]any{"query": "", "documents": []string{"river"}}, http.StatusBadRequest, "query"},
		{"too many documents", "/v1/rerank", map[string]any{"query": "river", "documents": tooMany}, http.StatusRequestEntityTooLarge, "60"},
		{"embedding model", "/v1/rerank", map[string]any{"model": "tiny-cls", "query": "river", "documents": []string{"river"}}, http.StatusUnprocessableEntity, "embedding"},
		{"unknown model", "/v2/rerank", map[string]any{"model": "no-such-model", "query": "river", "documents": []string{"river"}}, http.StatusNotFound, "no-such-model"},
		{"query too long", "/v1/rerank", map[string]any{"query": longQuery, "documents": []string{"river"}}, http.StatusBadRequest, "query"},
		{"bad top_n", "/v1/rerank", map[string]any{"query": "river", "documents": []string{"river"}, "top_n": -1}, http.StatusBadRequest, "top_n"},
		{"tei empty texts", "/rerank", map[string]any{"query": "river", "texts": []string{}}, http.StatusBadRequest, "texts"},
		{"tei too many", "/rerank", map[string]any{"query": "river", "texts": tooMany}, http.StatusRequestEntityTooLarge, "60"},
		{"tei embedding model", "/rerank", map[string]any{"model": "tiny-mean", "query": "river", "texts": []string{"river"}}, http.StatusUnprocessableEntity, "embedding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e struct {
				ID        string `json:"id"`
				Message   string `json:"message"`
				Error     string `json:"error"`
				ErrorType string `json:"error_type"`
			}
			r := shared.srv.post(t, c.path, c.body, &e)
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%+v)", r.StatusCode, c.status, e)
			}
			message := e.Message
			if c.path == "/rerank" {
				message = e.Error
				if e.ErrorType == "" {
					t.Errorf("TEI error without error_type: %+v", e)
				}
			} else if e.ID == "" {
				t.Errorf("Cohere error without id: %+v", e)
			}
			if message == "" || !strings.Contains(message, c.inMessage) {
				t.Errorf("message %q does not mention %q", message, c.inMessage)
			}
		})
	}
	if r := shared.srv.get(t, "/health", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("health %d after errors", r.StatusCode)
	}
}
