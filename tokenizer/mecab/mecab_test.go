package mecab

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The reference: Debian's mecab 0.996 binary on Debian's dictionaries.
var referenceDicts = []struct{ name, dir string }{
	{"ipadic-utf8", "/var/lib/mecab/dic/ipadic-utf8"},
	{"unidic", "/var/lib/mecab/dic/unidic"},
}

const installHint = "install the reference as root: apt-get install -y mecab mecab-ipadic-utf8 unidic-mecab"

func mecabBinary(t testing.TB) string {
	p, err := exec.LookPath("mecab")
	if err != nil {
		t.Fatalf("mecab is not installed; this test compares with the real binary: %s", installHint)
	}
	return p
}

func openReference(t testing.TB, dir string) *Analyzer {
	if _, err := os.Stat(filepath.Join(dir, "sys.dic")); err != nil {
		t.Fatalf("dictionary not found at %s: %s", dir, installHint)
	}
	a, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// runMecab writes texts one per line and runs the mecab command once over
// them; it returns the output of each line, cut after each terminator.
func runMecab(t testing.TB, dicdir string, texts []string, terminator string, args ...string) []string {
	bin := mecabBinary(t)
	in := filepath.Join(t.TempDir(), "corpus.txt")
	if err := os.WriteFile(in, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-d", dicdir, "-b", "1048576"}, args...)
	cmd := exec.Command(bin, append(args, in)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v %s", bin, strings.Join(args, " "), err, stderr.String())
	}
	results := strings.SplitAfter(string(out), terminator)
	if results[len(results)-1] == "" {
		results = results[:len(results)-1]
	}
	if len(results) != len(texts) {
		t.Fatalf("mecab returned %d results for %d lines", len(results), len(texts))
	}
	return results
}

// wakati formats surfaces as `mecab -Owakati` does.
func wakati(surfaces []string) string {
	var b strings.Builder
	for _, s := range surfaces {
		b.WriteString(s)
		b.WriteByte(' ')
	}
	b.WriteByte('\n')
	return b.String()
}

// withFeatures formats tokens as mecab -F '%m\t%H\n' -E 'EOS\n'.
func withFeatures(tokens []Token) string {
	var b strings.Builder
	for _, tok := range tokens {
		fmt.Fprintf(&b, "%s\t%s\n", tok.Surface, tok.Feature)
	}
	b.WriteString("EOS\n")
	return b.String()
}

// compareWithMecab checks Segment against `mecab -Owakati` and Analyze
// against mecab's surface+feature output, for every reference dictionary.
func compareWithMecab(t *testing.T, corpus []sentence) {
	texts := make([]string, len(corpus))
	perSource := map[string]int{}
	for i, s := range corpus {
		texts[i] = s.text
		perSource[s.source]++
	}
	for _, d := range referenceDicts {
		t.Run(d.name, func(t *testing.T) {
			a := openReference(t, d.dir)
			seg := runMecab(t, d.dir, texts, "\n", "-Owakati")
			feat := runMecab(t, d.dir, texts, "EOS\n", "-O", "", "-F", `%m\t%H\n`, "-U", `%m\t%H\n`, "-B", "", "-E", `EOS\n`)
			segBad, featBad := map[string]int{}, map[string]int{}
			shown := 0 // the first mismatches are printed in full
			for i, s := range corpus {
				if got := wakati(a.Segment(s.text)); got != seg[i] {
					segBad[s.source]++
					if shown++; shown <= 20 {
						t.Errorf("Segment(%q)\n got: %q\nwant: %q", s.text, got, seg[i])
					}
				}
				if got := withFeatures(a.Analyze(s.text)); got != feat[i] {
					featBad[s.source]++
					if shown++; shown <= 20 {
						t.Errorf("Analyze(%q)\n got: %q\nwant: %q", s.text, got, feat[i])
					}
				}
			}
			for _, src := range slices.Sorted(maps.Keys(perSource)) {
				t.Logf("%s %-8s %6d sentences, %d segmentation mismatches, %d feature mismatches",
					d.name, src, perSource[src], segBad[src], featBad[src])
			}
		})
	}
}

// TestMatchesMecabHardCases compares on testdata/hardcases.txt and the
// generated runs: whitespace, URLs, numbers, emoji, invalid UTF-8, long
// unknown words.
func TestMatchesMecabHardCases(t *testing.T) {
	compareWithMecab(t, lineSafe(hardCases(t)))
}

// TestMatchesMecabEvalCorpus compares on every sentence of the evaluation
// sets in testdata/ (JSTS, JSICK, STS-benchmark).
func TestMatchesMecabEvalCorpus(t *testing.T) {
	corpus := lineSafe(evalSentences(t))
	if len(corpus) < 40000 {
		t.Fatalf("only %d sentences in %s: the corpus is incomplete", len(corpus), evalDir())
	}
	compareWithMecab(t, corpus)
}
