package mecab

import (
	"encoding/binary"
	"math"
	"strings"
	"sync"
)

// maxLookupBytes is how far Tokenizer::lookup looks ahead of a position: no
// word, known or unknown, is longer than 65535 bytes.
const maxLookupBytes = 65535

// maxUnknownLength is the longest char.def length (a 4-bit field), and
// maxCharBytes the longest character decode reads.
const (
	maxUnknownLength = 15
	maxCharBytes     = 6
)

// node is a word candidate in the lattice. begin is where its surface
// starts, after the whitespace MeCab skips; the node is reached from the
// position where that whitespace starts.
type node struct {
	begin, end     int
	lcAttr, rcAttr uint16
	wcost          int16
	unknown        bool
	feature        uint32 // offset into the features of sys.dic or unk.dic
	cost           int64  // best path cost from BOS through this node
	prev           int32  // best left neighbour
	enext          int32  // next node ending at the same offset
}

// lattice is the per-call state of one analysis. Nodes are appended in the
// order MeCab creates them; what MeCab keeps in linked lists (bnext, enext)
// is reproduced by iterating in reverse creation order and prepending to
// endHead, because ties between equal costs go to the first node visited.
type lattice struct {
	nodes   []node
	endHead []int32 // first node ending at each byte offset, -1 if none
	matches []match
	path    []int32 // best path, BOS and EOS excluded
}

var latticePool = sync.Pool{New: func() any { return new(lattice) }}

// maxPooledNodes keeps the lattice of one unusually long text from staying
// in the pool (a node is 48 bytes).
const maxPooledNodes = 1 << 16

func releaseLattice(lat *lattice) {
	if cap(lat.nodes) <= maxPooledNodes {
		latticePool.Put(lat)
	}
}

// analyze runs MeCab's Viterbi::viterbi over text and leaves the best path
// in the returned lattice, which the caller puts back into latticePool.
func (a *Analyzer) analyze(text string) *lattice {
	lat := latticePool.Get().(*lattice)
	n := len(text)
	lat.nodes = append(lat.nodes[:0], node{prev: -1, enext: -1}) // BOS: context ids 0, cost 0
	if cap(lat.endHead) < n+1 {
		lat.endHead = make([]int32, n+1)
	}
	lat.endHead = lat.endHead[:n+1]
	for i := range lat.endHead {
		lat.endHead[i] = -1
	}
	lat.endHead[0] = 0

	for pos := 0; pos < n; pos++ {
		if lat.endHead[pos] < 0 {
			continue
		}
		first := len(lat.nodes)
		a.lookup(lat, text, pos)
		// MeCab's lookup returns its nodes newest first (bnext).
		for r := len(lat.nodes) - 1; r >= first; r-- {
			a.connect(lat, pos, int32(r))
			// MeCab files the node under pos+rlength, and rlength (skipped
			// whitespace plus surface) is an unsigned short: past the
			// lookup window it wraps. A node filed past the text (trailing
			// whitespace, see lookup) is never reached by EOS.
			if x := pos + int(uint16(lat.nodes[r].end-pos)); x <= n {
				lat.nodes[r].enext = lat.endHead[x]
				lat.endHead[x] = int32(r)
			}
		}
	}

	eos := int32(len(lat.nodes))
	lat.nodes = append(lat.nodes, node{prev: -1, enext: -1})
	for pos := n; pos >= 0; pos-- {
		if lat.endHead[pos] >= 0 {
			a.connect(lat, pos, eos)
			break
		}
	}

	lat.path = lat.path[:0]
	for i := lat.nodes[eos].prev; i > 0; i = lat.nodes[i].prev {
		lat.path = append(lat.path, i)
	}
	for i, j := 0, len(lat.path)-1; i < j; i, j = i+1, j-1 {
		lat.path[i], lat.path[j] = lat.path[j], lat.path[i]
	}
	return lat
}

// connect picks the best left neighbour of node r among the nodes ending at
// pos: the first one (in enext order) with the strictly lowest cost.
// MeCab starts from a best cost of 2^31-1 and fails the sentence when no
// path is cheaper; starting from +inf gives the same choice whenever MeCab
// succeeds and still a path on inputs long enough to exceed that.
func (a *Analyzer) connect(lat *lattice, pos int, r int32) {
	rn := &lat.nodes[r]
	row := a.matrix[2*a.lsize*int(rn.lcAttr):]
	best, bestIdx := int64(math.MaxInt64), int32(-1)
	for l := lat.endHead[pos]; l >= 0; l = lat.nodes[l].enext {
		ln := &lat.nodes[l]
		c := ln.cost + int64(int16(binary.LittleEndian.Uint16(row[2*int(ln.rcAttr):]))) + int64(rn.wcost)
		if c < best {
			best, bestIdx = c, l
		}
	}
	rn.cost, rn.prev = best, bestIdx
}

// lookup appends the word candidates reachable from pos, in the order
// Tokenizer::lookup creates them.
func (a *Analyzer) lookup(lat *lattice, text string, pos int) {
	end := len(text)
	if end-pos >= maxLookupBytes {
		end = pos + maxLookupBytes
	}
	// Skip characters sharing a category with U+0020. cinfo and mblen
	// describe the first other character, or the last skipped one when the
	// whitespace runs to end.
	begin2, cinfo, mblen, _ := a.chars.seek(text, pos, end, a.space)
	first := len(lat.nodes)

	key := text[begin2:end]
	if begin2 == end {
		// Darts reads a zero key length as "up to the NUL". Only reachable
		// past the 65535-byte window; at the end of text the key is empty.
		key = text[begin2:]
		if i := strings.IndexByte(key, 0); i >= 0 {
			key = key[:i]
		}
	}
	lat.matches = a.sys.prefixSearch(key, lat.matches[:0])
	for _, m := range lat.matches {
		if m.first()+m.count() > a.sys.ntokens {
			continue // broken dictionary; MeCab would read past its tokens
		}
		for j := m.first(); j < m.first()+m.count(); j++ {
			t := a.sys.token(j)
			lat.nodes = append(lat.nodes, node{
				begin: begin2, end: begin2 + m.length,
				lcAttr: t.lcAttr, rcAttr: t.rcAttr, wcost: t.wcost, feature: t.feature,
			})
		}
	}
	if len(lat.nodes) > first && !cinfo.invoke() {
		return
	}

	begin3 := begin2 + mblen
	if begin3 > end {
		// Whitespace up to the end: MeCab adds an unknown word of the last
		// space's length past the end, which no path uses.
		a.addUnknown(lat, cinfo, begin2, begin3)
		return
	}

	groupEnd := -1
	if cinfo.group() {
		// Group the run of characters that each share a category with the
		// previous one, unless more than maxGrouping follow the first.
		// MeCab scans the whole run from every position in it, quadratic
		// in its length (a megabyte of digits took hours). Past the longest
		// word proposed below and past maxGrouping nothing depends on
		// where the run ends, so the scan stops there: the bytes of that
		// many characters and one more, each at most maxCharBytes.
		limit := end
		if far := begin3 + maxCharBytes*(max(a.maxGrouping, maxUnknownLength)+2); far < end {
			limit = far
		}
		g, _, _, count := a.chars.seek(text, begin3, limit, cinfo)
		if count <= a.maxGrouping {
			a.addUnknown(lat, cinfo, begin2, g)
		}
		groupEnd = g
	}

	// Words of 1..length characters of the first character's category; the
	// one as long as the group is not added twice.
	for i := 1; i <= cinfo.length(); i++ {
		if begin3 == groupEnd {
			continue
		}
		a.addUnknown(lat, cinfo, begin2, begin3)
		if begin3 == end {
			break // MeCab steps past end here and stops on the next round
		}
		next, n := a.chars.decode(text, begin3, end)
		if !cinfo.kindOf(next) {
			break
		}
		begin3 += n
	}

	if len(lat.nodes) == first {
		a.addUnknown(lat, cinfo, begin2, begin3)
	}
}

// addUnknown appends one node per unk.dic entry of the category of c.
func (a *Analyzer) addUnknown(lat *lattice, c charInfo, begin, end int) {
	r := a.unkTokens[c.defaultType()]
	for k := r.first; k < r.first+r.count; k++ {
		t := a.unk.token(k)
		lat.nodes = append(lat.nodes, node{
			begin: begin, end: end, unknown: true,
			lcAttr: t.lcAttr, rcAttr: t.rcAttr, wcost: t.wcost, feature: t.feature,
		})
	}
}
