package testmodel

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// ggufToHF maps WriteGGUF's tensor names to transformers' for arch: the
// table a converter implements (for the heads: pooler.dense → cls and
// classifier → cls.output, so llama.cpp applies BERT's pooler). It is written
// out here rather than derived from hf.go, so the test checks the writer
// against an independent statement of the names.
func ggufToHF(arch, name string) string {
	bert := strings.HasPrefix(arch, "Bert")
	classifier := strings.HasSuffix(arch, "ForSequenceClassification")
	switch name {
	case "cls.weight", "cls.bias":
		if bert {
			return "bert.pooler.dense." + name[len("cls."):]
		}
		return "classifier.dense." + name[len("cls."):]
	case "cls.output.weight", "cls.output.bias":
		if bert {
			return "classifier." + name[len("cls.output."):]
		}
		return "classifier.out_proj." + name[len("cls.output."):]
	}
	prefix := ""
	if classifier && bert {
		prefix = "bert."
	} else if classifier {
		prefix = "roberta."
	}
	var layer int
	var rest string
	if n, _ := fmt.Sscanf(name, "blk.%d.%s", &layer, &rest); n == 2 {
		part, suffix, _ := strings.Cut(rest, ".")
		hf := map[string]string{
			"attn_q": "attention.self.query", "attn_k": "attention.self.key", "attn_v": "attention.self.value",
			"attn_output": "attention.output.dense", "attn_output_norm": "attention.output.LayerNorm",
			"ffn_up": "intermediate.dense", "ffn_down": "output.dense", "layer_output_norm": "output.LayerNorm",
		}[part]
		return fmt.Sprintf("%sencoder.layer.%d.%s.%s", prefix, layer, hf, suffix)
	}
	base, suffix, _ := strings.Cut(name, ".")
	return prefix + map[string]string{
		"token_embd": "embeddings.word_embeddings", "position_embd": "embeddings.position_embeddings",
		"token_types": "embeddings.token_type_embeddings", "token_embd_norm": "embeddings.LayerNorm",
	}[base] + "." + suffix
}

// closeTo says whether got is x rounded to dtype: exact for F32, within
// half a unit in the last place otherwise (f16 keeps 11 significant bits,
// bf16 8; f16 subnormals are spaced 2^-24).
func closeTo(dtype checkpoint.DType, got, x float32) bool {
	switch dtype {
	case checkpoint.F16:
		return math.Abs(float64(got-x)) <= max(math.Abs(float64(x))*0x1p-11, 0x1p-25)
	case checkpoint.BF16:
		return math.Abs(float64(got-x)) <= math.Abs(float64(x))*0x1p-8
	}
	return got == x
}

func TestWriteHFWeights(t *testing.T) {
	variants := []HFOptions{
		{Arch: "BertModel"},
		{Arch: "BertModel", DType: checkpoint.F16, Sharded: true},
		{Arch: "BertForSequenceClassification", PositionIDs: true},
		{Arch: "BertForSequenceClassification", DType: checkpoint.BF16, Sharded: true, PositionIDs: true},
		{Arch: "XLMRobertaModel", DType: checkpoint.F16, PositionIDs: true},
		{Arch: "XLMRobertaForSequenceClassification", DType: checkpoint.BF16},
		{Arch: "XLMRobertaForSequenceClassification", Sharded: true, PositionIDs: true},
	}
	for _, opts := range variants {
		t.Run(fmt.Sprintf("%s-%s-sharded=%v-ids=%v", opts.Arch, opts.DType, opts.Sharded, opts.PositionIDs), func(t *testing.T) {
			cfg := Tiny(3, "mean")
			if strings.HasSuffix(opts.Arch, "ForSequenceClassification") {
				cfg = Tiny(3, "rank")
				cfg.Labels = 2
			}
			w := Generate(cfg)
			dir := t.TempDir()
			if err := WriteHF(dir, w, cfg, opts); err != nil {
				t.Fatal(err)
			}
			c, err := checkpoint.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			wantIndex := map[bool]string{true: "model.safetensors.index.json", false: "model.safetensors"}[opts.Sharded]
			if filepath.Base(c.Path()) != wantIndex {
				t.Errorf("opened %s, want %s", c.Path(), wantIndex)
			}
			seen := checkGGUFTensorsInHF(t, c, w, opts)
			checkHFExtras(t, c, w, opts, seen)
		})
	}
}

// checkGGUFTensorsInHF finds each tensor WriteGGUF would write in the HF
// checkpoint, transposed back to [out, in], and returns the names it used.
func checkGGUFTensorsInHF(t *testing.T, c *checkpoint.Checkpoint, w *reference.Weights, opts HFOptions) map[string]bool {
	dtype := opts.DType
	if dtype == "" {
		dtype = checkpoint.F32
	}
	xlmr := strings.HasPrefix(opts.Arch, "XLMRoberta")
	seen := map[string]bool{}
	for _, g := range tensorLayout(w) {
		name := ggufToHF(opts.Arch, g.name)
		seen[name] = true
		info, ok := c.Info(name)
		if !ok {
			t.Errorf("%s (GGUF %s) is missing", name, g.name)
			continue
		}
		shape := make([]int64, len(g.ne))
		for i, d := range g.ne {
			shape[len(g.ne)-1-i] = int64(d)
		}
		got, err := c.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if xlmr && g.name == "position_embd.weight" {
			// Two extra leading rows: XLM-R positions start at pad+1 = 2.
			shape[0] += 2
			got = got[2*w.HiddenSize:]
		}
		if !slices.Equal(info.Shape, shape) || info.DType != dtype {
			t.Errorf("%s: %v %s, want %v %s", name, info.Shape, info.DType, shape, dtype)
			continue
		}
		for i, x := range g.data {
			if !closeTo(dtype, got[i], x) {
				t.Errorf("%s[%d] = %g, want %g in %s", name, i, got[i], x, dtype)
				break
			}
		}
	}
	return seen
}

// checkHFExtras checks the tensors a HF checkpoint has beyond WriteGGUF's:
// the int64 position_ids buffer, a bare encoder's unused pooler and
// nothing else.
func checkHFExtras(t *testing.T, c *checkpoint.Checkpoint, w *reference.Weights, opts HFOptions, seen map[string]bool) {
	classifier := strings.HasSuffix(opts.Arch, "ForSequenceClassification")
	prefix := map[string]string{"BertForSequenceClassification": "bert.", "XLMRobertaForSequenceClassification": "roberta."}[opts.Arch]
	positions := w.MaxPositions
	if strings.HasPrefix(opts.Arch, "XLMRoberta") {
		positions += 2
	}
	for _, ti := range c.Tensors() {
		switch {
		case seen[ti.Name]:
		case ti.Name == prefix+"embeddings.position_ids" && opts.PositionIDs:
			raw, err := c.Raw(ti.Name)
			if err != nil || ti.DType != checkpoint.I64 || !slices.Equal(ti.Shape, []int64{1, int64(positions)}) {
				t.Fatalf("position_ids: %v %s, %v", ti.Shape, ti.DType, err)
			}
			for i := range positions {
				if v := binary.LittleEndian.Uint64(raw[8*i:]); v != uint64(i) {
					t.Fatalf("position_ids[%d] = %d", i, v)
				}
			}
		case !classifier && (ti.Name == "pooler.dense.weight" || ti.Name == "pooler.dense.bias"):
			if ti.Shape[0] != int64(w.HiddenSize) {
				t.Errorf("%s: shape %v", ti.Name, ti.Shape)
			}
		default:
			t.Errorf("unexpected tensor %s %v", ti.Name, ti.Shape)
		}
	}
	if _, ok := c.Info("pooler.dense.weight"); !ok && !classifier {
		t.Errorf("%s has no pooler", opts.Arch)
	}
}
