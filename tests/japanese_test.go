package tests

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// Debian's dictionaries stand in for unidic-lite, which only `pull`
// downloads: the test serves with each and checks against the real mecab
// on the same one.
const (
	debianUniDic = "/var/lib/mecab/dic/unidic"
	debianIPADic = "/var/lib/mecab/dic/ipadic-utf8"
)

// ruri's prompts, which the converter records in the GGUF.
const (
	jaQueryPrefix    = "検索クエリ: "
	jaDocumentPrefix = "検索文書: "
)

// Texts whose ids llama.cpp's WordPiece would get wrong: voicing marks,
// halfwidth katakana and fullwidth Latin (NFKC), words MeCab keeps whole.
var jaTexts = []string{
	"東京都に住んでいます。",
	"ｶﾀｶﾅとＡＢＣ１２３が混ざった文！",
	"外国人参政権について議論する",
	"がぎぐげご、パピプペポ",
	"㍿の本社は大阪にある",
}

// jaVocab is bert-base-japanese-v3's vocabulary (ruri, japanese-reranker).
func jaVocab(t *testing.T) []string {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "tokenizers", "bert-base-japanese-v3", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// jaOracle tokenizes as BertJapaneseTokenizer, from parts independent of
// the server: NFKC, the real `mecab -Owakati` and WordPiece written out.
type jaOracle struct {
	dicdir string
	vocab  map[string]int32
}

func (o jaOracle) ids(t *testing.T, text string) []int32 {
	t.Helper()
	cmd := exec.Command("mecab", "-d", o.dicdir, "-Owakati")
	cmd.Stdin = strings.NewReader(norm.NFKC.String(text) + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mecab: %v", err)
	}
	var ids []int32
	for _, word := range strings.Fields(string(out)) {
		ids = append(ids, o.wordPiece(word)...)
	}
	return ids
}

func (o jaOracle) wordPiece(word string) []int32 {
	chars := []rune(word)
	var ids []int32
	for start := 0; start < len(chars); {
		end := len(chars)
		for ; end > start; end-- {
			sub := string(chars[start:end])
			if start > 0 {
				sub = "##" + sub
			}
			if id, ok := o.vocab[sub]; ok {
				ids = append(ids, id)
				break
			}
		}
		if end == start {
			return []int32{o.vocab["[UNK]"]}
		}
		start = end
	}
	return ids
}

// A cl-tohoku-style checkpoint (the real v3 vocabulary, tokenizer config
// naming unidic-lite, ruri's prompts) converted by rerank-api convert:
// served, its texts are tokenized by MeCab + WordPiece, not llama.cpp, and
// its vectors and scores are the reference forward pass on those ids.
// MECAB_DICDIR stands in for unidic-lite; the reranker's catalog entry
// names IPAdic, which wins over it.
func TestJapaneseModel(t *testing.T) {
	vocab := jaVocab(t)
	for _, d := range []string{debianUniDic, debianIPADic} {
		if _, err := os.Stat(filepath.Join(d, "sys.dic")); err != nil {
			t.Fatalf("no MeCab dictionary at %s: apt-get install -y mecab mecab-ipadic-utf8 unidic-mecab", d)
		}
	}
	if _, err := exec.LookPath("mecab"); err != nil {
		t.Fatal("mecab is not installed: apt-get install -y mecab")
	}
	index := map[string]int32{}
	for i, tok := range vocab {
		index[tok] = int32(i)
	}
	tokenizerConfig := map[string]any{
		"tokenizer_class": "BertJapaneseTokenizer", "model_max_length": 64, "do_lower_case": false,
		"word_tokenizer_type": "mecab", "subword_tokenizer_type": "wordpiece",
		"mecab_kwargs": map[string]any{"mecab_dic": "unidic_lite"},
	}
	prompts := map[string]string{"query": jaQueryPrefix, "document": jaDocumentPrefix}
	dir := t.TempDir()
	models := map[string]*testModel{}
	for name, arch := range map[string]string{"ja-embed": "BertModel", "ja-rank": "BertForSequenceClassification"} {
		pooling := "cls"
		if arch != "BertModel" {
			pooling = "rank"
		}
		cfg := testmodel.Tiny(61, pooling)
		cfg.Vocab = vocab
		w := testmodel.Generate(cfg)
		src := filepath.Join(dir, name+"-hf")
		opts := testmodel.HFOptions{Arch: arch, DType: checkpoint.F32, SentenceTransformers: arch == "BertModel"}
		if err := testmodel.WriteHF(src, w, cfg, opts); err != nil {
			t.Fatal(err)
		}
		if err := testmodel.WriteHFTokenizerConfig(src, cfg, tokenizerConfig, prompts); err != nil {
			t.Fatal(err)
		}
		runConvert(t, "--input", src, "--output", filepath.Join(dir, name+".gguf"), "--outtype", "f32")
		models[name] = &testModel{name: name, cfg: cfg, weights: w}
	}
	catalog := fmt.Sprintf(`models:
  - {name: ja-embed, kind: embedding, file: ja-embed.gguf}
  - {name: ja-rank, kind: rerank, pooling: rank, file: ja-rank.gguf, mecab_dicdir: %s}
`, debianIPADic)
	t.Setenv("MECAB_DICDIR", debianUniDic)
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "ja-embed", "--reranker-model", "ja-rank")

	unidic := jaOracle{debianUniDic, index}
	m := models["ja-embed"]
	t.Run("tokenize", func(t *testing.T) {
		var got [][]struct {
			ID          int32
			Text        string
			Special     bool
			Start, Stop *int
		}
		if r := sp.post(t, "/tokenize", map[string]any{"inputs": jaTexts}, &got); r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		for i, text := range jaTexts {
			want := append(append([]int32{testmodel.CLSID}, unidic.ids(t, text)...), testmodel.SEPID)
			var ids []int32
			end := 0
			for _, tok := range got[i] {
				ids = append(ids, tok.ID)
				if tok.Special {
					continue
				}
				if tok.Start == nil || *tok.Start < end || text[*tok.Start:*tok.Stop] != tok.Text {
					t.Errorf("%q: token %+v does not cover its text after the previous one", text, tok)
					continue
				}
				end = *tok.Start
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("%q: ids %v, want %v", text, ids, want)
			}
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		for _, inputType := range []string{"", "query", "search_document"} {
			prefix := map[string]string{"query": jaQueryPrefix, "search_document": jaDocumentPrefix}[inputType]
			body := map[string]any{"model": "ja-embed", "input": jaTexts}
			if inputType != "" {
				body["input_type"] = inputType
			}
			var resp api.OpenAIEmbeddingResponse
			if r := sp.post(t, "/v1/embeddings", body, &resp); r.StatusCode != http.StatusOK {
				t.Fatalf("input_type %q: status %d", inputType, r.StatusCode)
			}
			for i, text := range jaTexts {
				ids := append(append([]int32{testmodel.CLSID}, unidic.ids(t, prefix+text)...), testmodel.SEPID)
				if d := maxAbsDiff(t, floats(t, resp.Data[i].Embedding), m.expectedEmbedding(ids, 0)); d > tolerance {
					t.Errorf("input_type %q, %q: max abs diff %.2e > %.0e", inputType, text, d, tolerance)
				}
			}
		}
	})
	t.Run("rerank", func(t *testing.T) {
		ipadic := jaOracle{debianIPADic, index}
		r := models["ja-rank"]
		query := "日本の首都はどこですか"
		docs := []string{"東京は日本の首都です。", "大阪は食べ物がおいしい。", "富士山は日本で一番高い山です。"}
		var resp api.CohereRerankResponse
		if res := sp.post(t, "/v1/rerank", map[string]any{"model": "ja-rank", "query": query, "documents": docs}, &resp); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
		q := ipadic.ids(t, jaQueryPrefix+query)
		for i, doc := range docs {
			// The document prefix is tokenized on its own (chunks of a long
			// document each start with it).
			want, _ := r.expectedScore(q, append(ipadic.ids(t, jaDocumentPrefix), ipadic.ids(t, doc)...), false)
			if got := scores(resp)[i]; math.Abs(got-want) > tolerance {
				t.Errorf("document %d: score %.5f, reference %.5f", i, got, want)
			}
		}
	})
}
