package keys

import (
	"fmt"
	"strconv"
	"strings"
)

// PairTemplate (string): how the model's tokenizer joins a text pair, as
// its tokenizer.json post_processor declares it, in the notation of
// Hugging Face's TemplateProcessing with each special token written as
// its id: ruri-v3's "<s>:0 $A:0 </s>:0 <s>:1 $B:1 </s>:1" is
// "1:0 $A:0 2:0 1:1 $B:1 2:1". $A is the query, $B the document; the
// number after ":" is the piece's token type. Cross-encoders read it to
// build their pairs; without it they fall back to the BERT or RoBERTa
// layout their vocabulary implies. llama.cpp has no such key.
const PairTemplate = "rerankapi.tokenizer.pair_template"

// PairPiece is one element of a pair template: a special token, or the
// query (Sequence "A") or document (Sequence "B") in its place.
type PairPiece struct {
	Sequence string // "A" or "B"; "" for a special token
	ID       int32  // the special token's id
	TypeID   int
}

func (p PairPiece) String() string {
	if p.Sequence != "" {
		return fmt.Sprintf("$%s:%d", p.Sequence, p.TypeID)
	}
	return fmt.Sprintf("%d:%d", p.ID, p.TypeID)
}

// FormatPairTemplate is the PairTemplate value of pieces.
func FormatPairTemplate(pieces []PairPiece) string {
	parts := make([]string, len(pieces))
	for i, p := range pieces {
		parts[i] = p.String()
	}
	return strings.Join(parts, " ")
}

// ParsePairTemplate reads a PairTemplate value. A template must place the
// query and the document once each.
func ParsePairTemplate(s string) ([]PairPiece, error) {
	var pieces []PairPiece
	seen := map[string]int{}
	for field := range strings.FieldsSeq(s) {
		item, typ, ok := strings.Cut(field, ":")
		typeID, err := strconv.Atoi(typ)
		if !ok || err != nil || typeID < 0 {
			return nil, fmt.Errorf("pair template piece %q is not ID:TYPE or $A:TYPE/$B:TYPE", field)
		}
		p := PairPiece{TypeID: typeID}
		if seq, isSeq := strings.CutPrefix(item, "$"); isSeq {
			if seq != "A" && seq != "B" {
				return nil, fmt.Errorf("pair template piece %q names sequence %q (want $A or $B)", field, seq)
			}
			p.Sequence = seq
			seen[seq]++
		} else {
			id, err := strconv.ParseInt(item, 10, 32)
			if err != nil || id < 0 {
				return nil, fmt.Errorf("pair template piece %q is not a token id", field)
			}
			p.ID = int32(id)
		}
		pieces = append(pieces, p)
	}
	if seen["A"] != 1 || seen["B"] != 1 {
		return nil, fmt.Errorf("pair template %q must hold $A and $B once each", s)
	}
	return pieces, nil
}
