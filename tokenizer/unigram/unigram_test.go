package unigram

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
)

// vocab is a small byte-fallback model: the 256 byte pieces at ids 0..255,
// then the pieces below.
func vocab(t testing.TB, spacePrefix bool, extra ...struct {
	piece string
	score float32
	kind  Kind
}) *Tokenizer {
	t.Helper()
	var pieces []string
	var scores []float32
	var kinds []Kind
	for b := range 256 {
		pieces, scores, kinds = append(pieces, string([]byte{'<', '0', 'x', "0123456789ABCDEF"[b>>4], "0123456789ABCDEF"[b&15], '>'})), append(scores, 0), append(kinds, Byte)
	}
	for _, e := range extra {
		pieces, scores, kinds = append(pieces, e.piece), append(scores, e.score), append(kinds, e.kind)
	}
	tok, err := New(pieces, scores, kinds, spacePrefix)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type piece = struct {
	piece string
	score float32
	kind  Kind
}

func TestEncode(t *testing.T) {
	tok := vocab(t, false,
		piece{"a", -1, Normal}, piece{"b", -1, Normal}, piece{"ab", -2, Normal}, // 256, 257, 258: "ab" ties "a" "b"
		piece{"▁", -1, Normal}, piece{"abc", -5, Normal}, piece{"c", -1, Normal}, // 259, 260, 261
		piece{"<x>", -9, UserDefined}, piece{"<s>", 0, Ignored}, piece{"日", -3, Normal}) // 262, 263, 264
	for _, c := range []struct {
		text string
		want []int32
	}{
		{"", nil},
		{"ab", []int32{258}},               // -2 either way: the piece starting earlier was found first
		{"abc", []int32{258, 261}},         // -3 beats "abc"'s -5
		{"a b", []int32{256, 259, 257}},    // spaces are "▁", no prefix
		{"  ", []int32{259, 259}},          // runs of spaces stay
		{"<x>a", []int32{262, 256}},        // user-defined pieces score 0
		{"<s>", []int32{0x3C, 0x73, 0x3E}}, // control pieces are not matched in text
		{"日\n", []int32{264, 0x0A}},        // no piece for "\n": its byte
		{"é日", []int32{0xC3, 0xA9, 264}},   // a character's bytes, in order
		{"\xff", []int32{0xFF}},            // invalid UTF-8 goes byte by byte
	} {
		if got := tok.Encode(c.text, nil); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.want)
		}
	}
	if got := vocab(t, true, piece{"▁", -1, Normal}, piece{"a", -1, Normal}).Encode("a", []int32{7}); !slices.Equal(got, []int32{7, 256, 257}) {
		t.Errorf("with a space prefix, appended to [7]: got %v", got)
	}
}

func TestNewRefusesAVocabularyWithoutBytes(t *testing.T) {
	if _, err := New([]string{"a"}, []float32{-1}, []Kind{Normal}, false); err == nil {
		t.Error("no byte pieces: want an error")
	}
	if _, err := New([]string{"a"}, nil, []Kind{Normal}, false); err == nil {
		t.Error("no scores: want an error")
	}
}

// A hostile GGUF's NaN or infinite score is refused, not searched.
func TestNewRefusesNonFiniteScores(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		var pieces []string
		var scores []float32
		var kinds []Kind
		for b := range 256 {
			pieces, scores, kinds = append(pieces, fmt.Sprintf("<0x%02X>", b)), append(scores, 0), append(kinds, Byte)
		}
		pieces, scores, kinds = append(pieces, "a"), append(scores, bad), append(kinds, Normal)
		if _, err := New(pieces, scores, kinds, false); err == nil {
			t.Errorf("score %v: want an error", bad)
		}
		scores[256] = -1
		if _, err := New(pieces, scores, kinds, false); err != nil {
			t.Errorf("the same vocabulary with score -1: %v", err)
		}
	}
}

// TestMatchesSentencePiece runs ruri-v3-30m's vocabulary cut to its first
// 511 ids against the ids libsentencepiece gives for the same pieces and
// settings (testdata/tokenizers/ruri-v3-30m).
func TestMatchesSentencePiece(t *testing.T) {
	const dir = "../../testdata/tokenizers/ruri-v3-30m/"
	var tj struct {
		Model struct{ Vocab [][2]any } `json:"model"`
	}
	var golden struct {
		Cases []struct {
			Text string
			IDs  []int32
		}
	}
	for name, v := range map[string]any{"tokenizer-excerpt.json": &tj, "sp-golden-generated.json": &golden} {
		raw, err := os.ReadFile(dir + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	var pieces []string
	var scores []float32
	var kinds []Kind
	for i, e := range tj.Model.Vocab {
		// ruri-v3's layout: <unk> and six control tokens, eight
		// user-defined ones, the 256 bytes, then normal pieces.
		kind := map[bool]Kind{true: Ignored}[i < 7]
		switch {
		case i >= 7 && i < 15:
			kind = UserDefined
		case i >= 15 && i < 271:
			kind = Byte
		case i >= 271:
			kind = Normal
		}
		pieces, scores, kinds = append(pieces, e[0].(string)), append(scores, float32(e[1].(float64))), append(kinds, kind)
	}
	tok, err := New(pieces, scores, kinds, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range golden.Cases {
		if got := tok.Encode(c.Text, nil); !slices.Equal(got, c.IDs) && len(got)+len(c.IDs) > 0 {
			t.Errorf("%q:\n got  %v\n want %v", c.Text, got, c.IDs)
		}
	}
}
