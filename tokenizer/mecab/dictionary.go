package mecab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// MeCab's binary dictionary (sys.dic, unk.dic), as written by
// Dictionary::compile: a 72-byte header, a Darts double array, the token
// array and NUL-terminated feature strings. All integers are little-endian
// (the files are native-endian and Debian builds them on little-endian
// machines).
const (
	dictionaryMagic   = 0xef718f77 // stored XOR the file size
	dictionaryVersion = 102
	headerSize        = 10*4 + 32 // ten uint32 fields, then charset[32]
	tokenSize         = 16        // lcAttr, rcAttr, posid uint16; wcost int16; feature, compound uint32
	unitSize          = 8         // double-array unit: base int32, check uint32
)

// dictionary is one compiled dictionary. Its slices point into the mapped
// file and are never written.
type dictionary struct {
	typ          uint32 // 0 system, 1 user, 2 unknown-word
	lsize, rsize uint32
	charset      string
	units        []byte // double array
	tokens       []byte
	features     []byte
	ntokens      int
}

// token is one dictionary entry.
type token struct {
	lcAttr, rcAttr uint16
	wcost          int16
	feature        uint32 // offset into features
}

// match is a common-prefix-search hit: value encodes (first token << 8 |
// token count), as Dictionary::compile builds it; length is in bytes.
type match struct {
	value  int32
	length int
}

func (m match) first() int { return int(m.value >> 8) }
func (m match) count() int { return int(m.value & 0xff) }

func parseDictionary(name string, b []byte) (*dictionary, error) {
	if len(b) < 100 {
		return nil, fmt.Errorf("%s: dictionary file is broken (%d bytes)", name, len(b))
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	if int64(u32(0)^dictionaryMagic) != int64(len(b)) {
		return nil, fmt.Errorf("%s: dictionary file is broken (bad magic or truncated)", name)
	}
	if v := u32(1); v != dictionaryVersion {
		return nil, fmt.Errorf("%s: incompatible dictionary version %d (MeCab 0.996 writes %d)", name, v, dictionaryVersion)
	}
	d := &dictionary{typ: u32(2), lsize: u32(4), rsize: u32(5)}
	dsize, tsize, fsize := int64(u32(6)), int64(u32(7)), int64(u32(8))
	if headerSize+dsize+tsize+fsize != int64(len(b)) || dsize%unitSize != 0 || tsize%tokenSize != 0 {
		return nil, fmt.Errorf("%s: dictionary file is broken (section sizes do not add up)", name)
	}
	cs := b[40:headerSize]
	if i := bytes.IndexByte(cs, 0); i >= 0 {
		cs = cs[:i]
	}
	d.charset = string(cs)
	p := int64(headerSize)
	d.units = b[p : p+dsize]
	p += dsize
	d.tokens = b[p : p+tsize]
	p += tsize
	d.features = b[p : p+fsize]
	d.ntokens = int(tsize / tokenSize)
	return d, nil
}

// isUTF8 reports whether MeCab's decode_charset would read the charset as
// UTF-8.
func isUTF8(charset string) bool {
	switch strings.ToLower(charset) {
	case "utf8", "utf-8":
		return true
	}
	return false
}

func (d *dictionary) token(i int) token {
	t := d.tokens[i*tokenSize:]
	return token{
		lcAttr:  binary.LittleEndian.Uint16(t[0:]),
		rcAttr:  binary.LittleEndian.Uint16(t[2:]),
		wcost:   int16(binary.LittleEndian.Uint16(t[6:])),
		feature: binary.LittleEndian.Uint32(t[8:]),
	}
}

// feature returns the NUL-terminated feature string at off.
func (d *dictionary) feature(off uint32) string {
	if int64(off) >= int64(len(d.features)) {
		return ""
	}
	f := d.features[off:]
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	return string(f)
}

// check validates every token against the connection matrix and the
// feature section, so that analysis never indexes out of range on a broken
// file. Context ids follow Connector::is_valid: lcAttr < rsize, rcAttr < lsize.
func (d *dictionary) check(name string, lsize, rsize int) error {
	for i := 0; i < d.ntokens; i++ {
		t := d.token(i)
		if int(t.lcAttr) >= rsize || int(t.rcAttr) >= lsize {
			return fmt.Errorf("%s: token %d has context ids (%d, %d) outside the %dx%d matrix", name, i, t.lcAttr, t.rcAttr, lsize, rsize)
		}
		if int64(t.feature) > int64(len(d.features)) {
			return fmt.Errorf("%s: token %d has a feature offset past the end of the file", name, i)
		}
	}
	return nil
}

func (d *dictionary) base(i uint32) int32 {
	return int32(binary.LittleEndian.Uint32(d.units[uint64(i)*unitSize:]))
}

func (d *dictionary) checkAt(i uint32) uint32 {
	return binary.LittleEndian.Uint32(d.units[uint64(i)*unitSize+4:])
}

// value returns the value stored at the state b (its terminal unit at index
// b), as Darts does: the unit's check must point back to b and its base
// holds -value-1.
func (d *dictionary) value(b int32, nunits uint32) (int32, bool) {
	p := uint32(b)
	if p >= nunits || d.checkAt(p) != uint32(b) {
		return 0, false
	}
	if n := d.base(p); n < 0 {
		return -n - 1, true
	}
	return 0, false
}

// prefixSearch appends to out every key that is a prefix of key, shortest
// first (Darts' commonPrefixSearch order). Transitions use byte+1 as code,
// with unsigned 32-bit index arithmetic as in Darts.
func (d *dictionary) prefixSearch(key string, out []match) []match {
	nunits := uint32(len(d.units) / unitSize)
	if nunits == 0 {
		return out
	}
	b := d.base(0)
	for i := 0; i < len(key); i++ {
		if v, ok := d.value(b, nunits); ok {
			out = append(out, match{v, i})
		}
		p := uint32(b) + uint32(key[i]) + 1
		if p >= nunits || d.checkAt(p) != uint32(b) {
			return out
		}
		b = d.base(p)
	}
	if v, ok := d.value(b, nunits); ok {
		out = append(out, match{v, len(key)})
	}
	return out
}

// exactMatch returns the value stored for key.
func (d *dictionary) exactMatch(key string) (match, bool) {
	var out [1]match
	for _, m := range d.prefixSearch(key, out[:0]) {
		if m.length == len(key) {
			return m, true
		}
	}
	return match{}, false
}
