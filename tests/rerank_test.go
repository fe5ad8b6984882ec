package tests

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// A query and documents of mixed lengths (1 to 40 words), all fitting the
// tiny models' 64 positions beside the query.
var (
	rerankQuery = "search query about the river and the mountain"
	rerankDocs  = func() []string {
		r := rand.New(rand.NewPCG(7, 7))
		docs := []string{"river", "the river and the mountain", "coffee"}
		for _, n := range []int{3, 12, 25, 40} {
			docs = append(docs, randomText(r, n))
		}
		return docs
	}()
)

// Scores from llama.cpp match the exact reference with the real token
// types, for a BERT cross-encoder (segment-B rows), an XLM-R-style one and a
// three-label head; probabilities and raw logits alike.
func TestRerankMatchesReference(t *testing.T) {
	for _, name := range []string{"tiny-rank", "tiny-xlmr-rank", "tiny-nli-rank"} {
		m := shared.models[name]
		query := m.words(rerankQuery)
		probs, raws, zeroTypes := make([]float64, len(rerankDocs)), make([]float64, len(rerankDocs)), make([]float64, len(rerankDocs))
		tokens := 0
		for i, doc := range rerankDocs {
			var n int
			probs[i], raws[i], n = m.expectedDocument(query, m.words(doc), 10)
			_, zeroTypes[i] = m.expectedScore(query, m.words(doc), true)
			tokens += n
		}
		for _, raw := range []bool{false, true} {
			var resp api.CohereRerankResponse
			r := shared.srv.post(t, "/v1/rerank", map[string]any{"model": name, "query": rerankQuery, "documents": rerankDocs, "raw_scores": raw}, &resp)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d", name, r.StatusCode)
			}
			want := probs
			if raw {
				want = raws
			}
			diff := checkScores(t, resp, want, tolerance)
			t.Logf("%s raw_scores=%v: max |score − reference| = %.2e", name, raw, diff)
			if resp.Model != name || resp.Usage == nil || resp.Usage.TotalTokens != tokens || resp.Meta.Tokens.InputTokens != tokens {
				t.Errorf("%s: model %q, usage %+v, meta tokens %d; want %d tokens", name, resp.Model, resp.Usage, resp.Meta.Tokens.InputTokens, tokens)
			}
			if !raw || name != "tiny-rank" {
				continue
			}
			// Without segment-B rows llama.cpp would embed every document
			// token as type 0: the reference says that moves logits by more
			// than the tolerance, and the server's logits are not those.
			worstZero, gotZero := 0.0, 0.0
			for i := range raws {
				worstZero = max(worstZero, math.Abs(zeroTypes[i]-raws[i]))
				gotZero = max(gotZero, math.Abs(scores(resp)[i]-zeroTypes[i]))
			}
			t.Logf("all-zero token types would move logits by up to %.2e", worstZero)
			if worstZero < 5*tolerance || gotZero < 5*tolerance {
				t.Errorf("token types move logits by %.2e (server vs zero types %.2e): the test cannot tell them apart at %.0e",
					worstZero, gotZero, tolerance)
			}
		}
	}
}

// Response shapes: Cohere v1/Jina, Cohere v2, TEI; top_n, return_documents,
// document objects with rank_fields, the default model.
func TestRerankShapes(t *testing.T) {
	m := shared.models["tiny-rank"]
	query := m.words(rerankQuery)
	want := make([]float64, len(rerankDocs))
	for i, doc := range rerankDocs {
		want[i], _, _ = m.expectedDocument(query, m.words(doc), 10)
	}
	body := map[string]any{"query": rerankQuery, "documents": rerankDocs}

	var v1 api.CohereRerankResponse
	shared.srv.post(t, "/v1/rerank", body, &v1) // no model: the default reranker, tiny-rank
	checkScores(t, v1, want, tolerance)
	if v1.Model != "tiny-rank" || v1.ID == "" || v1.Meta.APIVersion.Version != "1" || v1.Meta.BilledUnits.SearchUnits != 1 {
		t.Errorf("v1 envelope: model %q id %q meta %+v", v1.Model, v1.ID, v1.Meta)
	}
	for _, res := range v1.Results {
		if echoedText(t, res.Document) != rerankDocs[res.Index] {
			t.Errorf("v1 result %d: document %s, want its text echoed by default", res.Index, res.Document)
		}
	}

	var v2 api.CohereRerankResponse
	shared.srv.post(t, "/v2/rerank", body, &v2)
	checkScores(t, v2, want, tolerance)
	if v2.Meta.APIVersion.Version != "2" || v2.Usage != nil || v2.Model != "" || v2.Results[0].Document != nil {
		t.Errorf("v2: version %q, usage %v, model %q, document %s; want Cohere v2's shape", v2.Meta.APIVersion.Version, v2.Usage, v2.Model, v2.Results[0].Document)
	}

	var top api.CohereRerankResponse
	shared.srv.post(t, "/v1/rerank", map[string]any{"query": rerankQuery, "documents": rerankDocs, "top_n": 2, "return_documents": false}, &top)
	if len(top.Results) != 2 || top.Results[0].Index != v1.Results[0].Index || top.Results[1].Index != v1.Results[1].Index || top.Results[0].Document != nil {
		t.Errorf("top_n 2 without documents: %+v", top.Results)
	}

	// An object document ranks by its text, or by "field: value" lines of
	// its rank_fields, and comes back whole.
	objects := []any{
		map[string]any{"text": rerankDocs[1], "id": 7},
		map[string]any{"title": "river", "body": "the mountain in winter", "id": 8},
	}
	var obj, asStrings api.CohereRerankResponse
	echoed := func() map[string]any {
		var doc map[string]any
		if len(obj.Results) == 1 {
			_ = json.Unmarshal(obj.Results[0].Document, &doc)
		}
		return doc
	}
	shared.srv.post(t, "/v1/rerank", map[string]any{"query": rerankQuery, "documents": objects[:1]}, &obj)
	shared.srv.post(t, "/v1/rerank", map[string]any{"query": rerankQuery, "documents": []string{rerankDocs[1]}}, &asStrings)
	if len(obj.Results) != 1 || math.Abs(obj.Results[0].RelevanceScore-asStrings.Results[0].RelevanceScore) > 1e-5 || echoed()["id"] != 7.0 {
		t.Errorf("{text} object: %+v vs string %+v", obj.Results, asStrings.Results)
	}
	shared.srv.post(t, "/v1/rerank", map[string]any{"query": rerankQuery, "documents": objects[1:], "rank_fields": []string{"title", "body"}}, &obj)
	shared.srv.post(t, "/v1/rerank", map[string]any{"query": rerankQuery, "documents": []string{"title: river\nbody: the mountain in winter"}}, &asStrings)
	if len(obj.Results) != 1 || math.Abs(obj.Results[0].RelevanceScore-asStrings.Results[0].RelevanceScore) > 1e-5 || echoed()["title"] != "river" {
		t.Errorf("rank_fields object: %+v vs lines %+v", obj.Results, asStrings.Results)
	}
}

func TestTEIRerank(t *testing.T) {
	m := shared.models["tiny-xlmr-rank"]
	query := m.words(rerankQuery)
	var ranks []api.TEIRank
	r := shared.srv.post(t, "/rerank", map[string]any{"model": "tiny-xlmr-rank", "query": rerankQuery, "texts": rerankDocs, "raw_scores": true, "return_text": true}, &ranks)
	if r.StatusCode != http.StatusOK || len(ranks) != len(rerankDocs) {
		t.Fatalf("status %d, %d ranks", r.StatusCode, len(ranks))
	}
	for i, rank := range ranks {
		_, want, _ := m.expectedDocument(query, m.words(rerankDocs[rank.Index]), 10)
		if d := math.Abs(rank.Score - want); d > tolerance {
			t.Errorf("text %d: logit %.5f, reference %.5f", rank.Index, rank.Score, want)
		}
		if rank.Text == nil || *rank.Text != rerankDocs[rank.Index] || (i > 0 && rank.Score > ranks[i-1].Score) {
			t.Errorf("rank %d: %+v out of order or without its text", i, rank)
		}
	}
	// The same route answers Cohere's shape when the body has documents.
	var cohere api.CohereRerankResponse
	shared.srv.post(t, "/rerank", map[string]any{"model": "tiny-xlmr-rank", "query": rerankQuery, "documents": rerankDocs}, &cohere)
	if len(cohere.Results) != len(rerankDocs) || cohere.Meta.APIVersion.Version != "1" {
		t.Errorf("Cohere shape on /rerank: %+v", cohere)
	}
}

// rerank-api rerank prints the same ranking without a server.
func TestRerankCommand(t *testing.T) {
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "rerank", "--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--threads", "2", "--model", "tiny-rank", "--query", rerankQuery, rerankDocs[0], rerankDocs[1], rerankDocs[4]).Output()
	if err != nil {
		t.Fatalf("rerank command: %v\n%s", err, out)
	}
	var got api.CohereRerankResponse
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	m := shared.models["tiny-rank"]
	want := make([]float64, 3)
	for i, doc := range []string{rerankDocs[0], rerankDocs[1], rerankDocs[4]} {
		want[i], _ = m.expectedScore(m.words(rerankQuery), m.words(doc), false)
	}
	checkScores(t, got, want, tolerance)

	// It prints what POST /v1/rerank answers, but for the request id.
	var served api.CohereRerankResponse
	shared.srv.post(t, "/v1/rerank", map[string]any{"model": "tiny-rank", "query": rerankQuery,
		"documents": []string{rerankDocs[0], rerankDocs[1], rerankDocs[4]}}, &served)
	served.ID = ""
	for i := range served.Results {
		if i < len(got.Results) && math.Abs(got.Results[i].RelevanceScore-served.Results[i].RelevanceScore) < 1e-5 {
			got.Results[i].RelevanceScore = served.Results[i].RelevanceScore
		}
	}
	// Marshalled again, the echoed documents are compact in both.
	if a, b := mustJSON(got), mustJSON(served); !bytes.Equal(a, b) {
		t.Errorf("command output %s\nserver answer %s", a, b)
	}
}
