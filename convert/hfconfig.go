package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// hfConfig is the part of config.json the converter reads.
type hfConfig struct {
	Architectures         []string          `json:"architectures"`
	ModelType             string            `json:"model_type"`
	HiddenSize            int               `json:"hidden_size"`
	NumHiddenLayers       int               `json:"num_hidden_layers"`
	NumAttentionHeads     int               `json:"num_attention_heads"`
	IntermediateSize      int               `json:"intermediate_size"`
	MaxPositionEmbeddings int               `json:"max_position_embeddings"`
	TypeVocabSize         int               `json:"type_vocab_size"`
	LayerNormEps          float64           `json:"layer_norm_eps"`
	HiddenAct             string            `json:"hidden_act"`
	VocabSize             int               `json:"vocab_size"`
	PadTokenID            *int              `json:"pad_token_id"`
	ID2Label              map[string]string `json:"id2label"`
	NumLabels             int               `json:"num_labels"`
	PositionEmbeddingType string            `json:"position_embedding_type"`
	// sentence-transformers' CrossEncoder stores its activation here.
	SentenceTransformers struct {
		ActivationFn string `json:"activation_fn"`
	} `json:"sentence_transformers"`
	LegacyActivationFn string `json:"sbert_ce_default_activation_function"`
}

// stInfo is what the sentence-transformers files say about a model.
type stInfo struct {
	Pooling         string // cls, mean, last; "" when no pooling module
	Normalize       bool   // a Normalize module follows the pooling
	MaxSeqLength    int
	QueryPrompt     string
	QueryPromptName string // the prompts key QueryPrompt came from
	DocumentPrompt  string
}

func readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

func readConfig(dir string) (*hfConfig, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file; convert reads a Hugging Face model directory (config.json, the weights, the tokenizer files)", dir)
	}
	var cfg hfConfig
	found, err := readJSON(filepath.Join(dir, "config.json"), &cfg)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s has no config.json: is it a Hugging Face model directory?", dir)
	}
	if len(cfg.Architectures) == 0 {
		return nil, fmt.Errorf("config.json names no architectures; supported: %s", strings.Join(supportedArchitectures(), ", "))
	}
	return &cfg, nil
}

// readSentenceTransformers reads modules.json and the module configs it
// points to. Models without them get zero values.
func readSentenceTransformers(dir string) (stInfo, error) {
	var info stInfo
	var modules []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if _, err := readJSON(filepath.Join(dir, "modules.json"), &modules); err != nil {
		return info, err
	}
	for _, m := range modules {
		switch {
		case strings.HasSuffix(m.Type, ".Pooling"):
			var p struct {
				CLS      bool `json:"pooling_mode_cls_token"`
				Mean     bool `json:"pooling_mode_mean_tokens"`
				Max      bool `json:"pooling_mode_max_tokens"`
				MeanSqrt bool `json:"pooling_mode_mean_sqrt_len_tokens"`
				Weighted bool `json:"pooling_mode_weightedmean_tokens"`
				Last     bool `json:"pooling_mode_lasttoken"`
			}
			if _, err := readJSON(filepath.Join(dir, m.Path, "config.json"), &p); err != nil {
				return info, err
			}
			switch {
			case p.Max || p.MeanSqrt || p.Weighted:
				return info, errors.New("1_Pooling uses max, mean-sqrt-len or weighted-mean pooling, which llama.cpp does not implement (it has cls, mean and last)")
			case p.CLS:
				info.Pooling = "cls"
			case p.Mean:
				info.Pooling = "mean"
			case p.Last:
				info.Pooling = "last"
			}
		case strings.HasSuffix(m.Type, ".Normalize"):
			info.Normalize = true
		}
	}
	var sbert struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if _, err := readJSON(filepath.Join(dir, "sentence_bert_config.json"), &sbert); err != nil {
		return info, err
	}
	info.MaxSeqLength = sbert.MaxSeqLength
	var st struct {
		Prompts map[string]string `json:"prompts"`
	}
	if _, err := readJSON(filepath.Join(dir, "config_sentence_transformers.json"), &st); err != nil {
		return info, err
	}
	// e5-mistral names no "query" prompt but one per task; its model card
	// retrieves with web_search_query.
	for _, name := range []string{"query", "web_search_query"} {
		if p, ok := st.Prompts[name]; ok && info.QueryPrompt == "" {
			info.QueryPrompt, info.QueryPromptName = p, name
		}
	}
	for _, k := range []string{"document", "passage", "corpus"} {
		if p, ok := st.Prompts[k]; ok && info.DocumentPrompt == "" {
			info.DocumentPrompt = p
		}
	}
	return info, nil
}

// scoreActivation is what turns a cross-encoder's logits into scores, as
// sentence-transformers' CrossEncoder applies it: sigmoid for one label by
// default, softmax over several, or identity when the model says so.
func (c *hfConfig) scoreActivation(labels int) string {
	fn := c.SentenceTransformers.ActivationFn
	if fn == "" {
		fn = c.LegacyActivationFn
	}
	switch {
	case strings.HasSuffix(fn, "Identity"):
		return "none"
	case strings.HasSuffix(fn, "Sigmoid"):
		return "sigmoid"
	case strings.HasSuffix(fn, "Softmax"):
		return "softmax"
	case labels > 1:
		return "softmax"
	}
	return "sigmoid"
}
