package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// jina-reranker-v2-base-multilingual in miniature: an XLM-RoBERTa
// cross-encoder saved by jinaai/xlm-roberta-flash-implementation (fused
// Wqkv, emb_ln, norm1/norm2, mlp.fc1/fc2; the config names no model_type)
// converts to llama.cpp's bert and scores as the exact forward pass. With
// XLM-R's Unigram tokenizer the server joins pairs as "<s> q </s></s> d
// </s>", the model's own template; a model with a WordPiece vocabulary gets
// BERT's template, and the reference scores each on the template the server
// builds. One token type: every token is type 0.
func TestConvertedJinaRerankerScoresExactly(t *testing.T) {
	// Weights twice Tiny's scale: attention far from uniform, so swapping
	// the K and V rows of Wqkv moves logits by ~0.09 while llama.cpp's
	// rounding stays under 8e-4 (f16 GGUF; measured over 8 seeds).
	ugm := testmodel.Tiny(61, "rank")
	ugm.TypeVocab, ugm.Tokenizer, ugm.InitStd = 1, "ugm", 0.1
	wpm := testmodel.Tiny(62, "rank")
	wpm.TypeVocab, wpm.InitStd = 1, 0.1
	cases := []struct {
		name, outType string
		cfg           testmodel.Config
		tol           float64 // on probabilities and raw logits
	}{
		{"jina-flash", "f32", ugm, tolerance},
		{"jina-flash-f16", "f16", ugm, 5e-3},
		{"jina-flash-wordpiece", "f32", wpm, tolerance},
	}
	dir := t.TempDir()
	models := map[string]*testModel{}
	var catalog strings.Builder
	catalog.WriteString("models:\n")
	for _, c := range cases {
		w := testmodel.Generate(c.cfg)
		src := filepath.Join(dir, c.name+"-hf")
		if err := testmodel.WriteXLMRFlashHF(src, w, c.cfg, checkpoint.F32); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, c.name+".gguf")
		runConvert(t, "--input", src, "--output", out, "--outtype", c.outType)
		checkFlashMetadata(t, out, c.cfg)
		models[c.name] = &testModel{name: c.name, cfg: c.cfg, weights: w}
		fmt.Fprintf(&catalog, "  - {name: %s, kind: rerank, file: %s.gguf}\n", c.name, c.name)
	}
	sp := serveCatalog(t, true, dir, catalog.String(), "--embedding-model", "", "--reranker-model", cases[0].name)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := models[c.name]
			query := m.words(rerankQuery)
			probs, raws := make([]float64, len(rerankDocs)), make([]float64, len(rerankDocs))
			tokens := 0
			for i, doc := range rerankDocs {
				probs[i], raws[i] = m.expectedScore(query, m.words(doc), true)
				tokens += len(query) + len(m.words(doc)) + m.specials()
			}
			for _, raw := range []bool{false, true} {
				var resp api.CohereRerankResponse
				body := map[string]any{"model": c.name, "query": rerankQuery, "documents": rerankDocs, "raw_scores": raw}
				if r := sp.post(t, "/v1/rerank", body, &resp); r.StatusCode != http.StatusOK {
					t.Fatalf("status %d", r.StatusCode)
				}
				want := probs
				if raw {
					want = raws
				}
				diff := checkScores(t, resp, want, c.tol)
				t.Logf("raw_scores=%v: max |score − reference| = %.2e", raw, diff)
				// The token count shows the server built the template the
				// reference scored (4 specials for XLM-R's, 3 for BERT's).
				if resp.Usage == nil || resp.Usage.TotalTokens != tokens {
					t.Errorf("usage %+v, want %d tokens", resp.Usage, tokens)
				}
			}
		})
	}
}

// checkFlashMetadata checks what the scores alone would not pin down: the
// fused attention matrix went over as one attn_qkv of Q, K and V rows, the
// XLM-R position offset was dropped, and the head scores with a sigmoid.
func checkFlashMetadata(t *testing.T, path string, cfg testmodel.Config) {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"general.architecture":              "bert",
		"bert.context_length":               uint32(cfg.MaxPositions),
		"bert.attention.layer_norm_epsilon": float32(1e-12),
		keys.ScoreActivation:                "sigmoid",
		keys.SourceArchitecture:             "XLMRobertaForSequenceClassification",
		"tokenizer.ggml.token_type_count":   uint32(1),
	} {
		if got, ok := md.Value(key); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	shapes := map[string]string{}
	for _, ti := range md.Tensors {
		shapes[ti.Name] = fmt.Sprint(ti.Ne)
	}
	h := cfg.Hidden
	for name, want := range map[string]string{
		"blk.0.attn_qkv.weight":  fmt.Sprint([]uint64{uint64(h), uint64(3 * h)}),
		"blk.0.attn_qkv.bias":    fmt.Sprint([]uint64{uint64(3 * h)}),
		"position_embd.weight":   fmt.Sprint([]uint64{uint64(h), uint64(cfg.MaxPositions)}),
		"token_embd_norm.weight": fmt.Sprint([]uint64{uint64(h)}),
		"cls.output.weight":      fmt.Sprint([]uint64{uint64(h), 1}),
	} {
		if shapes[name] != want {
			t.Errorf("tensor %s has ne %q, want %s", name, shapes[name], want)
		}
	}
	if _, ok := shapes["blk.0.attn_q.weight"]; ok {
		t.Error("the GGUF has both attn_qkv and attn_q")
	}
}

// jina-embeddings-v2 in miniature (JinaBertModel: ALiBi, GEGLU) converts to
// llama.cpp's jina-bert-v2 and serves the exact forward pass's normalized
// mean embeddings.
func TestConvertedJinaBERTServesReferenceEmbeddings(t *testing.T) {
	// Six heads: ALiBi slopes past the largest power of two interleave, a
	// case a four-head model would not reach. Weights at twice Tiny's
	// scale, as above, so attention is far from uniform.
	cfg := testmodel.Tiny(63, "mean")
	cfg.Hidden, cfg.Heads, cfg.InitStd = 96, 6, 0.1
	m := testmodel.GenerateJinaBERT(cfg)
	dir := t.TempDir()
	src := filepath.Join(dir, "jina-bert-hf")
	if err := testmodel.WriteJinaBERTHF(src, m, cfg); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, outType string
		maxAbsDiff    float64 // 0: not checked
		minCosine     float64
	}{
		{"jina-bert", "f32", tolerance, 0},
		{"jina-bert-f16", "f16", 0, 0.9999},
	}
	catalog := "models:\n"
	for _, c := range cases {
		out := filepath.Join(dir, c.name+".gguf")
		runConvert(t, "--input", src, "--output", out, "--outtype", c.outType)
		md, err := gguf.ReadMetadata(out)
		if err != nil {
			t.Fatal(err)
		}
		if arch, _ := md.Value("general.architecture"); arch != "jina-bert-v2" {
			t.Errorf("%s: architecture %v, want jina-bert-v2", c.name, arch)
		}
		catalog += fmt.Sprintf("  - {name: %s, kind: embedding, file: %s.gguf}\n", c.name, c.name)
	}
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", cases[0].name, "--reranker-model", "")
	ref := &testModel{cfg: cfg}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp api.OpenAIEmbeddingResponse
			if r := sp.post(t, "/v1/embeddings", map[string]any{"model": c.name, "input": texts}, &resp); r.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.StatusCode)
			}
			worst, lowest := 0.0, 1.0
			for i, text := range texts {
				got := floats(t, resp.Data[i].Embedding)
				want := reference.Normalize(reference.Pool(m.Hidden(ref.ids(text)), reference.PoolMean))
				worst, lowest = max(worst, maxAbsDiff(t, got, want)), min(lowest, cosine(got, want))
			}
			t.Logf("max |embedding − reference| = %.2e, min cosine %.6f", worst, lowest)
			if c.maxAbsDiff > 0 && worst > c.maxAbsDiff {
				t.Errorf("max abs diff %.2e > %.0e", worst, c.maxAbsDiff)
			}
			if c.minCosine > 0 && lowest < c.minCosine {
				t.Errorf("cosine %.6f < %v", lowest, c.minCosine)
			}
		})
	}
}
