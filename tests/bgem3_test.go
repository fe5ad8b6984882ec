package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// m3Model is a synthetic checkpoint in BGE-M3's layout (XLMRobertaModel,
// CLS pooling, sparse_linear.pt and colbert_linear.pt at the root) with
// its float64 reference.
type m3Model struct {
	*testModel
	heads reference.M3Heads
}

// m3Special is what the sparse output leaves out: CLS, SEP (XLM-R's EOS),
// PAD and UNK.
func m3Special(id int32) bool {
	return id == testmodel.CLSID || id == testmodel.SEPID || id == testmodel.PadID || id == testmodel.UnkID
}

func (m *m3Model) states(text string) ([]int32, [][]float64) {
	ids := m.ids(text)
	return ids, m.weights.Hidden(ids, make([]int32, len(ids)))
}

func (m *m3Model) dense(text string) []float64 {
	_, h := m.states(text)
	return reference.Normalize(reference.Pool(h, reference.PoolCLS))
}

func (m *m3Model) sparse(text string) map[int32]float64 {
	ids, h := m.states(text)
	return m.heads.M3Sparse(ids, h, m3Special)
}

func (m *m3Model) colbert(text string) [][]float64 {
	_, h := m.states(text)
	return m.heads.M3ColBERT(h)
}

func (m *m3Model) score(query, doc string, w [3]float64) float64 {
	return reference.HybridScore(reference.Dot(m.dense(query), m.dense(doc)),
		reference.SparseScore(m.sparse(query), m.sparse(doc)),
		reference.ColBERTScore(m.colbert(query), m.colbert(doc)), w)
}

// writeM3 writes the checkpoint to dir/name-hf, with the heads when
// withHeads, and converts it to dir/name.gguf.
func writeM3(t *testing.T, dir, name string, cfg testmodel.Config, withHeads bool) *m3Model {
	t.Helper()
	w := testmodel.Generate(cfg)
	src := filepath.Join(dir, name+"-hf")
	opts := testmodel.HFOptions{Arch: "XLMRobertaModel", DType: checkpoint.F32, SentenceTransformers: true, Tokenizer: "wordpiece", PositionIDs: true}
	if err := testmodel.WriteHF(src, w, cfg, opts); err != nil {
		t.Fatal(err)
	}
	heads := testmodel.GenerateM3Heads(cfg)
	if withHeads {
		if err := testmodel.WriteM3Heads(src, heads); err != nil {
			t.Fatal(err)
		}
	}
	runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
	return &m3Model{testModel: &testModel{name: name, cfg: cfg, weights: w}, heads: heads}
}

var m3Docs = []string{
	"the dog and the dog near the river",
	"the cat is on the table",
	"a",
	"winter snow on the mountain and the river in the morning",
}

const m3Query = "the dog near the river in winter"

// A BGE-M3-layout checkpoint converts with its heads and serves all three
// outputs and hybrid rerank scores as FlagEmbedding computes them; the
// same encoder without heads answers 422 for sparse and ColBERT.
func TestBGEM3Outputs(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.Tiny(61, "cls")
	cfg.TypeVocab = 1
	m := writeM3(t, dir, "m3", cfg, true)
	writeM3(t, dir, "dense-only", cfg, false)
	if _, err := os.Stat(filepath.Join(dir, "dense-only.heads.gguf")); err == nil {
		t.Error("a checkpoint without heads got a heads file")
	}
	catalog := "models:\n  - {name: m3, kind: embedding, file: m3.gguf}\n  - {name: dense-only, kind: embedding, file: dense-only.gguf}\n" +
		"  - {name: ce, kind: rerank, pooling: rank, file: ce.gguf}\n"
	ce := testmodel.Tiny(62, "rank")
	if err := testmodel.WriteGGUF(filepath.Join(dir, "ce.gguf"), testmodel.Generate(ce), ce, "f32"); err != nil {
		t.Fatal(err)
	}
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "m3", "--reranker-model", "ce")
	inputs := append([]string{m3Query}, m3Docs...)

	t.Run("embed_sparse", func(t *testing.T) {
		var got [][]api.TEISparseValue
		if r := sp.post(t, "/embed_sparse", map[string]any{"inputs": inputs, "model": "m3"}, &got); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
		for i, text := range inputs {
			checkSparse(t, text, got[i], m.sparse(text))
		}
		var withText [][]api.TEISparseValue
		sp.post(t, "/embed_sparse", map[string]any{"inputs": "the dog", "return_text": true}, &withText)
		// The vocabulary entry, as the tokenizer's convert_ids_to_tokens
		// gives it: SentencePiece's word-start mark included.
		if len(withText) != 1 || len(withText[0]) != 2 || withText[0][1].Text == nil || *withText[0][1].Text != "▁dog" {
			t.Errorf("return_text: %+v", withText)
		}
	})
	t.Run("README's jq into Qdrant's sparse vector", func(t *testing.T) {
		checkREADMESparseJQ(t, sp, inputs[1])
	})
	t.Run("embed_colbert", func(t *testing.T) {
		var got [][][]float32
		if r := sp.post(t, "/embed_colbert", map[string]any{"inputs": inputs, "model": "m3"}, &got); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
		for i, text := range inputs {
			checkColBERT(t, text, got[i], m.colbert(text))
		}
	})
	t.Run("v1/embeddings outputs", func(t *testing.T) {
		var plain, all api.OpenAIEmbeddingResponse
		sp.post(t, "/v1/embeddings", map[string]any{"input": inputs, "model": "m3"}, &plain)
		if r := sp.post(t, "/v1/embeddings", map[string]any{"input": inputs, "model": "m3", "outputs": []string{"dense", "sparse", "colbert"}}, &all); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
		for i, text := range inputs {
			dense := floats(t, all.Data[i].Embedding)
			// The dense output of one encode is what /v1/embeddings gives.
			if d := maxAbsDiff(t, dense, widen(floats(t, plain.Data[i].Embedding))); d > 1e-6 {
				t.Errorf("%q: dense differs from /v1/embeddings by %.2e", text, d)
			}
			if d := maxAbsDiff(t, dense, m.dense(text)); d > tolerance {
				t.Errorf("%q: dense differs from the reference by %.2e", text, d)
			}
			checkSparse(t, text, all.Data[i].Sparse, m.sparse(text))
			checkColBERT(t, text, all.Data[i].ColBERT, m.colbert(text))
		}
		if all.Usage.PromptTokens != plain.Usage.PromptTokens {
			t.Errorf("usage %d, plain %d", all.Usage.PromptTokens, plain.Usage.PromptTokens)
		}
	})
	t.Run("hybrid rerank", func(t *testing.T) {
		for _, c := range []struct {
			path    string
			weights map[string]float64
			want    [3]float64
		}{
			{"/v1/rerank", nil, [3]float64{0.4, 0.2, 0.4}},
			{"/v2/rerank", map[string]float64{"dense": 1, "sparse": 0.3, "colbert": 2}, [3]float64{1, 0.3, 2}},
			{"/rerank", map[string]float64{"sparse": 1}, [3]float64{0, 1, 0}},
		} {
			body := map[string]any{"model": "m3", "query": m3Query, "documents": m3Docs}
			if c.weights != nil {
				body["hybrid_weights"] = c.weights
			}
			var resp api.CohereRerankResponse
			if r := sp.post(t, c.path, body, &resp); r.StatusCode != 200 {
				t.Fatalf("%s: status %d", c.path, r.StatusCode)
			}
			if len(resp.Results) != len(m3Docs) {
				t.Fatalf("%s: %d results", c.path, len(resp.Results))
			}
			for k, res := range resp.Results {
				want := m.score(m3Query, m3Docs[res.Index], c.want)
				if math.Abs(res.RelevanceScore-want) > tolerance {
					t.Errorf("%s %v: document %d scores %.6f, reference %.6f", c.path, c.want, res.Index, res.RelevanceScore, want)
				}
				if k > 0 && res.RelevanceScore > resp.Results[k-1].RelevanceScore {
					t.Errorf("%s: results not sorted: %+v", c.path, resp.Results)
				}
			}
		}
		// TEI's shape of /rerank, with texts.
		var ranks []api.TEIRank
		if r := sp.post(t, "/rerank", map[string]any{"model": "m3", "query": m3Query, "texts": m3Docs}, &ranks); r.StatusCode != 200 || len(ranks) != len(m3Docs) {
			t.Fatalf("TEI rerank: status %d, %+v", r.StatusCode, ranks)
		}
		if want := m.score(m3Query, m3Docs[ranks[0].Index], [3]float64{0.4, 0.2, 0.4}); math.Abs(ranks[0].Score-want) > tolerance {
			t.Errorf("TEI rerank: %.6f, reference %.6f", ranks[0].Score, want)
		}
	})
	t.Run("without heads", func(t *testing.T) {
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{"/embed_sparse", map[string]any{"inputs": "the dog", "model": "dense-only"}},
			{"/embed_colbert", map[string]any{"inputs": "the dog", "model": "dense-only"}},
			{"/v1/embeddings", map[string]any{"input": "the dog", "model": "dense-only", "outputs": []string{"sparse"}}},
			{"/v1/rerank", map[string]any{"query": "dog", "documents": []string{"the dog"}, "model": "dense-only"}},
		} {
			var e map[string]any
			r := sp.post(t, c.path, c.body, &e)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(e), "head") {
				t.Errorf("%s: status %d, %v; want 422 naming the missing head", c.path, r.StatusCode, e)
			}
		}
		// Dense alone needs no head: a dense-only model reranks by q·p.
		var resp api.CohereRerankResponse
		body := map[string]any{"query": m3Query, "documents": m3Docs, "model": "dense-only", "hybrid_weights": map[string]float64{"dense": 1}}
		if r := sp.post(t, "/v1/rerank", body, &resp); r.StatusCode != 200 {
			t.Fatalf("dense-only rerank: status %d", r.StatusCode)
		}
		for _, res := range resp.Results {
			if want := reference.Dot(m.dense(m3Query), m.dense(m3Docs[res.Index])); math.Abs(res.RelevanceScore-want) > tolerance {
				t.Errorf("dense-only rerank: document %d %.6f, reference %.6f", res.Index, res.RelevanceScore, want)
			}
		}
		// Weights mean nothing to a cross-encoder.
		var e api.CohereError
		body = map[string]any{"query": "dog", "documents": []string{"the dog"}, "model": "ce", "hybrid_weights": map[string]float64{"dense": 1}}
		if r := sp.post(t, "/v1/rerank", body, &e); r.StatusCode != http.StatusBadRequest {
			t.Errorf("hybrid weights on a cross-encoder: status %d, %+v", r.StatusCode, e)
		}
	})
}

func checkSparse(t *testing.T, text string, got []api.TEISparseValue, want map[int32]float64) {
	t.Helper()
	var ids []int32
	for _, v := range got {
		ids = append(ids, v.Index)
		if m3Special(v.Index) {
			t.Errorf("%q: special token %d has a weight", text, v.Index)
		}
		if w, ok := want[v.Index]; !ok || math.Abs(float64(v.Value)-w) > tolerance {
			t.Errorf("%q: token %d weighs %.6f, reference %.6f (present %v)", text, v.Index, v.Value, w, ok)
		}
	}
	if len(ids) != len(want) || !slices.IsSorted(ids) {
		t.Errorf("%q: token ids %v, reference has %d: %v", text, ids, len(want), want)
	}
}

func checkColBERT(t *testing.T, text string, got [][]float32, want [][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: %d ColBERT vectors, reference %d", text, len(got), len(want))
	}
	for j := range got {
		if d := maxAbsDiff(t, got[j], want[j]); d > tolerance {
			t.Errorf("%q: ColBERT vector %d differs by %.2e", text, j, d)
		}
	}
}

// Why the heads travel in a companion file: llama.cpp refuses a GGUF with
// one tensor more than its architecture creates.
func TestGGUFWithExtraTensorIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := testmodel.Tiny(63, "cls")
	if err := testmodel.WriteGGUF(filepath.Join(dir, "base.gguf"), testmodel.Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	meta, err := gguf.ReadMetadata(filepath.Join(dir, "base.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "base.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	for _, kv := range meta.KVs {
		if kv.Key != "general.alignment" {
			w.AddKV(kv.Key, kv.Value)
		}
	}
	for _, ti := range meta.Tensors {
		n := uint64(4)
		for _, d := range ti.Ne {
			n *= d
		}
		start := uint64(meta.DataOffset) + ti.Offset
		w.AddRawTensor(ti.Name, ti.Ne, ti.Type, data[start:start+n])
	}
	w.AddTensor("sparse_linear.weight", []uint64{uint64(cfg.Hidden), 1}, gguf.TensorF32, make([]float32, cfg.Hidden))
	if err := w.WriteFile(filepath.Join(dir, "extra.gguf")); err != nil {
		t.Fatal(err)
	}
	catalog := "models:\n  - {name: base, kind: embedding, file: base.gguf}\n  - {name: extra, kind: embedding, file: extra.gguf}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "base", "--reranker-model", "")
	if r := sp.post(t, "/v1/embeddings", map[string]any{"input": "dog", "model": "base"}, nil); r.StatusCode != 200 {
		t.Fatalf("the model as written: status %d", r.StatusCode)
	}
	var e api.OpenAIErrorResponse
	if r := sp.post(t, "/v1/embeddings", map[string]any{"input": "dog", "model": "extra"}, &e); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("with an extra tensor: status %d, %+v; llama.cpp now loads it, so the heads could move into the GGUF", r.StatusCode, e)
	}
}

// checkREADMESparseJQ runs the jq program README.md shows on /embed_sparse's
// answer: it must give Qdrant's {"indices", "values"} of the same weights.
func checkREADMESparseJQ(t *testing.T, sp *serverProcess, text string) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq is not installed")
	}
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var program string
	for _, line := range strings.Split(string(data), "\n") {
		if _, rest, ok := strings.Cut(line, "| jq -c '"); ok && strings.Contains(rest, "indices") {
			program, _, _ = strings.Cut(rest, "'")
		}
	}
	if program == "" {
		t.Fatal("README.md shows no jq program making Qdrant's indices and values")
	}
	r := sp.send(t, http.MethodPost, "/embed_sparse", "application/json", []byte(fmt.Sprintf(`{"model": "m3", "inputs": [%q]}`, text)))
	var weights [][]api.TEISparseValue
	if err := json.Unmarshal(r.body, &weights); err != nil || r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	cmd := exec.Command(jq, "-c", program)
	cmd.Stdin = bytes.NewReader(r.body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq %s: %v", program, err)
	}
	var qdrant struct {
		Indices []int32   `json:"indices"`
		Values  []float32 `json:"values"`
	}
	if err := json.Unmarshal(out, &qdrant); err != nil {
		t.Fatalf("jq gave %s: %v", out, err)
	}
	if len(qdrant.Indices) == 0 || len(qdrant.Indices) != len(weights[0]) || len(qdrant.Values) != len(weights[0]) {
		t.Fatalf("jq gave %s for %+v", out, weights[0])
	}
	for i, w := range weights[0] {
		if qdrant.Indices[i] != w.Index || qdrant.Values[i] != w.Value {
			t.Errorf("entry %d: %d=%v, /embed_sparse %d=%v", i, qdrant.Indices[i], qdrant.Values[i], w.Index, w.Value)
		}
	}
}
