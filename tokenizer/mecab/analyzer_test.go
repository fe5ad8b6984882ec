package mecab

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestDecode checks the UTF-8 to UCS-2 rules of MeCab's utf8_to_ucs2 with
// a table that maps every code to itself.
func TestDecode(t *testing.T) {
	table := make([]byte, 4*charTableSize)
	for c := 0; c < charTableSize; c++ {
		binary.LittleEndian.PutUint32(table[4*c:], uint32(c))
	}
	p := &charProperty{names: []string{"DEFAULT"}, table: table}
	for _, tc := range []struct {
		in     string
		end    int // bytes visible to the decoder; 0 means all
		code   uint32
		length int
	}{
		{"a", 0, 'a', 1},
		{"é", 0, 0xe9, 2},
		{"あ", 0, 0x3042, 3},
		{"\uffff", 0, 0, 3}, // one past char.bin's table: MeCab reads zeros
		{"😀", 0, 0, 4},      // outside the BMP: code 0
		{"\xf8\x88\x80\x80\x80", 0, 0, 5},
		{"\xfc\x84\x80\x80\x80\x80", 0, 0, 6},
		{"\x80", 0, 0, 1},              // stray continuation byte
		{"\xe3\x81", 0, 0, 1},          // truncated sequence
		{"あ", 2, 0, 1},                 // sequence cut by the lookup window
		{"\xe3\x41\x41", 0, 0x3041, 3}, // continuation bytes are not checked
	} {
		end := tc.end
		if end == 0 {
			end = len(tc.in)
		}
		info, n := p.decode(tc.in, 0, end)
		if uint32(info) != tc.code || n != tc.length {
			t.Errorf("decode(%q, end %d) = U+%04X, %d bytes; want U+%04X, %d", tc.in, end, uint32(info), n, tc.code, tc.length)
		}
	}
}

func TestCharInfoBits(t *testing.T) {
	// KANJI in ipadic's char.def: invoke 0, group 0, length 2, category 2.
	c := charInfo(1<<2 | 2<<18 | 2<<26)
	if c.mask() != 1<<2 || c.defaultType() != 2 || c.length() != 2 || c.group() || c.invoke() {
		t.Errorf("bitfields of %#x decoded wrong", uint32(c))
	}
	c |= 1<<30 | 1<<31
	if !c.group() || !c.invoke() || c.length() != 2 {
		t.Errorf("group/invoke of %#x decoded wrong", uint32(c))
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "MECAB_DICDIR") {
		t.Errorf("Open(missing dir) = %v, want an error naming MECAB_DICDIR", err)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{
		"dicrc": "cost-factor = 800\n", "sys.dic": strings.Repeat("x", 200), "unk.dic": "", "char.bin": "", "matrix.bin": "",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Open(garbage sys.dic) = %v, want a broken-dictionary error", err)
	}
}

func TestReadConfig(t *testing.T) {
	rc := filepath.Join(t.TempDir(), "mecabrc")
	data := "; comment\n# comment\n\ndicdir =  $(rcpath)/dic/ipadic \nmax-grouping-size=30\ndicdir = /second\nno equals sign\n"
	if err := os.WriteFile(rc, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	conf, err := readConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dicdir": "$(rcpath)/dic/ipadic", "max-grouping-size": "30"}
	if !reflect.DeepEqual(conf, want) {
		t.Errorf("readConfig = %v, want %v", conf, want)
	}

	if got, want := DefaultDicdir(rc), filepath.Dir(rc)+"/dic/ipadic"; got != want {
		t.Errorf("DefaultDicdir(%q) = %q, want %q", rc, got, want)
	}
}

// TestAnalyzeOffsets checks that tokens point into the text in order and
// that Segment and Analyze agree.
func TestAnalyzeOffsets(t *testing.T) {
	a := openReference(t, referenceDicts[0].dir)
	for _, s := range lineSafe(hardCases(t)) {
		tokens := a.Analyze(s.text)
		surfaces := a.Segment(s.text)
		if len(tokens) != len(surfaces) {
			t.Fatalf("%q: Analyze gave %d tokens, Segment %d", s.text, len(tokens), len(surfaces))
		}
		prev := 0
		for i, tok := range tokens {
			if tok.Start < prev || tok.End < tok.Start || tok.End > len(s.text) ||
				s.text[tok.Start:tok.End] != tok.Surface || tok.Surface != surfaces[i] || tok.Feature == "" {
				t.Fatalf("%q: token %d %+v is inconsistent (previous end %d)", s.text, i, tok, prev)
			}
			prev = tok.End
		}
	}
}

// TestConcurrentSegment runs one Analyzer from several goroutines (run with
// -race) and checks the results equal sequential ones.
func TestConcurrentSegment(t *testing.T) {
	a := openReference(t, referenceDicts[0].dir)
	corpus := lineSafe(hardCases(t))
	want := make([][]string, len(corpus))
	for i, s := range corpus {
		want[i] = a.Segment(s.text)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range corpus {
				i := (k + g*97) % len(corpus)
				if got := a.Segment(corpus[i].text); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("goroutine %d: Segment(%q) = %q, want %q", g, corpus[i].text, got, want[i])
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
