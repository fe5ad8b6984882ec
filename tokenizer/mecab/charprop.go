package mecab

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// charInfo is MeCab's CharInfo bitfield as GCC lays it out on little-endian
// machines: type (category mask) in bits 0-17, default_type 18-25, length
// 26-29, group 30, invoke 31.
type charInfo uint32

func (c charInfo) mask() uint32           { return uint32(c) & (1<<18 - 1) }
func (c charInfo) defaultType() int       { return int(c>>18) & 0xff }
func (c charInfo) length() int            { return int(c>>26) & 0xf }
func (c charInfo) group() bool            { return c>>30&1 == 1 }
func (c charInfo) invoke() bool           { return c>>31 == 1 }
func (c charInfo) kindOf(o charInfo) bool { return c.mask()&o.mask() != 0 }

// charTableSize is the number of entries char.bin holds: code points
// 0x0000-0xFFFE. MeCab reads entry 0xFFFF one past the table, where the
// mapping of the file is zero-filled; entry 0 of charInfo is that value.
const charTableSize = 0xffff

// charProperty is char.bin: the category names of char.def in definition
// order (their index is default_type), then one charInfo per UCS-2 code.
type charProperty struct {
	names []string
	table []byte
}

func parseCharProperty(name string, b []byte) (*charProperty, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%s: invalid file size %d", name, len(b))
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if 4+32*n+4*charTableSize != int64(len(b)) {
		return nil, fmt.Errorf("%s: invalid file size %d for %d categories", name, len(b), n)
	}
	p := &charProperty{}
	for i := int64(0); i < n; i++ {
		s := b[4+32*i : 4+32*(i+1)]
		if j := bytes.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		p.names = append(p.names, string(s))
	}
	p.table = b[4+32*n:]
	if n == 0 {
		return nil, fmt.Errorf("%s: no character categories", name)
	}
	for c := 0; c < charTableSize; c++ {
		if t := p.info(uint16(c)).defaultType(); t >= len(p.names) {
			return nil, fmt.Errorf("%s: code point U+%04X has category %d of %d", name, c, t, n)
		}
	}
	return p, nil
}

func (p *charProperty) info(ucs uint16) charInfo {
	if int(ucs) >= charTableSize {
		return 0
	}
	return charInfo(binary.LittleEndian.Uint32(p.table[4*int(ucs):]))
}

// decode returns the category of the character at text[i] (i < end) and its
// length in bytes, converting exactly as MeCab's utf8_to_ucs2: continuation
// bytes are not validated, sequences longer than three bytes (everything
// outside the BMP, e.g. emoji) map to code 0, and a byte that starts no
// sequence fitting before end is a one-byte character of code 0.
func (p *charProperty) decode(text string, i, end int) (charInfo, int) {
	c0 := text[i]
	n := end - i
	switch {
	case c0 < 0x80:
		return p.info(uint16(c0)), 1
	case n >= 2 && c0&0xe0 == 0xc0:
		return p.info(uint16(c0&0x1f)<<6 | uint16(text[i+1]&0x3f)), 2
	case n >= 3 && c0&0xf0 == 0xe0:
		return p.info(uint16(c0&0x0f)<<12 | uint16(text[i+1]&0x3f)<<6 | uint16(text[i+2]&0x3f)), 3
	case n >= 4 && c0&0xf8 == 0xf0:
		return p.info(0), 4
	case n >= 5 && c0&0xfc == 0xf8:
		return p.info(0), 5
	case n >= 6 && c0&0xfe == 0xfc:
		return p.info(0), 6
	}
	return p.info(0), 1
}

// seek mirrors CharProperty::seekToOtherType: it advances from i over
// characters while each shares a category with the previous one (starting
// with c), and returns where it stopped, the category and byte length of the
// last character examined (the one that stopped it, or the last one taken
// when it reached end; zero when nothing was examined), and how many
// characters it passed.
func (p *charProperty) seek(text string, i, end int, c charInfo) (stop int, last charInfo, mblen, count int) {
	for i < end {
		last, mblen = p.decode(text, i, end)
		if !c.kindOf(last) {
			break
		}
		i += mblen
		count++
		c = last
	}
	return i, last, mblen, count
}
