package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// realTokenizer reads a real tokenizer.json's post_processor and its
// vocabulary as a list of tokens by id (Unigram's [[piece, score]] or
// WordPiece's {token: id}).
func realTokenizer(t *testing.T, path string) (*postProcessor, []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tj struct {
		PostProcessor *postProcessor `json:"post_processor"`
		Model         struct {
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	var unigram [][2]any
	var wordpiece map[string]int
	if json.Unmarshal(tj.Model.Vocab, &unigram) == nil {
		for _, p := range unigram {
			tokens = append(tokens, p[0].(string))
		}
	} else if err := json.Unmarshal(tj.Model.Vocab, &wordpiece); err == nil {
		tokens = make([]string, len(wordpiece))
		for tok, id := range wordpiece {
			tokens[id] = tok
		}
	} else {
		t.Fatalf("%s: vocabulary is neither Unigram nor WordPiece: %v", path, err)
	}
	return tj.PostProcessor, tokens
}

func TestPairTemplateOfRealTokenizers(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		// cl-nagoya/ruri-v3-30m (modernbert-ja): "<s> A </s> <s> B </s>",
		// the second half of type 1; <s> is 1, </s> 2.
		{"ruri-v3-30m/tokenizer-excerpt.json", "1:0 $A:0 2:0 1:1 $B:1 2:1"},
		// sentence-transformers/all-MiniLM-L6-v2: BERT's "[CLS] A [SEP] B [SEP]".
		{"all-MiniLM-L6-v2/tokenizer.json", "101:0 $A:0 102:0 $B:1 102:1"},
	} {
		pp, tokens := realTokenizer(t, filepath.Join("../testdata/tokenizers", c.path))
		pieces, err := pp.pairTemplate(tokens)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if got := keys.FormatPairTemplate(pieces); got != c.want {
			t.Errorf("%s: %q, want %q", c.path, got, c.want)
		}
	}
}

func TestPairTemplateForms(t *testing.T) {
	tokens := []string{"<s>", "<pad>", "</s>", "<unk>", "[CLS]", "[SEP]"}
	cases := []struct{ name, json, want, err string }{
		// FacebookAI/roberta-base's tokenizer.json post_processor.
		{"roberta", `{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false}`,
			"0:0 $A:0 2:0 2:0 $B:0 2:0", ""},
		{"bert", `{"type":"BertProcessing","sep":["[SEP]",5],"cls":["[CLS]",4]}`,
			"4:0 $A:0 5:0 $B:1 5:1", ""},
		// tokenizers ≥ 0.14 may wrap the template with ByteLevel.
		{"sequence", `{"type":"Sequence","processors":[{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":true},` +
			`{"type":"TemplateProcessing","single":[],"pair":[{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}},` +
			`{"Sequence":{"id":"B","type_id":1}}],"special_tokens":{"</s>":{"id":"</s>","ids":[2],"tokens":["</s>"]}}}]}`,
			"$A:0 2:0 $B:1", ""},
		{"byte-level only", `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true}`, "", ""},
		{"wrong id", `{"type":"RobertaProcessing","sep":["</s>",3],"cls":["<s>",0]}`, "", `"</s>" has id 3`},
		{"id past the vocabulary", `{"type":"BertProcessing","sep":["[SEP]",5],"cls":["[CLS]",40]}`, "", `"[CLS]" has id 40`},
		{"undefined special", `{"type":"TemplateProcessing","pair":[{"SpecialToken":{"id":"<x>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":0}}],"special_tokens":{}}`,
			"", "neither a sequence nor a special token"},
		{"third token type", `{"type":"TemplateProcessing","pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":2}}],"special_tokens":{}}`,
			"", "token type 2"},
		{"no document", `{"type":"TemplateProcessing","pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"A","type_id":1}}],"special_tokens":{}}`,
			"", "$A and $B once each"},
	}
	for _, c := range cases {
		var pp postProcessor
		if err := json.Unmarshal([]byte(c.json), &pp); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		pieces, err := pp.pairTemplate(tokens)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := keys.FormatPairTemplate(pieces); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A tokenizer.json whose template does not match the vocabulary is a
// warning, not a failed conversion: the GGUF goes without the key.
func TestWritePairTemplate(t *testing.T) {
	dir := t.TempDir()
	pp := `{"post_processor":{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0]}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(pp), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tokens []string
		want   string
		warned bool
	}{
		{[]string{"<s>", "<pad>", "</s>"}, "0:0 $A:0 2:0 2:0 $B:0 2:0", false},
		{[]string{"<s>", "</s>", "<pad>"}, "", true},
	} {
		var warnings []string
		j := &job{dir: dir, opts: Options{Warn: func(m string) { warnings = append(warnings, m) }}}
		w := gguf.NewWriter()
		j.writePairTemplate(w, c.tokens)
		path := filepath.Join(dir, "out.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		md, err := gguf.ReadMetadata(path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := md.Value(keys.PairTemplate)
		if got == nil {
			got = ""
		}
		if got != c.want || (len(warnings) > 0) != c.warned {
			t.Errorf("tokens %v: key %q, warnings %q; want %q, warned %v", c.tokens, got, warnings, c.want, c.warned)
		}
	}
}
