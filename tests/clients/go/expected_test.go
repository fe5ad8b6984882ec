package clients

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"testing"
)

// expectations is the file tests/clients_test.go writes
// (RERANK_API_EXPECTED): inputs and the reference numbers by model.
type expectations struct {
	Tolerance  float64                `json:"tolerance"`
	Texts      []string               `json:"texts"`
	Embeddings map[string][][]float64 `json:"embeddings"`
	Tokens     map[string][]int       `json:"tokens"`
	TokenIDs   map[string][][]int64   `json:"token_ids"`
	Dimensions struct {
		Model  string    `json:"model"`
		Size   int       `json:"size"`
		Text   string    `json:"text"`
		Vector []float64 `json:"vector"`
	} `json:"dimensions"`
	Rerank struct {
		Model     string    `json:"model"`
		Query     string    `json:"query"`
		Documents []string  `json:"documents"`
		Scores    []float64 `json:"scores"`
		// CutScores are for documents cut to MaxTokensPerDoc tokens.
		MaxTokensPerDoc int       `json:"max_tokens_per_doc"`
		CutScores       []float64 `json:"cut_scores"`
	} `json:"rerank"`
}

// setup returns the server's URL and the expectations; without them (a
// run outside the driver) the test fails rather than passing untested.
func setup(t *testing.T) (string, *expectations) {
	t.Helper()
	url, path := os.Getenv("RERANK_API_URL"), os.Getenv("RERANK_API_EXPECTED")
	if url == "" || path == "" {
		t.Fatal(`RERANK_API_URL and RERANK_API_EXPECTED are unset: run these tests through make go ARGS="test -run TestClientLibraries ./tests/" (after make build)`)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expectations
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return url, &e
}

// tokens is how many tokens model reads for e.Texts[from:to].
func (e *expectations) tokens(model string, from, to int) int {
	n := 0
	for _, k := range e.Tokens[model][from:to] {
		n += k
	}
	return n
}

func checkVector[F float32 | float64](t *testing.T, e *expectations, label string, got []F, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d components, want %d", label, len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i])-want[i]))
	}
	if worst > e.Tolerance {
		t.Errorf("%s: max abs diff %.2e > %.0e", label, worst, e.Tolerance)
	}
}

// checkVectors compares the embeddings of e.Texts with model's reference.
func checkVectors[F float32 | float64](t *testing.T, e *expectations, label, model string, got [][]F) {
	t.Helper()
	want := e.Embeddings[model]
	if len(got) != len(want) {
		t.Fatalf("%s: %d vectors for %d texts", label, len(got), len(want))
	}
	for i := range want {
		checkVector(t, e, label, got[i], want[i])
	}
}

// ranked is one rerank result as a client returns it.
type ranked struct {
	index int
	score float64
}

// checkRanking checks each score against the reference (want, by document
// index), best first, and that there are n of them.
func checkRanking(t *testing.T, e *expectations, label string, got []ranked, n int, want []float64) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%s: %d results, want %d", label, len(got), n)
	}
	best := make([]int, len(want))
	for i := range best {
		best[i] = i
	}
	sort.Slice(best, func(a, b int) bool { return want[best[a]] > want[best[b]] })
	for rank, r := range got {
		if r.index < 0 || r.index >= len(want) {
			t.Fatalf("%s: bad index %d", label, r.index)
		}
		if d := math.Abs(r.score - want[r.index]); d > e.Tolerance {
			t.Errorf("%s: document %d scored %.6f, reference %.6f (off by %.1e)", label, r.index, r.score, want[r.index], d)
		}
		if rank > 0 && r.score > got[rank-1].score {
			t.Errorf("%s: results not sorted by score at rank %d", label, rank)
		}
		// The reference's ranking, wherever it separates documents clearly.
		if want[r.index] < want[best[rank]]-2*e.Tolerance {
			t.Errorf("%s: rank %d is document %d, the reference ranks %d there", label, rank, r.index, best[rank])
		}
	}
}
