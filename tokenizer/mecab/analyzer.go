package mecab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
)

// defaultMaxGroupingSize is MeCab's DEFAULT_MAX_GROUPING_SIZE: a grouped
// unknown word is only proposed when at most this many characters follow
// its first one (so at most 25 characters in all). dicrc may override it
// with max-grouping-size.
const defaultMaxGroupingSize = 24

// Analyzer segments text with a MeCab dictionary. It is safe for concurrent
// use: the dictionary is read-only and every call builds its own lattice.
type Analyzer struct {
	sys, unk    *dictionary
	chars       *charProperty
	matrix      []byte // int16 costs, matrix[rcAttr(left) + lsize*lcAttr(right)]
	lsize       int
	rsize       int
	unkTokens   []tokenRange // per char.def category, by default_type
	space       charInfo     // category of U+0020: what is skipped before a word
	maxGrouping int
	unmaps      []func() error
}

// tokenRange is the run of unk.dic tokens for one character category.
type tokenRange struct{ first, count int }

// Token is one word of the best path.
type Token struct {
	Surface string
	// Feature is the dictionary's feature CSV (part of speech, reading,
	// ...); for unknown words, the feature of the unk.dic entry chosen.
	Feature string
	// Start and End are byte offsets of Surface in the analyzed text.
	// Whitespace skipped before the word is not included.
	Start, End int
}

// Open loads the compiled dictionary in dicdir (the directory holding
// sys.dic, unk.dic, char.bin, matrix.bin and dicrc). The files are mapped,
// not copied; call Close to release them.
func Open(dicdir string) (*Analyzer, error) {
	a := &Analyzer{}
	if err := a.open(dicdir); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *Analyzer) open(dicdir string) error {
	rc, err := readConfig(filepath.Join(dicdir, "dicrc"))
	if err != nil {
		return fmt.Errorf("open MeCab dictionary %s: %w (is it a compiled dictionary directory? set MECAB_DICDIR)", dicdir, err)
	}
	a.maxGrouping = defaultMaxGroupingSize
	if v, ok := rc["max-grouping-size"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			a.maxGrouping = n
		}
	}

	files := map[string][]byte{}
	for _, name := range []string{"sys.dic", "unk.dic", "char.bin", "matrix.bin"} {
		b, unmap, err := mapFile(filepath.Join(dicdir, name))
		if err != nil {
			return fmt.Errorf("open MeCab dictionary: %w", err)
		}
		a.unmaps = append(a.unmaps, unmap)
		files[name] = b
	}
	return a.load(dicdir, files)
}

// load reads the compiled dictionary files, by name, of dicdir: every
// offset and size in them is checked here, so that analysis never reads
// outside them.
func (a *Analyzer) load(dicdir string, files map[string][]byte) error {
	path := func(file string) string { return filepath.Join(dicdir, file) }
	var err error
	if a.sys, err = parseDictionary(path("sys.dic"), files["sys.dic"]); err != nil {
		return err
	}
	if a.sys.typ != 0 {
		return fmt.Errorf("%s: not a system dictionary", path("sys.dic"))
	}
	if !isUTF8(a.sys.charset) {
		return fmt.Errorf("%s: dictionary charset is %q; only UTF-8 dictionaries are supported (install mecab-ipadic-utf8 or rebuild with mecab-dict-index -t utf-8)", path("sys.dic"), a.sys.charset)
	}
	if a.unk, err = parseDictionary(path("unk.dic"), files["unk.dic"]); err != nil {
		return err
	}
	if a.chars, err = parseCharProperty(path("char.bin"), files["char.bin"]); err != nil {
		return err
	}
	if err := a.loadMatrix(path("matrix.bin"), files["matrix.bin"]); err != nil {
		return err
	}
	if err := a.sys.check(path("sys.dic"), a.lsize, a.rsize); err != nil {
		return err
	}
	if err := a.unk.check(path("unk.dic"), a.lsize, a.rsize); err != nil {
		return err
	}
	for _, name := range a.chars.names {
		m, ok := a.unk.exactMatch(name)
		if !ok {
			return fmt.Errorf("%s: cannot find unknown-word category %q of char.bin", path("unk.dic"), name)
		}
		if m.first()+m.count() > a.unk.ntokens {
			return fmt.Errorf("%s: category %q points past the token array", path("unk.dic"), name)
		}
		a.unkTokens = append(a.unkTokens, tokenRange{m.first(), m.count()})
	}
	a.space = a.chars.info(0x20)
	return nil
}

func (a *Analyzer) loadMatrix(path string, b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%s: file size is invalid", path)
	}
	lsize := int(binary.LittleEndian.Uint16(b[0:]))
	rsize := int(binary.LittleEndian.Uint16(b[2:]))
	if 4+2*lsize*rsize != len(b) {
		return fmt.Errorf("%s: file size is invalid for a %dx%d matrix", path, lsize, rsize)
	}
	if lsize == 0 || rsize == 0 {
		// BOS and EOS have context id 0: every analysis reads cell (0, 0).
		return fmt.Errorf("%s: the matrix is empty (%dx%d)", path, lsize, rsize)
	}
	if uint32(lsize) != a.sys.lsize || uint32(rsize) != a.sys.rsize {
		return fmt.Errorf("%s: transition table (%dx%d) and dictionary (%dx%d) are not compatible", path, lsize, rsize, a.sys.lsize, a.sys.rsize)
	}
	a.lsize, a.rsize = lsize, rsize
	a.matrix = b[4:]
	return nil
}

// Close releases the mapped dictionary files. The Analyzer must not be used
// afterwards.
func (a *Analyzer) Close() error {
	var errs []error
	for _, unmap := range a.unmaps {
		errs = append(errs, unmap())
	}
	a.unmaps = nil
	return errors.Join(errs...)
}

// Segment returns the surfaces of MeCab's best path for text, as
// `mecab -Owakati` prints them (space-separated) for a one-line input.
func (a *Analyzer) Segment(text string) []string {
	lat := a.analyze(text)
	defer releaseLattice(lat)
	out := make([]string, 0, len(lat.path))
	for _, i := range lat.path {
		n := &lat.nodes[i]
		out = append(out, text[n.begin:n.end])
	}
	return out
}

// Analyze returns the words of MeCab's best path with their features and
// byte offsets.
func (a *Analyzer) Analyze(text string) []Token {
	lat := a.analyze(text)
	defer releaseLattice(lat)
	out := make([]Token, 0, len(lat.path))
	for _, i := range lat.path {
		n := &lat.nodes[i]
		dic := a.sys
		if n.unknown {
			dic = a.unk
		}
		out = append(out, Token{
			Surface: text[n.begin:n.end],
			Feature: dic.feature(n.feature),
			Start:   int(n.begin),
			End:     int(n.end),
		})
	}
	return out
}

// DefaultDicdir returns MeCab's default dictionary directory: the dicdir
// of the first mecabrc MeCab itself would read (mecabrc, the value of
// $MECABRC, when not empty; then /etc/mecabrc, /usr/local/etc/mecabrc), else
// "".
func DefaultDicdir(mecabrc string) string {
	for _, rc := range []string{mecabrc, "/etc/mecabrc", "/usr/local/etc/mecabrc"} {
		if rc == "" {
			continue
		}
		conf, err := readConfig(rc)
		if err != nil {
			continue
		}
		if d := conf["dicdir"]; d != "" {
			return expandRCPath(d, filepath.Dir(rc))
		}
	}
	return ""
}
