package mecab

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// tinyCategories and tinyRanges are the char.def of the tiny dictionary
// under testdata/fuzz/FuzzDictionary (see its README): name, invoke,
// group, length; then code ranges and their category.
var tinyCategories = []struct {
	name          string
	invoke, group bool
	length        int
}{
	{"DEFAULT", false, true, 0}, {"SPACE", false, true, 0}, {"KANJI", false, false, 2},
	{"ALPHA", true, true, 0}, {"NUMERIC", true, true, 0}, {"HIRAGANA", false, true, 0},
	{"KATAKANA", true, true, 2},
}

var tinyRanges = []struct {
	lo, hi   rune
	category int
}{
	{0x20, 0x20, 1}, {0x09, 0x09, 1}, {0x30, 0x39, 4}, {0x41, 0x5a, 3}, {0x61, 0x7a, 3},
	{0x3041, 0x309f, 5}, {0x30a1, 0x30ff, 6}, {0x4e00, 0x9fff, 2},
}

// tinyCharBin is char.bin as mecab-dict-index compiles tinyCategories and
// tinyRanges: written here because the file is 256 KiB whatever it says.
func tinyCharBin() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(tinyCategories)))
	for _, c := range tinyCategories {
		name := make([]byte, 32)
		copy(name, c.name)
		b = append(b, name...)
	}
	info := func(cat int) uint32 {
		c := tinyCategories[cat]
		v := uint32(1)<<cat | uint32(cat)<<18 | uint32(c.length)<<26
		if c.group {
			v |= 1 << 30
		}
		if c.invoke {
			v |= 1 << 31
		}
		return v
	}
	table := make([]uint32, charTableSize)
	for i := range table {
		table[i] = info(0)
	}
	for _, r := range tinyRanges {
		for c := r.lo; c <= r.hi; c++ {
			table[c] = info(r.category)
		}
	}
	for _, v := range table {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// FuzzDictionary feeds a whole compiled dictionary (sys.dic, unk.dic and
// matrix.bin; char.bin is tinyCharBin with up to a few of its entries
// replaced by the fuzzer) and a text to analyze: loading must refuse the
// files or give an Analyzer that segments any text into words that lie
// inside it, in order, without panicking.
func FuzzDictionary(f *testing.F) {
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, "東京に住む")
	chars := tinyCharBin()
	f.Fuzz(func(t *testing.T, sys, unk, matrix, patches []byte, text string) {
		cb := chars
		if len(patches) > 0 {
			// Each 6 bytes set the entry of one code (uint16) to a charInfo
			// (uint32); fewer than 6 set the category count.
			cb = append([]byte{}, chars...)
			for ; len(patches) >= 6; patches = patches[6:] {
				code := int(binary.LittleEndian.Uint16(patches))
				copy(cb[4+32*len(tinyCategories)+4*(code%charTableSize):], patches[2:6])
			}
			if len(patches) > 0 {
				cb[0] = patches[0]
			}
		}
		a := &Analyzer{maxGrouping: defaultMaxGroupingSize}
		err := a.load("fuzz", map[string][]byte{"sys.dic": sys, "unk.dic": unk, "char.bin": cb, "matrix.bin": matrix})
		if err != nil {
			return
		}
		checkTokens(t, text, a.Analyze(text))
	})
}

// checkTokens is the analyzer's contract: words in order, inside the
// text, each its own surface.
func checkTokens(t *testing.T, text string, toks []Token) {
	end := 0
	for _, tok := range toks {
		if tok.Start < end || tok.End < tok.Start || tok.End > len(text) || text[tok.Start:tok.End] != tok.Surface {
			t.Fatalf("token %+v of %q after offset %d", tok, text, end)
		}
		end = tok.End
	}
}

// FuzzAnalyze feeds text to the analyzer over the real dictionaries the
// package's tests compare with MeCab (Debian's IPAdic and UniDic), seeded
// with the hard cases those tests use.
func FuzzAnalyze(f *testing.F) {
	for _, s := range hardCases(f) {
		if len(s.text) < 512 {
			f.Add(s.text)
		}
	}
	var analyzers []*Analyzer
	for _, d := range referenceDicts {
		analyzers = append(analyzers, openReference(f, d.dir))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, a := range analyzers {
			checkTokens(t, text, a.Analyze(text))
		}
	})
}

// An empty matrix loaded with a dictionary of no tokens, and every
// analysis then read cell (0, 0) of it for BOS and EOS.
func TestLoadRefusesEmptyMatrix(t *testing.T) {
	a := &Analyzer{sys: &dictionary{}}
	if err := a.loadMatrix("matrix.bin", []byte{0, 0, 0, 0}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("loadMatrix(0x0) = %v, want an error saying the matrix is empty", err)
	}
}

// A run of one category (digits, katakana, spaces) was scanned to its end,
// up to MeCab's 64 KiB window, from every position in it: 12000 digits took
// a second, a megabyte hours. The hard cases compare the same runs with
// MeCab itself.
func TestLongRunsAnalyzeInLinearTime(t *testing.T) {
	a := openReference(t, referenceDicts[0].dir)
	for _, unit := range []string{"0", "ア", "a", "　"} {
		start := time.Now()
		words := a.Segment(strings.Repeat(unit, 100000))
		if d := time.Since(start); d > 5*time.Second || len(words) == 0 {
			t.Errorf("100000 × %q: %d words in %v", unit, len(words), d)
		}
	}
}
