package mecab

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sentence is one line of the comparison corpus.
type sentence struct {
	source string
	text   string
}

// evalDir holds the public corpora in the repository's testdata/ (JSTS,
// JSICK, STS-benchmark), each with its origin and licence.
func evalDir() string { return filepath.Join("..", "..", "testdata", "eval") }

// hardCases returns testdata/hardcases.txt plus generated runs around the
// unknown-word limits (the 24-character grouping cap, char.def lengths, runs
// of 100+ characters) and lines longer than MeCab's lookup window.
func hardCases(t testing.TB) []sentence {
	f, err := os.Open(filepath.Join("testdata", "hardcases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sentence
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("testdata/hardcases.txt:%d: %v", n, err)
		}
		out = append(out, sentence{"hard", s})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, unit := range []string{"ｗ", "w", "a", "Ab", "1", "１", "ア", "ｱ", "あ", "漢", "一", "。", "α", "ж", "😀", " x"} {
		for _, n := range []int{2, 3, 4, 5, 15, 16, 23, 24, 25, 26, 27, 49, 50, 51, 120} {
			run := strings.Repeat(unit, n)
			out = append(out,
				sentence{"hard", run},
				sentence{"hard", "これは" + run + "です"},
				sentence{"hard", run + "、" + run + "。"})
		}
	}
	long := "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
	out = append(out,
		sentence{"hard", strings.Repeat(long, 40)},
		// Past Tokenizer::lookup's 65535-byte window: a line this long, and
		// whitespace running past the window (MeCab then emits a space).
		sentence{"hard", strings.Repeat(long, 800)},
		sentence{"hard", strings.Repeat(" ", 70000) + "テストです"},
		sentence{"hard", "テスト" + strings.Repeat("\t", 66000) + "です"})
	// 65535+ bytes of U+3000 also match, but take seconds in both MeCab and
	// here: the wrapped node lands inside a character and every later
	// position rescans the window. After NFKC the space is one byte and the
	// wrap lands on the node's own start, so analysis stays linear.
	return out
}

// evalSentences returns every sentence of JSTS (sentence1/2), JSICK
// (Japanese and English columns) and STS-benchmark, or nil when the
// reference data is not there.
func evalSentences(t testing.TB) []sentence {
	dir := evalDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("reference data missing: %v", err)
	}
	var out []sentence
	jsts, _ := filepath.Glob(filepath.Join(dir, "jglue", "datasets", "jsts-*", "*.json"))
	for _, path := range jsts {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(f)
		for {
			var rec struct{ Sentence1, Sentence2 string }
			if err := dec.Decode(&rec); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, sentence{"jsts", rec.Sentence1}, sentence{"jsts", rec.Sentence2})
		}
		f.Close()
	}
	out = append(out, tsvColumns(t, filepath.Join(dir, "jsick", "jsick", "test.tsv"), "jsick-ja", "sentence_A_Ja", "sentence_B_Ja")...)
	out = append(out, tsvColumns(t, filepath.Join(dir, "jsick", "jsick", "test.tsv"), "jsick-en", "sentence_A_En", "sentence_B_En")...)
	for _, name := range []string{"sts-dev.csv", "sts-test.csv"} {
		// Tab-separated; the two sentences are columns 5 and 6.
		for _, rec := range readTSV(t, filepath.Join(dir, "stsbenchmark", name)) {
			if len(rec) >= 7 {
				out = append(out, sentence{"stsb-en", rec[5]}, sentence{"stsb-en", rec[6]})
			}
		}
	}
	return out
}

func tsvColumns(t testing.TB, path, source string, columns ...string) []sentence {
	recs := readTSV(t, path)
	if len(recs) == 0 {
		return nil
	}
	var idx []int
	for _, c := range columns {
		i := slices.Index(recs[0], c)
		if i < 0 {
			t.Fatalf("%s: no column %q", path, c)
		}
		idx = append(idx, i)
	}
	var out []sentence
	for _, rec := range recs[1:] {
		for _, i := range idx {
			if i < len(rec) {
				out = append(out, sentence{source, rec[i]})
			}
		}
	}
	return out
}

// readTSV splits lines on tabs; no quoting (the files quote nothing, and
// their sentences hold '"').
func readTSV(t testing.TB, path string) [][]string {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var recs [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		recs = append(recs, strings.Split(strings.TrimSuffix(line, "\r"), "\t"))
	}
	return recs
}

// lineSafe drops duplicates and texts the mecab command cannot take as one
// line (a newline splits it, a NUL ends it).
func lineSafe(in []sentence) []sentence {
	seen := map[string]bool{}
	var out []sentence
	for _, s := range in {
		if seen[s.text] || strings.ContainsAny(s.text, "\n\x00") {
			continue
		}
		seen[s.text] = true
		out = append(out, s)
	}
	return out
}
