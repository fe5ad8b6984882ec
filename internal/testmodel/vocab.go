package testmodel

import (
	"fmt"
	"strings"
)

// The default vocabulary's special tokens and their ids. The order differs
// from bert-base-uncased (0, 100, 101, 102, 103) on purpose: llama.cpp falls
// back to those ids when a GGUF omits a special-token key, so a writer bug
// would go unnoticed with the standard numbering.
const (
	PadID  int32 = 0
	UnkID  int32 = 1
	CLSID  int32 = 2
	SEPID  int32 = 3
	MaskID int32 = 4
)

// defaultWords are whole lowercase English words, then three continuation
// pieces so tests can see llama.cpp split "dogs" into "dog" + "##s".
const defaultWords = `the of and to in is was for on that with as by at from it his an are were which be this has
had not also or their first but after one new two its who they been have her she he more all other time when
would there into can over during city about only most some such may between up out three year years world
states people school used many these later state then team made both under where through while part known him
national well war several season united since film american series because south north like however them being
until what called each any life area four early including game second same day album music home found family
government work could best against end long five high number around became did very before group few last
following own given public top make left old small based take way how good great place back does much even
still just why let get say use find tell ask seem feel try leave call keep begin show hear play run move live
believe hold bring happen write provide sit stand lose pay meet include continue set learn change lead
understand watch follow stop create speak read allow add spend grow open walk win offer remember love consider
appear buy wait serve send expect build stay fall cut reach remain suggest raise pass sell require report
decide pull hello dog cat bird fish tree river mountain ocean sky sun moon star rain snow wind fire water earth
stone book paper pen table chair door window house room kitchen garden street road car train plane ship bike
computer phone song movie picture color red blue green yellow black white happy sad quick slow big little
young hot cold warm cool fast strong weak light dark bright quiet loud soft hard easy simple clean dirty rich
poor full empty deep short tall wide narrow near far late morning evening night today tomorrow yesterday week
month spring summer autumn winter food bread apple orange banana coffee tea milk sugar salt rice meat egg
cheese doctor teacher student friend mother father brother sister child baby man woman king queen question
answer search query document passage rank score model vector token text ##s ##ing ##ed`

// DefaultVocab returns the default vocabulary in Hugging Face vocab.txt form
// (continuation pieces start with "##"): [PAD] [UNK] [CLS] [SEP] [MASK] at
// ids 0..4, then a few hundred whole words. The slice is a fresh copy.
func DefaultVocab() []string {
	specials := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	return append(specials, strings.Fields(defaultWords)...)
}

// vocab returns cfg.Vocab, or the default vocabulary when it is empty.
func (c Config) vocab() []string {
	if len(c.Vocab) > 0 {
		return c.Vocab
	}
	return DefaultVocab()
}

// specialIDs finds the BERT special tokens in a vocabulary; -1 when absent.
type specialIDs struct{ pad, unk, cls, sep, mask int32 }

func findSpecials(vocab []string) specialIDs {
	ids := specialIDs{-1, -1, -1, -1, -1}
	for i, tok := range vocab {
		switch tok {
		case "[PAD]":
			ids.pad = int32(i)
		case "[UNK]":
			ids.unk = int32(i)
		case "[CLS]":
			ids.cls = int32(i)
		case "[SEP]":
			ids.sep = int32(i)
		case "[MASK]":
			ids.mask = int32(i)
		}
	}
	return ids
}

// isSpecial reports whether a vocab.txt entry is a bracketed special token
// such as [CLS] or [unused3].
func isSpecial(tok string) bool {
	return len(tok) > 2 && strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]")
}

// phantomSpaceForm rewrites a vocab.txt entry the way llama.cpp's WPM
// tokenizer looks it up: it prefixes every word with U+2581 before matching,
// so word-initial pieces carry "▁", continuation pieces lose their "##", and
// specials stay as they are.
func phantomSpaceForm(tok string) string {
	switch {
	case isSpecial(tok):
		return tok
	case strings.HasPrefix(tok, "##"):
		return tok[2:]
	}
	return "\u2581" + tok
}

// sentencePieceForm is a vocab.txt entry as a SentencePiece (XLM-R)
// vocabulary spells it: pieces look like the phantom-space form, and the
// BERT specials take XLM-R's names.
func sentencePieceForm(tok string) string {
	switch tok {
	case "[CLS]":
		return "<s>"
	case "[SEP]":
		return "</s>"
	case "[PAD]":
		return "<pad>"
	case "[UNK]":
		return "<unk>"
	case "[MASK]":
		return "<mask>"
	}
	return phantomSpaceForm(tok)
}

// ExpectedIDs is the tokenization oracle for texts made only of whole
// vocabulary words separated by spaces: [CLS], each word's id, [SEP]. It is
// independent of llama.cpp's tokenizer, so tests can check it. It panics on a
// word that is not in the vocabulary, which is a bug in the test's text.
func (c Config) ExpectedIDs(text string) []int32 {
	vocab := c.vocab()
	index := make(map[string]int32, len(vocab))
	for i, tok := range vocab {
		if !isSpecial(tok) && !strings.HasPrefix(tok, "##") {
			index[tok] = int32(i)
		}
	}
	specials := findSpecials(vocab)
	ids := []int32{specials.cls}
	for _, word := range strings.Fields(text) {
		id, ok := index[word]
		if !ok {
			panic(fmt.Sprintf("testmodel: %q is not a whole word of the vocabulary", word))
		}
		ids = append(ids, id)
	}
	return append(ids, specials.sep)
}
