package backend

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
	"github.com/rerank-api/rerank-api/convert/vocab"
	"github.com/rerank-api/rerank-api/tokenizer/bertjapanese"
)

// textTokenizer turns text into a model's token ids. It is chosen when the
// model loads: llama.cpp's own tokenizer, or tokenizer/bertjapanese for
// models converted from a BertJapaneseTokenizer checkpoint, whose NFKC +
// MeCab + WordPiece llama.cpp cannot reproduce (its WordPiece strips
// voicing marks, lowercases and splits kanji one by one).
type textTokenizer interface {
	// Encode returns text's ids, wrapped in the model's special tokens
	// ([CLS] ... [SEP]) when addSpecial.
	Encode(text string, addSpecial bool) ([]int32, error)
	// Tokens is Encode with each token's text and offsets, for /tokenize.
	Tokens(text string, addSpecial bool) ([]Token, error)
	// Decode is the text of ids, as Hugging Face's tokenizer.decode reads
	// it back; the ids are within the vocabulary.
	Decode(ids []int32, skipSpecial bool) (string, error)
	Close()
}

// newTextTokenizer picks the tokenizer for a loaded model.
func newTextTokenizer(model Model, path string, entry catalog.Entry, cfg Config) (textTokenizer, error) {
	if model.Meta(keys.TokenizerClass) != "BertJapaneseTokenizer" {
		return llamaTokenizer{model}, nil
	}
	return newJapaneseTokenizer(path, entry, cfg)
}

// llamaTokenizer is the runtime's tokenizer, llama.cpp's. Text inside a text
// that spells a special token ("[SEP]") stays text, as llama.cpp's embedding
// server does.
type llamaTokenizer struct{ model Model }

func (t llamaTokenizer) Encode(text string, addSpecial bool) ([]int32, error) {
	return t.model.Tokenize(text, addSpecial, false)
}

// Decode is llama.cpp's detokenizer. A word-initial piece (WordPiece's
// "▁word", SentencePiece's "▁" after a BOS) reads as " word", so the text
// can start with a space, which Hugging Face's decoders strip.
func (t llamaTokenizer) Decode(ids []int32, skipSpecial bool) (string, error) {
	text, err := t.model.Detokenize(ids, !skipSpecial)
	return strings.TrimPrefix(text, " "), err
}

func (t llamaTokenizer) Close() {}

// maxOffsetSearch bounds how far past the previous token a token's text is
// looked for, so a piece that cannot be located (an accent llama.cpp
// stripped) costs a short scan, not one of the whole text.
const maxOffsetSearch = 256

// Tokens locates each piece in the text, since llama.cpp reports no
// offsets: a piece's text (phantom space "▁" and byte-level "Ġ" read as
// spaces, then trimmed) is matched case-insensitively, as llama.cpp's
// WordPiece lowercases, a little past where the previous piece ended. A
// piece not found there, and every special token, gets no offsets.
func (t llamaTokenizer) Tokens(text string, addSpecial bool) ([]Token, error) {
	ids, err := t.Encode(text, addSpecial)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ids))
	cursor := 0
	for i, id := range ids {
		piece := t.model.TokenText(id)
		tok := Token{ID: id, Text: piece, Special: t.model.IsControl(id), Start: -1, Stop: -1}
		if !tok.Special {
			if start, stop, ok := locate(text, pieceText(piece), cursor); ok {
				tok.Text, tok.Start, tok.Stop = text[start:stop], start, stop
				cursor = stop
			}
		}
		out[i] = tok
	}
	return out, nil
}

// pieceSpaces reads SentencePiece's "▁" and byte-level BPE's "Ġ", "Ċ" as
// the whitespace they stand for.
var pieceSpaces = strings.NewReplacer("\u2581", " ", "\u0120", " ", "\u010a", "\n")

func pieceText(piece string) string { return strings.TrimSpace(pieceSpaces.Replace(piece)) }

// locate finds want in text at or a little after from, ignoring case.
func locate(text, want string, from int) (start, stop int, ok bool) {
	if want == "" {
		return 0, 0, false
	}
	limit := min(len(text), from+maxOffsetSearch)
	for p := from; p < limit; {
		if n, ok := foldPrefix(text[p:], want); ok {
			return p, p + n, true
		}
		_, size := utf8.DecodeRuneInString(text[p:])
		p += size
	}
	return 0, 0, false
}

// foldPrefix reports whether s starts with prefix under simple case
// folding, and how many bytes of s that prefix spans.
func foldPrefix(s, prefix string) (int, bool) {
	n := 0
	for _, want := range prefix {
		if n >= len(s) {
			return 0, false
		}
		got, size := utf8.DecodeRuneInString(s[n:])
		if got != want && unicode.ToLower(got) != unicode.ToLower(want) {
			return 0, false
		}
		n += size
	}
	return n, true
}

// japaneseTokenizer is BertJapaneseTokenizer, built from the tokenizer
// config the converter kept in the GGUF and the GGUF's own vocabulary.
type japaneseTokenizer struct{ t *bertjapanese.Tokenizer }

// newJapaneseTokenizer reads the vocabulary back from the GGUF (the
// converter writes vocab.txt in llama.cpp's phantom-space form, which
// vocab.WordPieceTokens undoes; a cross-encoder's segment-B copies past
// the offset are dropped), so the GGUF stays the only file a model needs.
// The dictionary is the catalog entry's mecab_dicdir, else MECAB_DICDIR,
// else the one the tokenizer config names.
func newJapaneseTokenizer(path string, entry catalog.Entry, cfg Config) (textTokenizer, error) {
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	raw, _ := meta.Value(keys.TokenizerConfig)
	config, ok := raw.(string)
	if !ok {
		return nil, fmt.Errorf("the GGUF names BertJapaneseTokenizer but has no %s; reconvert it with rerank-api convert", keys.TokenizerConfig)
	}
	tc, err := bertjapanese.ParseConfig([]byte(config))
	if err != nil {
		return nil, err
	}
	tokensValue, _ := meta.Value("tokenizer.ggml.tokens")
	tokens, ok := tokensValue.([]string)
	if !ok {
		return nil, fmt.Errorf("the GGUF has no tokenizer.ggml.tokens")
	}
	typesValue, _ := meta.Value("tokenizer.ggml.token_type")
	types, _ := typesValue.([]int32)
	if v, ok := meta.Value(segments.OffsetKey); ok {
		if n, ok := v.(uint32); ok && int(n) <= len(tokens) {
			tokens = tokens[:n]
			types = types[:min(len(types), int(n))]
		}
	}
	override := entry.MecabDicdir
	if override == "" {
		override = cfg.MecabDicdir
	}
	dicdir, err := tc.Dicdir(bertjapanese.Places{Override: override, ModelsDir: cfg.ModelsDir, MecabRC: cfg.MecabRC})
	if err != nil {
		return nil, err
	}
	t, err := bertjapanese.New(tc, vocab.WordPieceTokens(tokens, types), dicdir)
	if err != nil {
		return nil, err
	}
	return japaneseTokenizer{t}, nil
}

func (j japaneseTokenizer) Encode(text string, addSpecial bool) ([]int32, error) {
	ids := j.t.Encode(text)
	if addSpecial {
		ids, _ = j.t.BuildInputs(ids, nil)
	}
	return ids, nil
}

func (j japaneseTokenizer) Tokens(text string, addSpecial bool) ([]Token, error) {
	toks := j.t.Tokenize(text)
	out := make([]Token, 0, len(toks)+2)
	special := func(id int32) Token {
		return Token{ID: id, Text: j.t.Piece(id), Special: true, Start: -1, Stop: -1}
	}
	if addSpecial {
		out = append(out, special(j.t.CLS()))
	}
	for _, tok := range toks {
		t := Token{ID: tok.ID, Text: tok.Piece, Special: tok.Special, Start: tok.Start, Stop: tok.End}
		if tok.Start >= 0 {
			t.Text = text[tok.Start:tok.End]
		}
		out = append(out, t)
	}
	if addSpecial {
		out = append(out, special(j.t.SEP()))
	}
	return out, nil
}

func (j japaneseTokenizer) Decode(ids []int32, skipSpecial bool) (string, error) {
	return j.t.Decode(ids, skipSpecial), nil
}

func (j japaneseTokenizer) Close() { j.t.Close() }
