package tests

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// scores maps document index to relevance_score.
func scores(r api.CohereRerankResponse) map[int]float64 {
	out := map[int]float64{}
	for _, res := range r.Results {
		out[res.Index] = res.RelevanceScore
	}
	return out
}

// echoedText is the text of a string document a rerank result echoes
// ({"text": ...}); "" when it echoes none.
func echoedText(t testing.TB, document json.RawMessage) string {
	t.Helper()
	if document == nil {
		return ""
	}
	var doc api.CohereDocument
	if err := json.Unmarshal(document, &doc); err != nil {
		t.Fatalf("document %s: %v", document, err)
	}
	return doc.Text
}

// vocabWords are the whole words of the test vocabulary: texts made of them
// tokenize identically in llama.cpp (WordPiece or SentencePiece) and in
// testmodel.ExpectedIDs, which is the oracle for their ids.
var vocabWords = func() []string {
	var out []string
	for _, w := range testmodel.DefaultVocab() {
		if !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "##") {
			out = append(out, w)
		}
	}
	return out
}()

func randomText(r *rand.Rand, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = vocabWords[r.IntN(len(vocabWords))]
	}
	return strings.Join(words, " ")
}

// words returns the oracle ids of a text without [CLS] and [SEP].
func (m *testModel) words(text string) []int32 {
	ids := m.cfg.ExpectedIDs(text)
	return ids[1 : len(ids)-1]
}

// pair is what a cross-encoder reads for (query, document), with the token
// types Hugging Face's tokenizer gives: BERT's "[CLS] q [SEP] d [SEP]" with
// type 1 from the document on, XLM-R's "<s> q </s></s> d </s>" all type 0.
func (m *testModel) pair(query, doc []int32) (ids, types []int32) {
	ids = append([]int32{testmodel.CLSID}, query...)
	ids = append(ids, testmodel.SEPID)
	if m.cfg.Tokenizer == "ugm" {
		ids = append(ids, testmodel.SEPID)
	}
	segmentB := len(ids)
	ids = append(append(ids, doc...), testmodel.SEPID)
	types = make([]int32, len(ids))
	if m.cfg.Tokenizer != "ugm" {
		for i := segmentB; i < len(types); i++ {
			types[i] = 1
		}
	}
	return ids, types
}

// specials is how many special tokens a pair adds.
func (m *testModel) specials() int {
	if m.cfg.Tokenizer == "ugm" {
		return 4
	}
	return 3
}

// relevantLabels is the catalog's relevant_label of multi-output models.
var relevantLabels = map[string]int{"tiny-nli-rank": 1}

// expectedScore is the reference relevance of one pair: the sigmoid of a
// single logit, or the softmax probability of the relevant label, and that
// label's logit (raw_scores). zeroTypes scores it as llama.cpp would without
// segment-B rows.
func (m *testModel) expectedScore(query, doc []int32, zeroTypes bool) (prob, raw float64) {
	ids, types := m.pair(query, doc)
	if zeroTypes {
		types = nil
	}
	logits := m.weights.Classify(ids, types)
	if len(logits) == 1 {
		return 1 / (1 + math.Exp(-logits[0])), logits[0]
	}
	label := relevantLabels[m.name]
	var sum float64
	for _, l := range logits {
		sum += math.Exp(l)
	}
	return math.Exp(logits[label]) / sum, logits[label]
}

// chunks is the documented chunking (backend/pairs.go chunkSpans): windows
// of size tokens overlapping by size/8, the last one ending at the
// document's end, at most maxChunks. Written out again here so the test
// checks the documented rule rather than the code.
func chunks(doc []int32, size, maxChunks int) [][]int32 {
	if len(doc) <= size {
		return [][]int32{doc}
	}
	var out [][]int32
	for start := 0; len(out) < maxChunks; start += size - size/8 {
		if start+size >= len(doc) {
			return append(out, doc[len(doc)-size:])
		}
		out = append(out, doc[start:start+size])
	}
	return out
}

// expectedDocument scores a document as its best chunk, and counts the
// tokens its pairs take.
func (m *testModel) expectedDocument(query, doc []int32, maxChunks int) (prob, raw float64, tokens int) {
	prob = -1
	for _, c := range chunks(doc, 64-len(query)-m.specials(), maxChunks) {
		p, r := m.expectedScore(query, c, false)
		if p > prob {
			prob, raw = p, r
		}
		tokens += len(query) + len(c) + m.specials()
	}
	return prob, raw, tokens
}

// checkScores compares a response with the reference and returns the
// largest difference. want is by document index.
func checkScores(t *testing.T, resp api.CohereRerankResponse, want []float64, tol float64) float64 {
	t.Helper()
	if len(resp.Results) != len(want) {
		t.Fatalf("%d results for %d documents", len(resp.Results), len(want))
	}
	worst := 0.0
	for i, res := range resp.Results {
		d := math.Abs(res.RelevanceScore - want[res.Index])
		worst = max(worst, d)
		if d > tol {
			t.Errorf("document %d: score %.6f, reference %.6f (off by %.1e)", res.Index, res.RelevanceScore, want[res.Index], d)
		}
		// Ranked by score, and in the reference's order wherever the
		// reference separates the two by more than the tolerance.
		if i > 0 {
			prev := resp.Results[i-1]
			if res.RelevanceScore > prev.RelevanceScore || want[res.Index] > want[prev.Index]+2*tol {
				t.Errorf("document %d ranked after %d: scores %.6f/%.6f, reference %.6f/%.6f", res.Index, prev.Index,
					res.RelevanceScore, prev.RelevanceScore, want[res.Index], want[prev.Index])
			}
		}
	}
	return worst
}
