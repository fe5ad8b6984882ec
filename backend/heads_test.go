package backend

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// headsModel is the part of a loaded model the heads read: its metadata
// and its special ids (<s> 0, </s> 2; <pad> 1 and <unk> 3 in the metadata).
type headsModel struct {
	Model
	meta map[string]string
}

func (m headsModel) Meta(key string) string { return m.meta[key] }
func (m headsModel) Info() ModelInfo        { return ModelInfo{BOS: 0, EOS: 2, SEP: 2} }

// writeHeadsFile writes h as the converter does and returns a model that
// names it.
func writeHeadsFile(t testing.TB, dir string, h reference.M3Heads) headsModel {
	t.Helper()
	w := gguf.NewWriter()
	hidden := uint64(h.Sparse.Weight.Cols)
	w.AddTensor(keys.SparseWeight, []uint64{hidden, 1}, gguf.TensorF32, h.Sparse.Weight.Data)
	w.AddTensor(keys.SparseBias, []uint64{1}, gguf.TensorF32, h.Sparse.Bias)
	w.AddTensor(keys.ColBERTWeight, []uint64{hidden, uint64(h.ColBERT.Weight.Rows)}, gguf.TensorF32, h.ColBERT.Weight.Data)
	w.AddTensor(keys.ColBERTBias, []uint64{uint64(h.ColBERT.Weight.Rows)}, gguf.TensorF32, h.ColBERT.Bias)
	path := filepath.Join(dir, "m.heads.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return headsModel{meta: map[string]string{
		keys.HeadsFile: "m.heads.gguf", keys.HeadsSHA256: hex.EncodeToString(sum[:]),
		"tokenizer.ggml.unknown_token_id": "3", "tokenizer.ggml.padding_token_id": "1",
	}}
}

// The Go heads compute FlagEmbedding's sparse weights and ColBERT vectors,
// and the three scores, as the float64 reference does, on random states
// with repeated ids and every kind of special token.
func TestHeadsMatchReference(t *testing.T) {
	cfg := testmodel.Tiny(7, "cls")
	cfg.Hidden = 48 // not a multiple of the 4-token blocks' width, nor the seqs'
	ref := testmodel.GenerateM3Heads(cfg)
	dir := t.TempDir()
	model := writeHeadsFile(t, dir, ref)
	h, err := loadHeads(model, filepath.Join(dir, "m.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	special := specialIDs(model)
	r := rand.New(rand.NewPCG(1, 2))
	seq := func(n int) ([]int32, [][]float32, [][]float64) {
		ids := []int32{0}
		for range n - 2 {
			ids = append(ids, int32(r.IntN(12))) // repeats, UNK (3) and PAD (1) among them
		}
		ids = append(ids, 2)
		states32 := make([][]float32, n)
		states64 := make([][]float64, n)
		for t := range states32 {
			states32[t] = make([]float32, cfg.Hidden)
			states64[t] = make([]float64, cfg.Hidden)
			for j := range states32[t] {
				states32[t][j] = float32(r.NormFloat64())
				states64[t][j] = float64(states32[t][j])
			}
		}
		return ids, states32, states64
	}
	isSpecial := func(id int32) bool { return id == 0 || id == 1 || id == 2 || id == 3 }
	qIDs, q32, q64 := seq(7)
	pIDs, p32, p64 := seq(23)
	for _, c := range []struct {
		ids []int32
		s32 [][]float32
		s64 [][]float64
	}{{qIDs, q32, q64}, {pIDs, p32, p64}} {
		got := h.sparse(c.ids, c.s32, special)
		want := ref.M3Sparse(c.ids, c.s64, isSpecial)
		if len(got) != len(want) {
			t.Fatalf("sparse: %d ids, reference %d", len(got), len(want))
		}
		for i, sw := range got {
			if i > 0 && got[i-1].ID >= sw.ID {
				t.Errorf("sparse ids not increasing: %v", got)
			}
			if isSpecial(sw.ID) || math.Abs(float64(sw.Weight)-want[sw.ID]) > 1e-5 {
				t.Errorf("sparse id %d: %v, reference %v", sw.ID, sw.Weight, want[sw.ID])
			}
		}
		cols := h.colbert(c.s32)
		wantCols := ref.M3ColBERT(c.s64)
		if len(cols) != len(c.ids)-1 {
			t.Fatalf("colbert: %d vectors for %d tokens", len(cols), len(c.ids))
		}
		for i := range cols {
			for j := range cols[i] {
				if d := math.Abs(float64(cols[i][j]) - wantCols[i][j]); d > 1e-5 {
					t.Fatalf("colbert %d[%d]: %v, reference %v", i, j, cols[i][j], wantCols[i][j])
				}
			}
		}
	}
	q := m3Rep{dense: q32[0], sparse: h.sparse(qIDs, q32, special), colbert: h.colbert(q32)}
	p := m3Rep{dense: p32[0], sparse: h.sparse(pIDs, p32, special), colbert: h.colbert(p32)}
	dense := 0.0
	for j := range q64[0] {
		dense += q64[0][j] * p64[0][j]
	}
	sparse := reference.SparseScore(ref.M3Sparse(qIDs, q64, isSpecial), ref.M3Sparse(pIDs, p64, isSpecial))
	colbert := reference.ColBERTScore(ref.M3ColBERT(q64), ref.M3ColBERT(p64))
	if sparse == 0 {
		t.Fatal("the sequences share no token: the sparse score is not tested")
	}
	for _, w := range []HybridWeights{DefaultHybridWeights, {Dense: 1}, {Sparse: 2}, {ColBERT: 1, Dense: 3}} {
		want := reference.HybridScore(dense, sparse, colbert, [3]float64{w.Dense, w.Sparse, w.ColBERT})
		if got := hybridScore(q, p, w); math.Abs(got-want) > 1e-4 {
			t.Errorf("weights %+v: score %v, reference %v", w, got, want)
		}
	}
}

// A heads file that is missing or not the one the model recorded fails
// the load with what to do; a model naming none has none.
func TestLoadHeadsChecks(t *testing.T) {
	cfg := testmodel.Tiny(8, "cls")
	dir := t.TempDir()
	model := writeHeadsFile(t, dir, testmodel.GenerateM3Heads(cfg))
	if h, err := loadHeads(headsModel{meta: map[string]string{}}, filepath.Join(dir, "m.gguf")); h != nil || err != nil {
		t.Errorf("no heads named: %v, %v", h, err)
	}
	bad := headsModel{meta: map[string]string{keys.HeadsFile: model.meta[keys.HeadsFile], keys.HeadsSHA256: strings.Repeat("0", 64)}}
	if _, err := loadHeads(bad, filepath.Join(dir, "m.gguf")); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("wrong checksum: %v", err)
	}
	if _, err := loadHeads(model, filepath.Join(t.TempDir(), "m.gguf")); err == nil || !strings.Contains(err.Error(), "pull or convert it again") {
		t.Errorf("missing file: %v", err)
	}
	escape := headsModel{meta: map[string]string{keys.HeadsFile: "../x.gguf"}}
	if _, err := loadHeads(escape, filepath.Join(dir, "m.gguf")); err == nil {
		t.Error("a heads file outside the model's folder was read")
	}
}

func TestHybridWeightsCheck(t *testing.T) {
	for _, w := range []HybridWeights{{}, {Dense: -1, Sparse: 2}, {Dense: math.NaN()}, {ColBERT: math.Inf(1)}} {
		if err := w.check(); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
	if err := DefaultHybridWeights.check(); err != nil {
		t.Error(err)
	}
}

// BenchmarkM3Heads is the heads' own cost on BGE-M3's shape (1024 wide,
// a 1024 × 1024 ColBERT head) for 8 sequences of 256 token states, as
// EmbedOutputs runs them (one sequence per goroutine).
func BenchmarkM3Heads(b *testing.B) {
	cfg := testmodel.Tiny(9, "cls")
	cfg.Hidden = 1024
	dir := b.TempDir()
	ref := testmodel.GenerateM3Heads(cfg)
	model := writeHeadsFile(b, dir, ref)
	h, err := loadHeads(model, filepath.Join(dir, "m.gguf"))
	if err != nil {
		b.Fatal(err)
	}
	special := specialIDs(model)
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([][]int32, 8)
	states := make([][][]float32, 8)
	for i := range states {
		for range 256 {
			ids[i] = append(ids[i], int32(r.IntN(5000)))
			row := make([]float32, cfg.Hidden)
			for j := range row {
				row[j] = float32(r.NormFloat64())
			}
			states[i] = append(states[i], row)
		}
	}
	b.ResetTimer()
	for range b.N {
		forEach(len(states), func(i int) {
			h.sparse(ids[i], states[i], special)
			h.colbert(states[i])
		})
	}
}
