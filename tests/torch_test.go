package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// A real file nobody here wrote: a random-weight BertForSequenceClassification
// saved by transformers 4.30 / torch as pytorch_model.bin (a zip holding a
// pickle), with 16 token types and a pooler. Converted by rerank-api and
// served, its raw scores must equal an exact forward pass over the same
// checkpoint's tensors, with the real token types of the pair.
const torchModelDir = "../testdata/tiny-models/BertForSequenceClassification"

func TestTorchCheckpointConvertsAndScoresExactly(t *testing.T) {
	if _, err := os.Stat(torchModelDir); err != nil {
		t.Fatalf("reference data missing: %v", err)
	}
	dir := t.TempDir()
	runConvert(t, "--input", torchModelDir, "--output", filepath.Join(dir, "torch-ce.gguf"), "--outtype", "f32")
	catalog := "models:\n  - {name: torch-ce, kind: rerank, file: torch-ce.gguf}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "", "--reranker-model", "torch-ce")

	w := torchReference(t)
	vocab := readVocab(t, filepath.Join(torchModelDir, "vocab.txt"))
	// The vocabulary is characters and ## pieces: single letters are whole
	// words, so their ids are known without a tokenizer.
	query := "w h y i s t h e s k y"
	docs := []string{"b l u e", "r a y l e i g h s c a t t e r i n g o f l i g h t", "c"}
	var resp api.CohereRerankResponse
	if r := sp.post(t, "/v1/rerank", map[string]any{"query": query, "documents": docs, "raw_scores": true}, &resp); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	got := scores(resp)
	for i, doc := range docs {
		ids, types := []int32{vocab["[CLS]"]}, []int32{0}
		for _, word := range strings.Fields(query) {
			ids, types = append(ids, wordID(t, vocab, word)), append(types, 0)
		}
		ids, types = append(ids, vocab["[SEP]"]), append(types, 0)
		for _, word := range strings.Fields(doc) {
			ids, types = append(ids, wordID(t, vocab, word)), append(types, 1)
		}
		ids, types = append(ids, vocab["[SEP]"]), append(types, 1)
		// Two labels (transformers' default num_labels): the score is the
		// last, "relevant" one.
		logits := w.Classify(ids, types)
		want := logits[len(logits)-1]
		if d := got[i] - want; d > tolerance || d < -tolerance {
			t.Errorf("document %d: logit %.6f, reference %.6f", i, got[i], want)
		}
	}
}

func wordID(t *testing.T, vocab map[string]int32, word string) int32 {
	id, ok := vocab[word]
	if !ok {
		t.Fatalf("test word %q is not a whole word of the checkpoint's vocab.txt", word)
	}
	return id
}

func readVocab(t *testing.T, path string) map[string]int32 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int32{}
	s := bufio.NewScanner(f)
	for id := int32(0); s.Scan(); id++ {
		out[s.Text()] = id
	}
	return out
}

// torchReference builds the reference model from the checkpoint's tensors.
func torchReference(t *testing.T) *reference.Weights {
	ck, err := checkpoint.Open(torchModelDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	matrix := func(name string) reference.Matrix {
		info, ok := ck.Info(name)
		if !ok || len(info.Shape) != 2 {
			t.Fatalf("checkpoint tensor %s: %v", name, info.Shape)
		}
		data, err := ck.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return reference.Matrix{Rows: int(info.Shape[0]), Cols: int(info.Shape[1]), Data: data}
	}
	vector := func(name string) []float32 {
		data, err := ck.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	dense := func(name string) reference.Dense {
		return reference.Dense{Weight: matrix(name + ".weight"), Bias: vector(name + ".bias")}
	}
	norm := func(name string) reference.LayerNorm {
		return reference.LayerNorm{Weight: vector(name + ".weight"), Bias: vector(name + ".bias")}
	}
	w := &reference.Weights{
		Config:              reference.Config{HiddenSize: 32, Heads: 4, Layers: 5, Intermediate: 37, MaxPositions: 512, TypeVocab: 16, LayerNormEps: 1e-12, Activation: reference.GELUErf},
		WordEmbeddings:      matrix("bert.embeddings.word_embeddings.weight"),
		PositionEmbeddings:  matrix("bert.embeddings.position_embeddings.weight"),
		TokenTypeEmbeddings: matrix("bert.embeddings.token_type_embeddings.weight"),
		EmbeddingNorm:       norm("bert.embeddings.LayerNorm"),
	}
	for i := range 5 {
		p := fmt.Sprintf("bert.encoder.layer.%d.", i)
		w.Layers = append(w.Layers, reference.Layer{
			Query: dense(p + "attention.self.query"), Key: dense(p + "attention.self.key"), Value: dense(p + "attention.self.value"),
			AttentionOutput: dense(p + "attention.output.dense"), AttentionNorm: norm(p + "attention.output.LayerNorm"),
			Intermediate: dense(p + "intermediate.dense"), Output: dense(p + "output.dense"), OutputNorm: norm(p + "output.LayerNorm"),
		})
	}
	pooler, classifier := dense("bert.pooler.dense"), dense("classifier")
	w.Pooler, w.Classifier = &pooler, &classifier
	return w
}
