package mecab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchTexts is the comparison corpus: the evaluation sentences when the
// reference data is there, else the hard cases.
func benchTexts(b *testing.B) []string {
	corpus := lineSafe(evalSentences(b))
	if len(corpus) == 0 {
		corpus = lineSafe(hardCases(b))
	}
	texts := make([]string, len(corpus))
	for i, s := range corpus {
		texts[i] = s.text
	}
	return texts
}

// BenchmarkSegment analyzes the whole corpus once per op (after one warm-up
// pass that faults in the mapped dictionary pages).
func BenchmarkSegment(b *testing.B) {
	texts := benchTexts(b)
	for _, d := range referenceDicts {
		b.Run(d.name, func(b *testing.B) {
			a := openReference(b, d.dir)
			for _, s := range texts {
				a.Segment(s)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, s := range texts {
					a.Segment(s)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/sentence")
		})
	}
}

// BenchmarkMecabCommand runs `mecab -Owakati` over the same corpus once per
// op, for comparison with BenchmarkSegment (process start and dictionary
// mapping included; both are a few milliseconds).
func BenchmarkMecabCommand(b *testing.B) {
	if _, err := exec.LookPath("mecab"); err != nil {
		b.Skipf("mecab is not installed: %s", installHint)
	}
	texts := benchTexts(b)
	in := filepath.Join(b.TempDir(), "corpus.txt")
	if err := os.WriteFile(in, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, d := range referenceDicts {
		b.Run(d.name, func(b *testing.B) {
			run := func() {
				if err := exec.Command("mecab", "-Owakati", "-d", d.dir, "-o", os.DevNull, in).Run(); err != nil {
					b.Fatal(err)
				}
			}
			run()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/sentence")
		})
	}
}
