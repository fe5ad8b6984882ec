package bertjapanese

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/tokenizer/mecab"
)

// UnidicLiteDir is where `rerank-api pull` unpacks unidic-lite (the
// dicdir of the unidic-lite Python package: UniDic 2.1.2 with its edits)
// under a models directory.
func UnidicLiteDir(modelsDir string) string {
	return filepath.Join(modelsDir, "dictionaries", "unidic-lite", "dicdir")
}

// debianIPADic is Debian's mecab-ipadic-utf8, the same IPAdic 2.7.0-20070801
// release the ipadic Python package ships, so it can stand in for
// mecab_dic "ipadic" without changing a token.
const debianIPADic = "/var/lib/mecab/dic/ipadic-utf8"

// Places are where Dicdir looks for a dictionary besides the config.
type Places struct {
	// Override is a catalog entry's mecab_dicdir, else MECAB_DICDIR.
	Override string
	// ModelsDir is where `rerank-api pull` puts unidic-lite.
	ModelsDir string
	// MecabRC is the mecabrc MeCab would read first ($MECABRC), for a
	// null mecab_dic; "" reads MeCab's usual ones.
	MecabRC string
}

// Dicdir decides which compiled MeCab dictionary the config's word
// tokenizer reads. at.Override wins; then mecab_option's -d; then the
// dictionary mecab_dic names: unidic-lite as pulled into at.ModelsDir,
// IPAdic from Debian's package, MeCab's configured default for a null
// mecab_dic. The error says what to install or pull.
func (c Config) Dicdir(at Places) (string, error) {
	if !c.DoWordTokenize || c.WordTokenizer != "mecab" {
		return "", nil
	}
	if at.Override != "" {
		return at.Override, nil
	}
	dir, err := optionDicdir(c.MecabOption)
	if err != nil || dir != "" {
		return dir, err
	}
	const hint = "or set MECAB_DICDIR (or the catalog entry's mecab_dicdir) to a compiled dictionary directory"
	switch c.MecabDic {
	case "unidic_lite":
		dir := UnidicLiteDir(at.ModelsDir)
		if hasDictionary(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("the model tokenizes with MeCab and unidic-lite, which is not in %s: "+
			"run `rerank-api pull` for the model (it downloads unidic-lite), %s", dir, hint)
	case "ipadic":
		if hasDictionary(debianIPADic) {
			return debianIPADic, nil
		}
		return "", fmt.Errorf("the model tokenizes with MeCab and IPAdic: install it (apt-get install mecab-ipadic-utf8) %s", hint)
	case "unidic":
		// unidic-py downloads UniDic 3.1.0; Debian's unidic-mecab is 3.1.1,
		// close but not the same, so it is not picked silently.
		return "", fmt.Errorf("the model tokenizes with MeCab and the full UniDic (the unidic Python package, UniDic 3.1.0): " +
			"point MECAB_DICDIR or the catalog entry's mecab_dicdir at its dicdir (`python -m unidic download` puts it in the package), " +
			"or at Debian's unidic-mecab (/var/lib/mecab/dic/unidic, UniDic 3.1.1, which may segment a few words differently)")
	}
	if dir := mecab.DefaultDicdir(at.MecabRC); dir != "" {
		return dir, nil
	}
	return "", fmt.Errorf("the model tokenizes with MeCab's default dictionary, and none is configured (no /etc/mecabrc): install one (apt-get install mecab-ipadic-utf8) %s", hint)
}

func hasDictionary(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "sys.dic"))
	return err == nil
}
