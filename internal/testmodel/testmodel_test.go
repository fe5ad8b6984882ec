package testmodel

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/segments"
)

func TestGenerateIsSeeded(t *testing.T) {
	a, b := Generate(Tiny(1, "cls")), Generate(Tiny(1, "cls"))
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different weights")
	}
	c := Generate(Tiny(2, "cls"))
	if a.Layers[0].Query.Weight.Data[0] == c.Layers[0].Query.Weight.Data[0] {
		t.Error("different seeds gave the same weights")
	}
	rank := Generate(Tiny(1, "rank"))
	if !reflect.DeepEqual(a.Layers, rank.Layers) || rank.Classifier == nil || rank.Pooler == nil {
		t.Error("a rank model should add a head to the same encoder")
	}
}

func TestGenerateDistributions(t *testing.T) {
	w := Generate(distributionConfig())
	stats := func(v []float32) (mean, std float64) {
		for _, x := range v {
			mean += float64(x)
		}
		mean /= float64(len(v))
		for _, x := range v {
			std += (float64(x) - mean) * (float64(x) - mean)
		}
		return mean, math.Sqrt(std / float64(len(v)))
	}
	checks := []struct {
		name      string
		v         []float32
		mean, std float64
	}{
		{"query weight", w.Layers[0].Query.Weight.Data, 0, 0.02},
		{"ffn bias", w.Layers[1].Intermediate.Bias, 0, 0.02},
		{"norm weight", w.Layers[0].OutputNorm.Weight, 1, 0.1},
		{"norm bias", w.EmbeddingNorm.Bias, 0, 0.1},
	}
	for _, c := range checks {
		mean, std := stats(c.v)
		if math.Abs(mean-c.mean) > 3*c.std/math.Sqrt(float64(len(c.v)))+1e-9 || math.Abs(std-c.std) > 0.15*c.std {
			t.Errorf("%s: mean %.4f std %.4f, want %.2f and %.2f", c.name, mean, std, c.mean, c.std)
		}
	}
}

// distributionConfig has enough elements for distribution checks but
// generates instantly.
func distributionConfig() Config {
	return Config{Seed: 3, Hidden: 128, Layers: 2, Heads: 2, Intermediate: 512, MaxPositions: 16, TypeVocab: 1, Pooling: "mean"}
}

func TestWriteGGUFLayout(t *testing.T) {
	cfg := Tiny(7, "rank")
	cfg.Labels = 3
	w := Generate(cfg)
	path := filepath.Join(t.TempDir(), "rank.gguf")
	if err := WriteGGUF(path, w, cfg, "f16"); err != nil {
		t.Fatal(err)
	}
	m, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	wantKV := map[string]any{
		"general.architecture":              "bert",
		"general.file_type":                 uint32(1),
		"bert.context_length":               uint32(64),
		"bert.embedding_length":             uint32(64),
		"bert.feed_forward_length":          uint32(128),
		"bert.block_count":                  uint32(2),
		"bert.attention.head_count":         uint32(4),
		"bert.attention.layer_norm_epsilon": float32(1e-12),
		"bert.attention.causal":             false,
		"bert.pooling_type":                 uint32(4),
		"bert.classifier.output_labels":     []string{"LABEL_0", "LABEL_1", "LABEL_2"},
		"tokenizer.ggml.model":              "bert",
		"tokenizer.ggml.token_type_count":   uint32(2),
		"tokenizer.ggml.bos_token_id":       uint32(CLSID),
		"tokenizer.ggml.seperator_token_id": uint32(SEPID),
		"tokenizer.ggml.unknown_token_id":   uint32(UnkID),
		"tokenizer.ggml.padding_token_id":   uint32(PadID),
		"tokenizer.ggml.mask_token_id":      uint32(MaskID),
		"tokenizer.ggml.add_bos_token":      true,
		"tokenizer.ggml.add_sep_token":      true,
	}
	for key, want := range wantKV {
		if got, ok := m.Value(key); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}

	tokens, _ := m.Value("tokenizer.ggml.tokens")
	types, _ := m.Value("tokenizer.ggml.token_type")
	vocab := DefaultVocab()
	hello := slices.Index(vocab, "hello")
	plural := slices.Index(vocab, "##s")
	toks, tt := tokens.([]string), types.([]int32)
	if toks[CLSID] != "[CLS]" || tt[CLSID] != 3 || toks[hello] != "▁hello" || tt[hello] != 1 || toks[plural] != "s" {
		t.Errorf("vocabulary not in phantom-space form: [CLS]=%q/%d hello=%q/%d ##s=%q",
			toks[CLSID], tt[CLSID], toks[hello], tt[hello], toks[plural])
	}
	// A cross-encoder with two token types carries the segment-B copies.
	v := len(vocab)
	if off, _ := m.Value(segments.OffsetKey); off != uint32(v) || len(toks) != 2*v || toks[v+hello] != "[B]▁hello" || tt[v+hello] != 5 {
		t.Errorf("segment-B vocabulary missing: offset %v, %d tokens, copy of hello %q/%d", off, len(toks), toks[v+hello], tt[v+hello])
	}

	shapes := map[string][]uint64{}
	types16 := map[string]gguf.TensorType{}
	for _, ti := range m.Tensors {
		shapes[ti.Name], types16[ti.Name] = ti.Ne, ti.Type
	}
	wantShapes := map[string][]uint64{
		"token_embd.weight":            {64, 2 * uint64(len(vocab))}, // segment-B rows appended
		"token_types.weight":           {64, 2},
		"position_embd.weight":         {64, 64},
		"token_embd_norm.bias":         {64},
		"blk.1.attn_q.weight":          {64, 64},
		"blk.1.ffn_up.weight":          {64, 128}, // HF [128, 64]
		"blk.1.ffn_up.bias":            {128},
		"blk.1.ffn_down.weight":        {128, 64}, // HF [64, 128]
		"blk.1.layer_output_norm.bias": {64},
		"cls.weight":                   {64, 64},
		"cls.output.weight":            {64, 3},
		"cls.output.bias":              {3},
	}
	for name, want := range wantShapes {
		if !reflect.DeepEqual(shapes[name], want) {
			t.Errorf("%s: shape %v, want %v", name, shapes[name], want)
		}
	}
	if len(m.Tensors) != 5+2*16+4 {
		t.Errorf("%d tensors, want %d", len(m.Tensors), 5+2*16+4)
	}
	if types16["blk.0.attn_k.weight"] != gguf.TensorF16 || types16["blk.0.attn_k.bias"] != gguf.TensorF32 ||
		types16["position_embd.weight"] != gguf.TensorF32 {
		t.Error("f16 file should store matrices as f16, vectors and position/type tables as f32")
	}
}

func TestWriteGGUFStoresWeightsExactly(t *testing.T) {
	cfg := Tiny(5, "mean")
	w := Generate(cfg)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	for _, p := range []string{a, b} {
		if err := WriteGGUF(p, w, cfg, "f32"); err != nil {
			t.Fatal(err)
		}
	}
	fa, _ := os.ReadFile(a)
	fb, _ := os.ReadFile(b)
	if !bytes.Equal(fa, fb) {
		t.Error("GGUF output is not deterministic")
	}
	m, err := gguf.ReadMetadata(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range m.Tensors {
		if ti.Name != "blk.1.ffn_down.weight" {
			continue
		}
		data := fa[m.DataOffset+int64(ti.Offset):]
		want := w.Layers[1].Output.Weight.Data // HF row-major [hidden, intermediate]
		for i, x := range want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])); got != x {
				t.Fatalf("element %d = %g, want %g", i, got, x)
			}
		}
		return
	}
	t.Fatal("blk.1.ffn_down.weight not found")
}

func TestWriteGGUFRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.gguf")
	cfg := Tiny(1, "cls")
	w := Generate(cfg)
	if err := WriteGGUF(path, w, cfg, "q8"); err == nil {
		t.Error("accepted dtype q8")
	}
	rank := cfg
	rank.Pooling = "rank"
	if err := WriteGGUF(path, w, rank, "f32"); err == nil {
		t.Error("accepted rank pooling without a classifier")
	}
}

func TestExpectedIDs(t *testing.T) {
	vocab := DefaultVocab()
	got := Config{}.ExpectedIDs("hello  world")
	want := []int32{CLSID, int32(slices.Index(vocab, "hello")), int32(slices.Index(vocab, "world")), SEPID}
	if !slices.Equal(got, want) {
		t.Errorf("ExpectedIDs = %v, want %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for a word outside the vocabulary")
		}
	}()
	Config{}.ExpectedIDs("hello zebra")
}

func TestDefaultVocabIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for i, tok := range DefaultVocab() {
		if seen[tok] {
			t.Errorf("token %d %q is a duplicate", i, tok)
		}
		seen[tok] = true
	}
	if len(seen) < 300 {
		t.Errorf("only %d tokens", len(seen))
	}
}

func TestBERTBaseIsQuickToBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 170 MB file")
	}
	start := time.Now()
	cfg := BERTBase(1)
	w := Generate(cfg)
	generated := time.Since(start)
	if err := WriteGGUF(filepath.Join(t.TempDir(), "base.gguf"), w, cfg, "f16"); err != nil {
		t.Fatal(err)
	}
	t.Logf("BERT-base shape: generated in %v, written as f16 in %v", generated, time.Since(start)-generated)
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("took %v", elapsed)
	}
}

// Only two-type cross-encoders get segment-B rows; the copies hold
// token_embd[i] + token_types[1] − token_types[0].
func TestWriteGGUFSegments(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"bert cross-encoder", Tiny(8, "rank"), true},
		{"embedding model", Tiny(8, "cls"), false},
		{"one token type", func() Config { c := Tiny(8, "rank"); c.TypeVocab = 1; return c }(), false},
		{"sentencepiece", func() Config { c := Tiny(8, "rank"); c.Tokenizer = "ugm"; return c }(), false},
		{"upstream layout", func() Config { c := Tiny(8, "rank"); c.NoSegmentRows = true; return c }(), false},
	} {
		w := Generate(c.cfg)
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".gguf")
		if err := WriteGGUF(path, w, c.cfg, "f32"); err != nil {
			t.Fatal(err)
		}
		m, err := gguf.ReadMetadata(path)
		if err != nil {
			t.Fatal(err)
		}
		_, has := m.Value(segments.OffsetKey)
		if has != c.want {
			t.Errorf("%s: offset key present %v, want %v", c.name, has, c.want)
		}
		if !has {
			continue
		}
		raw, _ := os.ReadFile(path)
		for _, ti := range m.Tensors {
			if ti.Name != "token_embd.weight" {
				continue
			}
			data := raw[m.DataOffset+int64(ti.Offset):]
			v, h := w.VocabSize(), w.HiddenSize
			at := func(row, col int) float32 {
				return math.Float32frombits(binary.LittleEndian.Uint32(data[4*(row*h+col):]))
			}
			types := w.TokenTypeEmbeddings
			for _, i := range []int{0, 7, v - 1} {
				for j := range h {
					want := float64(w.WordEmbeddings.Row(i)[j]) + float64(types.Row(1)[j]) - float64(types.Row(0)[j])
					if got := at(v+i, j); math.Abs(float64(got)-want) > 1e-7 || at(i, j) != w.WordEmbeddings.Row(i)[j] {
						t.Fatalf("row %d col %d: copy %g, want %g", i, j, got, want)
					}
				}
			}
		}
	}
}

func TestWriteGGUFSentencePieceVocab(t *testing.T) {
	cfg := Tiny(9, "rank")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	path := filepath.Join(t.TempDir(), "xlmr.gguf")
	if err := WriteGGUF(path, Generate(cfg), cfg, "f32"); err != nil {
		t.Fatal(err)
	}
	m, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"tokenizer.ggml.model":            "t5",
		"tokenizer.ggml.bos_token_id":     uint32(CLSID),
		"tokenizer.ggml.eos_token_id":     uint32(SEPID),
		"tokenizer.ggml.add_bos_token":    true,
		"tokenizer.ggml.add_eos_token":    true,
		"tokenizer.ggml.token_type_count": uint32(1),
	} {
		if got, ok := m.Value(key); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	tokens, _ := m.Value("tokenizer.ggml.tokens")
	toks := tokens.([]string)
	if toks[CLSID] != "<s>" || toks[SEPID] != "</s>" || toks[UnkID] != "<unk>" || toks[slices.Index(DefaultVocab(), "hello")] != "▁hello" {
		t.Errorf("not a SentencePiece vocabulary: %q", toks[:8])
	}
}
