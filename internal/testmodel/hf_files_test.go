package testmodel

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
)

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestWriteHFConfig(t *testing.T) {
	cases := []struct {
		arch    string
		pooling string
		want    map[string]any
	}{
		{"BertModel", "cls", map[string]any{
			"model_type": "bert", "max_position_embeddings": 64.0, "pad_token_id": float64(PadID), "type_vocab_size": 2.0,
		}},
		{"BertForSequenceClassification", "rank", map[string]any{
			"model_type": "bert", "max_position_embeddings": 64.0, "num_labels": 3.0,
			"id2label": map[string]any{"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"},
			"label2id": map[string]any{"LABEL_0": 0.0, "LABEL_1": 1.0, "LABEL_2": 2.0},
		}},
		{"XLMRobertaModel", "mean", map[string]any{
			"model_type": "xlm-roberta", "max_position_embeddings": 66.0, "pad_token_id": 1.0, "bos_token_id": 0.0, "eos_token_id": 2.0,
		}},
		{"XLMRobertaForSequenceClassification", "rank", map[string]any{
			"model_type": "xlm-roberta", "max_position_embeddings": 66.0, "pad_token_id": 1.0, "num_labels": 3.0,
		}},
	}
	for _, c := range cases {
		cfg := Tiny(1, c.pooling)
		cfg.Labels = 3
		dir := t.TempDir()
		if err := WriteHF(dir, Generate(cfg), cfg, HFOptions{Arch: c.arch, DType: checkpoint.BF16}); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		readJSONFile(t, filepath.Join(dir, "config.json"), &got)
		common := map[string]any{
			"architectures": []any{c.arch}, "hidden_size": 64.0, "num_hidden_layers": 2.0, "num_attention_heads": 4.0,
			"intermediate_size": 128.0, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "vocab_size": float64(len(DefaultVocab())),
			"torch_dtype": "bfloat16", "position_embedding_type": "absolute",
		}
		for key, want := range common {
			c.want[key] = want
		}
		for key, want := range c.want {
			if !reflect.DeepEqual(got[key], want) {
				t.Errorf("%s: %s = %#v, want %#v", c.arch, key, got[key], want)
			}
		}
		if _, ok := got["id2label"]; ok != strings.HasSuffix(c.arch, "Classification") {
			t.Errorf("%s: id2label present = %v", c.arch, ok)
		}
	}
}

func TestWriteHFSentenceTransformers(t *testing.T) {
	for _, pooling := range []string{"cls", "mean"} {
		cfg := Tiny(2, pooling)
		dir := t.TempDir()
		if err := WriteHF(dir, Generate(cfg), cfg, HFOptions{Arch: "BertModel", SentenceTransformers: true}); err != nil {
			t.Fatal(err)
		}
		var modules []struct {
			Idx              int
			Name, Path, Type string
		}
		readJSONFile(t, filepath.Join(dir, "modules.json"), &modules)
		var types []string
		for _, m := range modules {
			types = append(types, m.Type)
			if m.Path != "" {
				if st, err := os.Stat(filepath.Join(dir, m.Path)); err != nil || !st.IsDir() {
					t.Errorf("module %s: %s is not a directory (%v)", m.Name, m.Path, err)
				}
			}
		}
		wantTypes := []string{"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"}
		if !reflect.DeepEqual(types, wantTypes) {
			t.Errorf("modules %v", types)
		}
		var pool map[string]any
		readJSONFile(t, filepath.Join(dir, "1_Pooling", "config.json"), &pool)
		if pool["pooling_mode_cls_token"] != (pooling == "cls") || pool["pooling_mode_mean_tokens"] != (pooling == "mean") ||
			pool["pooling_mode_max_tokens"] != false || pool["word_embedding_dimension"] != 64.0 {
			t.Errorf("%s pooling config %v", pooling, pool)
		}
		var sbert map[string]any
		readJSONFile(t, filepath.Join(dir, "sentence_bert_config.json"), &sbert)
		if sbert["max_seq_length"] != 64.0 {
			t.Errorf("sentence_bert_config %v", sbert)
		}
	}
}

func TestWriteHFWordPiece(t *testing.T) {
	cfg := Tiny(4, "cls")
	dir := t.TempDir()
	if err := WriteHF(dir, Generate(cfg), cfg, HFOptions{Arch: "BertModel", Tokenizer: "wordpiece"}); err != nil {
		t.Fatal(err)
	}
	vocab := DefaultVocab()
	txt, err := os.ReadFile(filepath.Join(dir, "vocab.txt"))
	if err != nil || !reflect.DeepEqual(strings.Split(strings.TrimSuffix(string(txt), "\n"), "\n"), vocab) {
		t.Errorf("vocab.txt does not list the vocabulary in id order (%v)", err)
	}
	var tok struct {
		AddedTokens []struct {
			ID      int
			Content string
			Special bool
		} `json:"added_tokens"`
		Normalizer    map[string]any `json:"normalizer"`
		PreTokenizer  map[string]any `json:"pre_tokenizer"`
		PostProcessor struct {
			Type   string
			Single []map[string]struct {
				ID     string
				TypeID int `json:"type_id"`
			}
			Pair []map[string]struct {
				ID     string
				TypeID int `json:"type_id"`
			}
			Special map[string]struct{ IDs []int } `json:"special_tokens"`
		} `json:"post_processor"`
		Model struct {
			Type, UnkToken string
			Prefix         string `json:"continuing_subword_prefix"`
			Vocab          map[string]int
		} `json:"model"`
	}
	readJSONFile(t, filepath.Join(dir, "tokenizer.json"), &tok)
	for i, word := range vocab {
		if tok.Model.Vocab[word] != i {
			t.Fatalf("tokenizer.json: %q has id %d, want %d", word, tok.Model.Vocab[word], i)
		}
	}
	if tok.Model.Type != "WordPiece" || tok.Model.Prefix != "##" || tok.Normalizer["type"] != "BertNormalizer" ||
		tok.Normalizer["lowercase"] != true || tok.PreTokenizer["type"] != "BertPreTokenizer" {
		t.Errorf("tokenizer.json model %+v normalizer %v pre-tokenizer %v", tok.Model.Type, tok.Normalizer, tok.PreTokenizer)
	}
	if len(tok.AddedTokens) != 5 || tok.AddedTokens[2].Content != "[CLS]" || tok.AddedTokens[2].ID != int(CLSID) || !tok.AddedTokens[2].Special {
		t.Errorf("added_tokens %+v", tok.AddedTokens)
	}
	// [CLS] A [SEP] B:1 [SEP]:1
	var pair []string
	for _, piece := range tok.PostProcessor.Pair {
		for kind, p := range piece {
			pair = append(pair, kind+":"+p.ID+":"+string(rune('0'+p.TypeID)))
		}
	}
	wantPair := []string{"SpecialToken:[CLS]:0", "Sequence:A:0", "SpecialToken:[SEP]:0", "Sequence:B:1", "SpecialToken:[SEP]:1"}
	if tok.PostProcessor.Type != "TemplateProcessing" || !reflect.DeepEqual(pair, wantPair) || len(tok.PostProcessor.Single) != 3 {
		t.Errorf("post_processor %s pair %v", tok.PostProcessor.Type, pair)
	}
	if ids := tok.PostProcessor.Special["[SEP]"].IDs; len(ids) != 1 || ids[0] != int(SEPID) {
		t.Errorf("[SEP] ids %v", ids)
	}
	var tc, stm map[string]any
	readJSONFile(t, filepath.Join(dir, "tokenizer_config.json"), &tc)
	readJSONFile(t, filepath.Join(dir, "special_tokens_map.json"), &stm)
	if tc["model_max_length"] != 64.0 || tc["cls_token"] != "[CLS]" || stm["unk_token"] != "[UNK]" || stm["pad_token"] != "[PAD]" {
		t.Errorf("tokenizer_config %v, special_tokens_map %v", tc, stm)
	}
}

func TestWriteHFRejects(t *testing.T) {
	embed, rank := Tiny(1, "mean"), Tiny(1, "rank")
	we, wr := Generate(embed), Generate(rank)
	cases := []struct {
		name string
		cfg  Config
		opts HFOptions
		want string
	}{
		{"unknown arch", embed, HFOptions{Arch: "RobertaModel"}, "architecture"},
		{"classifier arch without head", embed, HFOptions{Arch: "BertForSequenceClassification"}, "needs weights with a classifier"},
		{"bare arch with head", rank, HFOptions{Arch: "XLMRobertaModel"}, "use XLMRobertaForSequenceClassification"},
		{"dtype", embed, HFOptions{Arch: "BertModel", DType: checkpoint.I64}, "dtype"},
		{"rank sentence-transformers", rank, HFOptions{Arch: "BertForSequenceClassification", SentenceTransformers: true}, "pooling"},
		{"tokenizer", embed, HFOptions{Arch: "BertModel", Tokenizer: "unigram"}, "tokenizer"},
		{"tokenizer unlike the GGUF's", func() Config { c := embed; c.Tokenizer = "ugm"; return c }(),
			HFOptions{Arch: "XLMRobertaModel", Tokenizer: "wordpiece"}, "cfg.Tokenizer"},
	}
	for _, c := range cases {
		w := we
		if c.cfg.Classifier {
			w = wr
		}
		err := WriteHF(t.TempDir(), w, c.cfg, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
