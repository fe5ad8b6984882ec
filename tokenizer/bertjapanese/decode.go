package bertjapanese

import (
	"slices"
	"strings"
)

// Decode is transformers' decode for BertJapaneseTokenizer with a
// WordPiece or character subword tokenizer: the pieces joined by spaces, a
// "##" continuation glued to the piece before it, then
// clean_up_tokenization's spaces before punctuation dropped. Words come
// back space-separated ("東京都 に 住む"), as transformers gives them.
// skipSpecial leaves out the special tokens; an id outside the vocabulary
// is left out too.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	pieces := make([]string, 0, len(ids))
	for _, id := range ids {
		piece := t.Piece(id)
		if piece == "" || skipSpecial && slices.Contains(t.cfg.Specials, piece) {
			continue
		}
		pieces = append(pieces, piece)
	}
	text := strings.TrimSpace(strings.ReplaceAll(strings.Join(pieces, " "), " ##", ""))
	return cleanUpSpaces.Replace(text)
}

// cleanUpSpaces is transformers' clean_up_tokenization.
var cleanUpSpaces = strings.NewReplacer(
	" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'",
	" n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re",
)
