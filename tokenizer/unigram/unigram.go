package unigram

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Kind is what a piece is to the tokenizer.
type Kind int

const (
	// Ignored pieces (control, unknown, unused) are never matched in text.
	Ignored Kind = iota
	// Normal pieces are matched with their scores.
	Normal
	// UserDefined pieces are matched with score 0, which makes them win
	// over the negative log probabilities of normal pieces, as llama.cpp
	// scores them.
	UserDefined
	// Byte pieces ("<0x41>") spell characters no other piece spells.
	Byte
)

// Tokenizer is a unigram model with byte fallback. It is immutable and safe
// for concurrent use.
type Tokenizer struct {
	pieces      map[string]int32
	scores      []float64
	maxBytes    int // the longest matchable piece, in bytes
	unkScore    float64
	byteIDs     [256]int32
	spacePrefix bool
}

// New builds a tokenizer from a vocabulary by id. spacePrefix puts a "▁"
// before every text (SentencePiece's add_dummy_prefix, a Metaspace whose
// prepend_scheme is not "never"). It fails unless every byte has a piece.
func New(pieces []string, scores []float32, kinds []Kind, spacePrefix bool) (*Tokenizer, error) {
	if len(scores) != len(pieces) || len(kinds) != len(pieces) {
		return nil, fmt.Errorf("unigram: %d pieces, %d scores and %d kinds", len(pieces), len(scores), len(kinds))
	}
	t := &Tokenizer{pieces: make(map[string]int32, len(pieces)), scores: make([]float64, len(pieces)), spacePrefix: spacePrefix}
	for i := range t.byteIDs {
		t.byteIDs[i] = -1
	}
	minScore := math.Inf(1)
	for i, piece := range pieces {
		switch kinds[i] {
		case Normal:
			// A NaN or infinite score would make every path through the
			// lattice incomparable and the text encode as nothing.
			if x := float64(scores[i]); math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("unigram: piece %d (%q) has score %v", i, piece, x)
			}
			t.scores[i] = float64(scores[i])
			minScore = min(minScore, t.scores[i])
		case UserDefined:
		case Byte:
			if b, ok := byteValue(piece); ok {
				t.byteIDs[b] = int32(i)
			}
			continue
		default:
			continue
		}
		if _, dup := t.pieces[piece]; !dup && piece != "" {
			t.pieces[piece] = int32(i)
			t.maxBytes = max(t.maxBytes, len(piece))
		}
	}
	for _, id := range t.byteIDs {
		if id < 0 {
			return nil, errors.New("unigram: the vocabulary lacks byte pieces <0x00>..<0xFF>")
		}
	}
	if math.IsInf(minScore, 1) {
		minScore = 0
	}
	// SentencePiece's and tokenizers' kUnkPenalty.
	t.unkScore = minScore - 10
	return t, nil
}

// byteValue parses "<0x41>".
func byteValue(piece string) (byte, bool) {
	if len(piece) != 6 || piece[:3] != "<0x" || piece[5] != '>' {
		return 0, false
	}
	var b byte
	for _, c := range piece[3:5] {
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | byte(c-'0')
		case c >= 'A' && c <= 'F':
			b = b<<4 | byte(c-'A'+10)
		default:
			return 0, false
		}
	}
	return b, true
}

// best is the best tokenization of the text up to a byte offset: its
// score, and the last piece (-1: an unknown character) and where it starts.
type best struct {
	score float64
	id    int32
	start int
}

// Encode appends the ids of text to ids, without special tokens.
func (t *Tokenizer) Encode(text string, ids []int32) []int32 {
	s := strings.ReplaceAll(text, " ", "▁")
	if t.spacePrefix && s != "" {
		s = "▁" + s
	}
	if s == "" {
		return ids
	}
	lattice := make([]best, len(s)+1)
	for i := 1; i <= len(s); i++ {
		lattice[i].score = math.Inf(-1)
	}
	for start := 0; start < len(s); {
		_, size := utf8.DecodeRuneInString(s[start:])
		here := lattice[start].score
		single := false
		// Pieces are whole characters: only ends on a character boundary
		// can match. A tie keeps the candidate found first, the one
		// starting earlier, as SentencePiece, tokenizers and llama.cpp do.
		for end := start + size; end-start <= t.maxBytes; {
			if id, ok := t.pieces[s[start:end]]; ok {
				single = single || end-start == size
				if c := here + t.scores[id]; c > lattice[end].score {
					lattice[end] = best{c, id, start}
				}
			}
			if end == len(s) {
				break
			}
			_, n := utf8.DecodeRuneInString(s[end:])
			end += n
		}
		if !single {
			if c := here + t.unkScore; c > lattice[start+size].score {
				lattice[start+size] = best{c, -1, start}
			}
		}
		start += size
	}
	// Walk back from the end, then reverse; an unknown character's bytes
	// go in backwards too.
	first := len(ids)
	for end := len(s); end > 0; end = lattice[end].start {
		b := lattice[end]
		if b.id >= 0 {
			ids = append(ids, b.id)
			continue
		}
		for i := end - 1; i >= b.start; i-- {
			ids = append(ids, t.byteIDs[s[i]])
		}
	}
	for i, j := first, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}
