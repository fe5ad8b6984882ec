package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// Cross-encoders in Hugging Face layout, converted by rerank-api: the BERT
// one (two token types, pooler + classifier) must score exactly as
// transformers' BertForSequenceClassification with real token types; the
// XLM-R one (classifier.dense + out_proj head, offset positions) as
// XLMRobertaForSequenceClassification.
func TestConvertedCrossEncodersScoreExactly(t *testing.T) {
	bert := testmodel.Tiny(51, "rank")
	xlmr := testmodel.Tiny(52, "rank")
	xlmr.TypeVocab = 1
	cases := []struct {
		name, arch, outType string
		cfg                 testmodel.Config
		tol                 float64
	}{
		{"conv-bert-ce", "BertForSequenceClassification", "f32", bert, tolerance},
		{"conv-xlmr-ce", "XLMRobertaForSequenceClassification", "f32", xlmr, tolerance},
		{"conv-bert-ce-q8", "BertForSequenceClassification", "q8_0", bert, 0.02},
	}
	dir := t.TempDir()
	models := map[string]*testModel{}
	var catalog strings.Builder
	catalog.WriteString("models:\n")
	for _, c := range cases {
		w := testmodel.Generate(c.cfg)
		src := filepath.Join(dir, c.name+"-hf")
		if err := testmodel.WriteHF(src, w, c.cfg, testmodel.HFOptions{Arch: c.arch, DType: checkpoint.F32, Tokenizer: "wordpiece"}); err != nil {
			t.Fatal(err)
		}
		runConvert(t, "--input", src, "--output", filepath.Join(dir, c.name+".gguf"), "--outtype", c.outType)
		models[c.name] = &testModel{name: c.name, cfg: c.cfg, weights: w}
		fmt.Fprintf(&catalog, "  - {name: %s, kind: rerank, file: %s.gguf}\n", c.name, c.name)
	}
	sp := serveCatalog(t, true, dir, catalog.String(), "--embedding-model", "", "--reranker-model", cases[0].name)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := models[c.name]
			query := m.words(rerankQuery)
			// One token type (XLM-R): every token is type 0.
			zeroTypes := c.cfg.TypeVocab == 1
			probs, raws := make([]float64, len(rerankDocs)), make([]float64, len(rerankDocs))
			for i, doc := range rerankDocs {
				probs[i], raws[i] = m.expectedScore(query, m.words(doc), zeroTypes)
			}
			for _, raw := range []bool{false, true} {
				var resp api.CohereRerankResponse
				body := map[string]any{"model": c.name, "query": rerankQuery, "documents": rerankDocs, "raw_scores": raw, "return_documents": true}
				if r := sp.post(t, "/v1/rerank", body, &resp); r.StatusCode != http.StatusOK {
					t.Fatalf("status %d", r.StatusCode)
				}
				want := probs
				if raw {
					want = raws
				}
				diff := checkScores(t, resp, want, c.tol)
				t.Logf("raw_scores=%v: max |score − reference| = %.2e", raw, diff)
				for _, res := range resp.Results {
					if echoedText(t, res.Document) != rerankDocs[res.Index] {
						t.Fatalf("result %d does not return its document text", res.Index)
					}
				}
			}
		})
	}
}
