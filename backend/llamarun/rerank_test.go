package llamarun_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// A BERT cross-encoder scores documents with token type 1 when its GGUF has
// segment-B rows, and falls back to type 0 with a warning when it has none
// (a file from llama.cpp's converter). The engine's pairs, offsets and
// sigmoid are checked against the reference with flash attention off, where
// only f32 rounding separates the two (bound as in backend/llama).
func TestRerankTokenTypes(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.Tiny(31, "rank")
	w := testmodel.Generate(cfg)
	w.Activation = reference.GELUTanhF16
	upstream := cfg
	upstream.NoSegmentRows = true
	for name, c := range map[string]testmodel.Config{"exact": cfg, "upstream": upstream} {
		if err := testmodel.WriteGGUF(filepath.Join(dir, name+".gguf"), w, c, "f32"); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.New([]byte(`models:
  - {name: exact, kind: rerank, pooling: rank, file: exact.gguf}
  - {name: upstream, kind: rerank, pooling: rank, file: upstream.gguf}
  - {name: prefixed, kind: rerank, pooling: rank, file: exact.gguf, query_prefix: "query ", document_prefix: "document "}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	rt := llamaRuntime(t)
	var logs bytes.Buffer
	e := backend.New(backend.Config{Runtime: rt, ModelsDir: dir, Threads: 2, BudgetBytes: 1 << 30}, cat, zerolog.New(&logs).Level(zerolog.WarnLevel))
	defer e.Close()

	query, docs := "search query", []string{"the river and the mountain", "hello", "cat dog bird fish tree"}
	q := cfg.ExpectedIDs(query)
	for _, c := range []struct {
		name        string
		zeroTypes   bool
		warnsInLogs bool
	}{{"exact", false, false}, {"upstream", true, true}} {
		logs.Reset()
		res, err := e.Rerank(context.Background(), backend.RerankRequest{Model: c.name, Query: query, Documents: docs, RawScores: true})
		if err != nil {
			t.Fatal(err)
		}
		apart := 0.0 // how far the other token types would be
		for _, r := range res.Results {
			d := cfg.ExpectedIDs(docs[r.Index])
			ids := append(append([]int32(nil), q...), d[1:]...)
			types := make([]int32, len(ids))
			for i := len(q); i < len(ids); i++ {
				types[i] = 1
			}
			want, other := w.Classify(ids, types)[0], w.Classify(ids, nil)[0]
			if c.zeroTypes {
				want, other = other, want
			}
			if diff := math.Abs(r.Score - want); diff > 1e-4 {
				t.Errorf("%s document %d: logit %.6f, want %.6f (the other token types give %.6f)", c.name, r.Index, r.Score, want, other)
			}
			apart = max(apart, math.Abs(r.Score-other))
		}
		if apart < 1e-3 {
			t.Errorf("%s: the other token types are only %.1e away; the test cannot tell them apart", c.name, apart)
		}
		if warned := strings.Contains(logs.String(), "approximate"); warned != c.warnsInLogs {
			t.Errorf("%s: warned %v, want %v: %s", c.name, warned, c.warnsInLogs, logs.String())
		}
	}

	// The catalog's prefixes go before the query and before every document
	// (and every chunk of one), inside the pair template.
	prefixed, err := e.Rerank(context.Background(), backend.RerankRequest{Model: "prefixed", Query: query, Documents: docs, RawScores: true})
	if err != nil {
		t.Fatal(err)
	}
	spelled := make([]string, len(docs))
	for i, d := range docs {
		spelled[i] = "document " + d
	}
	byHand, err := e.Rerank(context.Background(), backend.RerankRequest{Model: "exact", Query: "query " + query, Documents: spelled, RawScores: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range prefixed.Results {
		if a, b := prefixed.Results[i], byHand.Results[i]; a.Index != b.Index || math.Abs(a.Score-b.Score) > 1e-5 || prefixed.Tokens != byHand.Tokens {
			t.Errorf("with prefixes %+v (%d tokens), spelled out %+v (%d tokens)", a, prefixed.Tokens, b, byHand.Tokens)
		}
	}
}
