package tests

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// /similarity is the cosine of the reference embeddings of the source
// sentence and each sentence.
func TestTEISimilarity(t *testing.T) {
	m := shared.models["tiny-cls"]
	source, sentences := texts[1], []string{texts[1], texts[2], texts[4]}
	var got []float32
	r := shared.srv.post(t, "/similarity", map[string]any{
		"model":  "tiny-cls",
		"inputs": map[string]any{"source_sentence": source, "sentences": sentences},
	}, &got)
	if r.StatusCode != 200 || len(got) != len(sentences) {
		t.Fatalf("status %d, %d similarities", r.StatusCode, len(got))
	}
	want := make([]float32, 0)
	for _, x := range m.expectedEmbedding(m.ids(source), 0) {
		want = append(want, float32(x))
	}
	for i, text := range sentences {
		if cos := cosine(want, m.expectedEmbedding(m.ids(text), 0)); math.Abs(float64(got[i])-cos) > tolerance {
			t.Errorf("sentence %d (%q): %.4f, want %.4f", i, text, got[i], cos)
		}
	}
}

// /decode reads back the ids /tokenize gives, specials skipped or kept.
func TestTEIDecodeRoundTrip(t *testing.T) {
	text := texts[2]
	var toks [][]api.TEIToken
	if r := shared.srv.post(t, "/tokenize", map[string]any{"model": "tiny-cls", "inputs": text}, &toks); r.StatusCode != 200 || len(toks) != 1 {
		t.Fatalf("tokenize: status %d", r.StatusCode)
	}
	ids := make([]int32, len(toks[0]))
	for i, tok := range toks[0] {
		ids[i] = tok.ID
	}
	var got []string
	if r := shared.srv.post(t, "/decode", map[string]any{"model": "tiny-cls", "ids": ids}, &got); r.StatusCode != 200 || len(got) != 1 || got[0] != text {
		t.Errorf("decode: status %d, %q; want [%q]", r.StatusCode, got, text)
	}
	if r := shared.srv.post(t, "/decode", map[string]any{"model": "tiny-cls", "ids": [][]int32{ids}, "skip_special_tokens": false}, &got); r.StatusCode != 200 ||
		len(got) != 1 || got[0] != "[CLS] "+text+"[SEP]" {
		t.Errorf("decode with specials: status %d, %q", r.StatusCode, got)
	}

	var e api.TEIError
	if r := shared.srv.post(t, "/decode", map[string]any{"model": "tiny-cls", "ids": []int32{ids[1], 1 << 30}}, &e); r.StatusCode != 400 || e.ErrorType != "Validation" {
		t.Errorf("an id outside the vocabulary: status %d, %+v", r.StatusCode, e)
	}
}

// /embed_all answers each input with the reference's hidden state of each
// of its tokens, before pooling and not normalized; a reranker gets
// /embed's error, word for word.
func TestTEIEmbedAll(t *testing.T) {
	m := shared.models["tiny-mean"]
	inputs := []string{texts[1], texts[2]}
	var got [][][]float32
	r := shared.srv.post(t, "/embed_all", map[string]any{"model": "tiny-mean", "inputs": inputs}, &got)
	if r.StatusCode != 200 || len(got) != len(inputs) {
		t.Fatalf("status %d, %d inputs", r.StatusCode, len(got))
	}
	for i, text := range inputs {
		ids := m.ids(text)
		want := m.weights.Hidden(ids, make([]int32, len(ids)))
		if len(got[i]) != len(want) {
			t.Fatalf("input %d: %d token vectors, want %d", i, len(got[i]), len(want))
		}
		for tok := range want {
			if d := maxAbsDiff(t, got[i][tok], want[tok]); d > tolerance {
				t.Errorf("input %d token %d: off the reference by %.2e", i, tok, d)
			}
		}
	}

	var one [][][]float32
	if r := shared.srv.post(t, "/embed_all", map[string]any{"model": "tiny-mean", "inputs": texts[1]}, &one); r.StatusCode != 200 ||
		len(one) != 1 || len(one[0]) != len(got[0]) {
		t.Errorf("one string: status %d, %d inputs", r.StatusCode, len(one))
	}

	body := mustJSON(map[string]any{"model": "tiny-rank", "inputs": "hello"})
	embedAll := shared.srv.send(t, http.MethodPost, "/embed_all", "application/json", body)
	embed := shared.srv.send(t, http.MethodPost, "/embed", "application/json", body)
	var allErr, embedErr api.TEIError
	_ = json.Unmarshal(embedAll.body, &allErr)
	_ = json.Unmarshal(embed.body, &embedErr)
	if embedAll.status != 422 || embedAll.status != embed.status || allErr != embedErr || allErr.Error == "" {
		t.Errorf("a reranker: /embed_all %d %+v, /embed %d %+v; want the same 422", embedAll.status, allErr, embed.status, embedErr)
	}
}
