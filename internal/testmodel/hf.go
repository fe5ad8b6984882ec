package testmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// XLMRobertaPadTokenID is the pad_token_id WriteHF records for XLM-R
// architectures, as real XLM-R configs do (<s>=0 <pad>=1 </s>=2), whatever
// the test vocabulary's [PAD] id. XLM-R counts positions from
// pad_token_id+1, so its position table has XLMRobertaPadTokenID+1 leading
// rows that a converter must drop.
const XLMRobertaPadTokenID = 1

// HFOptions chooses the Hugging Face layout WriteHF writes.
type HFOptions struct {
	// Arch is the config's architecture: "BertModel",
	// "BertForSequenceClassification", "XLMRobertaModel" or
	// "XLMRobertaForSequenceClassification". Classification architectures
	// need weights with a classifier; the others need weights without.
	Arch string
	// DType stores every float tensor as F32 (also when empty), F16 or BF16,
	// rounded to nearest even as PyTorch's .half() and .bfloat16() do.
	DType checkpoint.DType
	// Sharded splits the weights into two safetensors files with a
	// model.safetensors.index.json, as save_pretrained does for large models.
	Sharded bool
	// PositionIDs adds the int64 embeddings.position_ids buffer that
	// checkpoints saved by transformers < 4.31 contain and converters must
	// skip.
	PositionIDs bool
	// SentenceTransformers adds modules.json, 1_Pooling/config.json (cfg's
	// cls or mean pooling), 2_Normalize and sentence_bert_config.json.
	SentenceTransformers bool
	// Tokenizer "wordpiece" writes vocab.txt, tokenizer.json,
	// tokenizer_config.json and special_tokens_map.json for cfg's
	// vocabulary, as BertTokenizerFast saves them; "" writes none.
	Tokenizer string
}

// hfArch is what differs between the supported architectures.
type hfArch struct {
	modelType string
	prefix    string // of the encoder's tensors: "", "bert." or "roberta."
	// head names the classification head's two dense layers (reference
	// Pooler and Classifier); empty for bare encoders, which get a pooler
	// of their own instead.
	head [2]string
	// positionOffset is the number of leading position rows the reference
	// does not have.
	positionOffset int
}

var hfArchs = map[string]hfArch{
	"BertModel":                     {modelType: "bert"},
	"BertForSequenceClassification": {modelType: "bert", prefix: "bert.", head: [2]string{"bert.pooler.dense", "classifier"}},
	"BertForMaskedLM":               {modelType: "bert", prefix: "bert."},
	"XLMRobertaModel":               {modelType: "xlm-roberta", positionOffset: XLMRobertaPadTokenID + 1},
	"XLMRobertaForSequenceClassification": {
		modelType: "xlm-roberta", prefix: "roberta.", positionOffset: XLMRobertaPadTokenID + 1,
		head: [2]string{"classifier.dense", "classifier.out_proj"},
	},
}

// WriteHF writes w as a Hugging Face model directory (config.json,
// safetensors weights and, by opts, tokenizer and sentence-transformers
// files), the input a converter to GGUF sees. Tensor names, shapes and
// config keys are transformers' own, so a converter that reads this
// directory right reads real checkpoints right; tests then compare its GGUF
// with WriteGGUF's or run it against the reference.
func WriteHF(dir string, w *reference.Weights, cfg Config, opts HFOptions) error {
	if err := writeHF(dir, w, cfg, opts); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

func writeHF(dir string, w *reference.Weights, cfg Config, opts HFOptions) error {
	if err := checkHF(w, cfg, opts); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	arch := hfArchs[opts.Arch]
	if err := writeJSON(filepath.Join(dir, "config.json"), hfConfig(w, cfg, opts, arch)); err != nil {
		return err
	}
	if err := writeWeights(dir, w, cfg, opts, arch); err != nil {
		return err
	}
	if opts.SentenceTransformers {
		if err := writeSentenceTransformers(dir, w, cfg); err != nil {
			return err
		}
	}
	if opts.Tokenizer == "wordpiece" {
		return writeWordPiece(dir, cfg)
	}
	return nil
}

func checkHF(w *reference.Weights, cfg Config, opts HFOptions) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	arch, ok := hfArchs[opts.Arch]
	switch {
	case !ok:
		return fmt.Errorf("architecture %q: want BertModel, BertForSequenceClassification, XLMRobertaModel or XLMRobertaForSequenceClassification", opts.Arch)
	case arch.head[0] != "" && (w.Pooler == nil || w.Classifier == nil):
		return fmt.Errorf("%s needs weights with a classifier (Config.Classifier)", opts.Arch)
	case arch.head[0] == "" && (w.Pooler != nil || w.Classifier != nil):
		return fmt.Errorf("%s has no classifier, but the weights do: use %sForSequenceClassification",
			opts.Arch, opts.Arch[:len(opts.Arch)-len("Model")])
	case (opts.Arch == "BertForMaskedLM") != (w.MLM != nil):
		return fmt.Errorf("%s: BertForMaskedLM and only it needs weights with a masked-LM head (GenerateSPLADE)", opts.Arch)
	case len(cfg.vocab()) != w.VocabSize():
		return fmt.Errorf("vocabulary has %d tokens, weights %d", len(cfg.vocab()), w.VocabSize())
	case opts.SentenceTransformers && cfg.Pooling != "cls" && cfg.Pooling != "mean":
		return fmt.Errorf("sentence-transformers pooling %q: want cls or mean", cfg.Pooling)
	case opts.Tokenizer != "" && opts.Tokenizer != "wordpiece":
		return fmt.Errorf("tokenizer %q: want wordpiece or none", opts.Tokenizer)
	case opts.Tokenizer == "wordpiece" && cfg.Tokenizer == "ugm":
		// WriteGGUF would give the same model a SentencePiece vocabulary.
		return fmt.Errorf("tokenizer wordpiece, but cfg.Tokenizer is %q", cfg.Tokenizer)
	}
	switch opts.DType {
	case "", checkpoint.F32, checkpoint.F16, checkpoint.BF16:
		return nil
	}
	return fmt.Errorf("dtype %q: want F32, F16 or BF16", opts.DType)
}

// hfTensor is one float tensor of the checkpoint, sharing w's storage
// unless it is one of the extra tensors WriteHF makes up.
type hfTensor struct {
	name  string
	shape []int64
	data  []float32
}

// hfTensors lays w out under transformers' names (modeling_bert.py and
// modeling_xlm_roberta.py), in the order save_pretrained writes them.
func hfTensors(w *reference.Weights, cfg Config, arch hfArch) []hfTensor {
	var ts []hfTensor
	vector := func(name string, v []float32) { ts = append(ts, hfTensor{name, []int64{int64(len(v))}, v}) }
	matrix := func(name string, m reference.Matrix) {
		ts = append(ts, hfTensor{name, []int64{int64(m.Rows), int64(m.Cols)}, m.Data})
	}
	dense := func(name string, d reference.Dense) {
		matrix(name+".weight", d.Weight)
		vector(name+".bias", d.Bias)
	}
	norm := func(name string, ln reference.LayerNorm) {
		vector(name+".weight", ln.Weight)
		vector(name+".bias", ln.Bias)
	}
	g := generator{seed: cfg.Seed, std: cfg.initStd()}
	p := arch.prefix
	matrix(p+"embeddings.word_embeddings.weight", w.WordEmbeddings)
	positions := w.PositionEmbeddings
	if arch.positionOffset > 0 {
		// Random rather than zero, so a converter that keeps them shifts
		// every position and fails visibly.
		extra := g.matrix("hf.position_offset", arch.positionOffset, w.HiddenSize)
		positions = reference.Matrix{
			Rows: extra.Rows + positions.Rows, Cols: positions.Cols,
			Data: append(extra.Data, positions.Data...),
		}
	}
	matrix(p+"embeddings.position_embeddings.weight", positions)
	matrix(p+"embeddings.token_type_embeddings.weight", w.TokenTypeEmbeddings)
	norm(p+"embeddings.LayerNorm", w.EmbeddingNorm)
	for i, l := range w.Layers {
		pl := fmt.Sprintf("%sencoder.layer.%d.", p, i)
		dense(pl+"attention.self.query", l.Query)
		dense(pl+"attention.self.key", l.Key)
		dense(pl+"attention.self.value", l.Value)
		dense(pl+"attention.output.dense", l.AttentionOutput)
		norm(pl+"attention.output.LayerNorm", l.AttentionNorm)
		dense(pl+"intermediate.dense", l.Intermediate)
		dense(pl+"output.dense", l.Output)
		norm(pl+"output.LayerNorm", l.OutputNorm)
	}
	if w.MLM != nil {
		// BertForMaskedLM has no pooler, only its head (splade.go).
		ts = append(ts, mlmTensors(w.MLM)...)
	} else if arch.head[0] == "" {
		// Bare encoders carry the pooler BertModel and XLMRobertaModel
		// build by default. Embedding models never use it, so it is
		// random, from its own stream.
		dense("pooler.dense", g.dense("hf.pooler", w.HiddenSize, w.HiddenSize))
	} else {
		dense(arch.head[0], *w.Pooler)
		dense(arch.head[1], *w.Classifier)
	}
	return ts
}

// hfConfig is config.json as transformers' save_pretrained writes it for
// these architectures.
func hfConfig(w *reference.Weights, cfg Config, opts HFOptions, arch hfArch) map[string]any {
	act := "gelu" // exact erf GELU, BERT's and XLM-R's activation
	if w.Activation != reference.GELUErf {
		act = "gelu_new" // tanh approximation
	}
	torchDType := map[checkpoint.DType]string{"": "float32", checkpoint.F32: "float32", checkpoint.F16: "float16", checkpoint.BF16: "bfloat16"}
	c := map[string]any{
		"architectures":                []string{opts.Arch},
		"model_type":                   arch.modelType,
		"hidden_size":                  w.HiddenSize,
		"num_hidden_layers":            len(w.Layers),
		"num_attention_heads":          w.Heads,
		"intermediate_size":            w.Intermediate,
		"max_position_embeddings":      w.MaxPositions + arch.positionOffset,
		"type_vocab_size":              w.TokenTypeEmbeddings.Rows,
		"layer_norm_eps":               w.LayerNormEps,
		"hidden_act":                   act,
		"vocab_size":                   w.VocabSize(),
		"initializer_range":            cfg.initStd(),
		"hidden_dropout_prob":          0.1,
		"attention_probs_dropout_prob": 0.1,
		"position_embedding_type":      "absolute",
		"torch_dtype":                  torchDType[opts.DType],
		"transformers_version":         "4.44.2",
	}
	if pad := findSpecials(cfg.vocab()).pad; pad >= 0 {
		c["pad_token_id"] = pad
	}
	if arch.positionOffset > 0 {
		c["pad_token_id"], c["bos_token_id"], c["eos_token_id"] = XLMRobertaPadTokenID, 0, 2
	}
	if w.MLM != nil && !w.MLM.Tied {
		c["tie_word_embeddings"] = false
	}
	if w.Classifier != nil {
		id2label, label2id := map[string]string{}, map[string]int{}
		for i := range w.Classifier.Weight.Rows {
			label := fmt.Sprintf("LABEL_%d", i)
			id2label[fmt.Sprint(i)], label2id[label] = label, i
		}
		c["id2label"], c["label2id"], c["num_labels"] = id2label, label2id, w.Classifier.Weight.Rows
	}
	return c
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
