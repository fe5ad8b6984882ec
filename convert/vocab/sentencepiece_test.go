package vocab

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// spSpec describes a SentencePiece ModelProto to encode; zero-valued
// option maps leave the fields out, so parsing must supply the defaults.
type spSpec struct {
	pieces     []spPiece
	trainer    map[protowire.Number]int64 // varint fields of TrainerSpec
	normalizer map[protowire.Number]int64 // varint fields of NormalizerSpec
	name       string
	charsmap   []byte
}

func spModelBytes(s spSpec) []byte {
	var b []byte
	for _, p := range s.pieces {
		var m []byte
		m = protowire.AppendTag(m, fieldPieceText, protowire.BytesType)
		m = protowire.AppendString(m, p.text)
		m = protowire.AppendTag(m, fieldPieceScore, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, math.Float32bits(p.score))
		if p.typ != TypeNormal { // NORMAL is the default: leave it out
			m = protowire.AppendTag(m, fieldPieceType, protowire.VarintType)
			m = protowire.AppendVarint(m, uint64(p.typ))
		}
		b = protowire.AppendTag(b, fieldModelPieces, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	var trainer []byte
	for _, num := range slices.Sorted(maps.Keys(s.trainer)) {
		trainer = protowire.AppendTag(trainer, num, protowire.VarintType)
		trainer = protowire.AppendVarint(trainer, uint64(s.trainer[num])) // int32 -1 is a 10-byte varint
	}
	// Fields this package does not read must be skipped whatever their
	// wire type: vocab_size (4, varint), character_coverage (10, fixed32),
	// input (1, bytes).
	trainer = protowire.AppendTag(trainer, 1, protowire.BytesType)
	trainer = protowire.AppendString(trainer, "corpus.txt")
	trainer = protowire.AppendTag(trainer, 10, protowire.Fixed32Type)
	trainer = protowire.AppendFixed32(trainer, math.Float32bits(0.9995))
	b = protowire.AppendTag(b, fieldModelTrainer, protowire.BytesType)
	b = protowire.AppendBytes(b, trainer)
	var norm []byte
	if s.name != "" {
		norm = protowire.AppendTag(norm, fieldNormName, protowire.BytesType)
		norm = protowire.AppendString(norm, s.name)
	}
	if s.charsmap != nil {
		norm = protowire.AppendTag(norm, fieldNormCharsmap, protowire.BytesType)
		norm = protowire.AppendBytes(norm, s.charsmap)
	}
	for _, num := range slices.Sorted(maps.Keys(s.normalizer)) {
		norm = protowire.AppendTag(norm, num, protowire.VarintType)
		norm = protowire.AppendVarint(norm, uint64(s.normalizer[num]))
	}
	b = protowire.AppendTag(b, fieldModelNormalizer, protowire.BytesType)
	b = protowire.AppendBytes(b, norm)
	// A field of a later sentencepiece version, as a 64-bit number.
	b = protowire.AppendTag(b, 99, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, 7)
}

// spPieces is a small unigram model in SentencePiece's own order.
var spPieces = []spPiece{
	{"<unk>", 0, TypeUnknown}, {"<s>", 0, TypeControl}, {"</s>", 0, TypeControl},
	{"▁", -2, TypeNormal}, {"▁the", -3, TypeNormal}, {"s", -4.5, TypeNormal}, {"<sep>", 0, TypeUserDefined},
}

func TestParseSentencePieceDefaults(t *testing.T) {
	m, err := parseSentencePiece(spModelBytes(spSpec{pieces: spPieces}))
	if err != nil {
		t.Fatal(err)
	}
	want := spModel{
		pieces: spPieces, modelType: spUnigram, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
	}
	if !slices.Equal(m.pieces, want.pieces) || m.modelType != want.modelType || m.unkID != 0 || m.bosID != 1 || m.eosID != 2 || m.padID != -1 ||
		!m.addDummyPrefix || !m.removeExtraWhitespaces || !m.escapeWhitespaces || m.byteFallback || m.treatWhitespaceAsSuffix {
		t.Errorf("parsed %+v\nwant %+v", *m, want)
	}
}

func TestParseSentencePieceRejectsGarbage(t *testing.T) {
	good := spModelBytes(spSpec{pieces: spPieces})
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"no pieces": spModelBytes(spSpec{}),
		"bad tag":   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"json":      []byte(`{"model": {}}`),
	} {
		if _, err := parseSentencePiece(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestSentencePieceVocab(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		spec  spSpec
		extra map[string]string // side files
		check func(*testing.T, *Vocab)
	}{
		{"unigram: T5's conventions", "spiece.model", spSpec{pieces: spPieces, name: "nmt_nfkc", charsmap: []byte{9, 9}}, nil, func(t *testing.T, v *Vocab) {
			want := []string{"<unk>", "<s>", "</s>", "▁", "▁the", "s", "<sep>"}
			if v.Model != ModelUGM || !slices.Equal(v.Tokens, want) || v.Scores[5] != -4.5 ||
				!slices.Equal(v.Types, []int32{2, 3, 3, 1, 1, 1, 4}) || !slices.Equal(v.PrecompiledCharsmap, []byte{9, 9}) {
				t.Errorf("%+v", v)
			}
			if v.UNK != 0 || v.BOS != 1 || v.EOS != 2 || v.PAD != -1 || v.AddBOS || !v.AddEOS || !v.AddSpacePrefix || !v.RemoveExtraWhitespaces || len(v.Warnings) > 0 {
				t.Errorf("specials/flags %+v", v)
			}
		}},
		{"unigram: explicit ids and flags", "tokenizer.model", spSpec{
			pieces:     spPieces,
			trainer:    map[protowire.Number]int64{fieldTrainerUnkID: 0, fieldTrainerBosID: -1, fieldTrainerEosID: 2, fieldTrainerPadID: 6, fieldTrainerByteFallback: 1},
			normalizer: map[protowire.Number]int64{fieldNormAddDummyPrefix: 0, fieldNormRemoveExtraWS: 0},
		}, map[string]string{"tokenizer_config.json": `{"add_eos_token": false}`}, func(t *testing.T, v *Vocab) {
			if v.BOS != -1 || v.PAD != 6 || v.AddEOS || v.AddSpacePrefix || v.RemoveExtraWhitespaces || !hasWarning(v, "byte pieces") {
				t.Errorf("%+v", v)
			}
		}},
		{"bpe: Llama's SPM", "tokenizer.model", spSpec{
			pieces:  append(slices.Clone(spPieces[:3]), spPiece{"<0x0A>", 0, TypeByte}, spPiece{"▁t", -1, TypeNormal}),
			trainer: map[protowire.Number]int64{fieldTrainerModelType: spBPE, fieldTrainerByteFallback: 1}, name: "identity",
			normalizer: map[protowire.Number]int64{fieldNormRemoveExtraWS: 0},
		}, nil, func(t *testing.T, v *Vocab) {
			if v.Model != ModelSPM || !v.AddBOS || v.AddEOS || !v.AddSpacePrefix || v.Types[3] != TypeByte || len(v.Warnings) > 0 {
				t.Errorf("%+v", v)
			}
		}},
		{"bpe: settings llama.cpp's SPM ignores", "tokenizer.model", spSpec{
			pieces: spPieces, trainer: map[protowire.Number]int64{fieldTrainerModelType: spBPE, fieldTrainerWhitespaceSufx: 1},
			normalizer: map[protowire.Number]int64{fieldNormEscapeSpaceMark: 0}, name: "nmt_nfkc", charsmap: []byte{1},
		}, nil, func(t *testing.T, v *Vocab) {
			for _, w := range []string{"treat_whitespace_as_suffix", "escape_whitespaces", "ignores the \"nmt_nfkc\"", "keeps extra whitespace"} {
				if !hasWarning(v, w) {
					t.Errorf("no warning about %s: %q", w, v.Warnings)
				}
			}
		}},
		{"normalizer without charsmap", "tokenizer.model", spSpec{pieces: spPieces, name: "nfkc_cf"}, nil, func(t *testing.T, v *Vocab) {
			if !hasWarning(v, "will not normalize") {
				t.Errorf("warnings %q", v.Warnings)
			}
		}},
		{"XLM-R: fairseq ids", "sentencepiece.bpe.model", spSpec{pieces: spPieces}, map[string]string{
			"tokenizer_config.json": `{"tokenizer_class": "XLMRobertaTokenizer"}`, "config.json": `{"vocab_size": 9}`,
		}, func(t *testing.T, v *Vocab) {
			want := []string{"<s>", "<pad>", "</s>", "<unk>", "▁", "▁the", "s", "<sep>", "<mask>"}
			if !slices.Equal(v.Tokens, want) || !slices.Equal(v.Types, []int32{3, 3, 3, 2, 1, 1, 1, 4, 3}) ||
				!slices.Equal(v.Scores, []float32{0, 0, 0, 0, -2, -3, -4.5, 0, 0}) {
				t.Errorf("layout %q %v %v", v.Tokens, v.Types, v.Scores)
			}
			if v.BOS != 0 || v.CLS != 0 || v.PAD != 1 || v.EOS != 2 || v.SEP != 2 || v.UNK != 3 || v.MASK != 8 || !v.AddBOS || !v.AddEOS {
				t.Errorf("specials %+v", v)
			}
		}},
		{"mLUKE: XLM-R's fairseq ids", "sentencepiece.bpe.model", spSpec{pieces: spPieces}, map[string]string{
			"tokenizer_config.json": `{"tokenizer_class": "MLukeTokenizer"}`, "config.json": `{"vocab_size": 9}`,
		}, func(t *testing.T, v *Vocab) {
			if v.Tokens[0] != "<s>" || v.Tokens[3] != "<unk>" || v.Tokens[4] != "▁" || v.MASK != 8 {
				t.Errorf("layout %q, mask %d", v.Tokens, v.MASK)
			}
		}},
		{"T5: extra ids added after the pieces", "spiece.model", spSpec{pieces: spPieces}, map[string]string{
			"tokenizer_config.json": `{"added_tokens_decoder": {"8": {"content": "<extra_id_0>", "special": true}, "7": {"content": "<extra_id_1>", "special": true},
				"2": {"content": "</s>", "special": true}}}`,
		}, func(t *testing.T, v *Vocab) {
			if !slices.Equal(v.Tokens[7:], []string{"<extra_id_1>", "<extra_id_0>"}) || v.Types[7] != TypeControl || v.Scores[8] != 0 {
				t.Errorf("%q %v", v.Tokens, v.Types)
			}
		}},
		{"XLM-R without tokenizer_config.json", "sentencepiece.bpe.model", spSpec{pieces: spPieces}, nil, func(t *testing.T, v *Vocab) {
			if v.Tokens[0] != "<s>" || v.Tokens[len(v.Tokens)-1] != "<mask>" {
				t.Errorf("layout %q", v.Tokens)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{c.file: string(spModelBytes(c.spec))}
			for name, content := range c.extra {
				files[name] = content
			}
			c.check(t, fromFiles(t, files))
		})
	}
}

func TestSentencePieceRefusals(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"word model", map[string]string{"tokenizer.model": string(spModelBytes(spSpec{pieces: spPieces, trainer: map[protowire.Number]int64{fieldTrainerModelType: 3}}))}, "model type 3"},
		{"another fairseq layout", map[string]string{
			"sentencepiece.bpe.model": string(spModelBytes(spSpec{pieces: spPieces})),
			"tokenizer_config.json":   `{"tokenizer_class": "CamembertTokenizer"}`,
		}, "only XLMRobertaTokenizer's layout"},
		{"truncated", map[string]string{"spiece.model": string(spModelBytes(spSpec{pieces: spPieces})[:20])}, "spiece.model"},
	}
	for _, c := range cases {
		_, err := FromDir(writeDir(t, c.files))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}

// The real models in testdata/ (written by SentencePiece's trainer) parse
// with the ids libsentencepiece reports for them.
func TestParseRealSentencePieceModels(t *testing.T) {
	for _, name := range []string{"test_model.model", "test_ja_model.model"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/sentencepiece", name))
		if err != nil {
			t.Fatalf("reference data missing: %v", err)
		}
		m, err := parseSentencePiece(data)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"test_model.model": 1000, "test_ja_model.model": 8000}[name]
		if len(m.pieces) != want || m.modelType != spUnigram || m.normalizer != "nfkc" || len(m.charsmap) == 0 ||
			m.pieces[0].typ != TypeUnknown || m.pieces[1].text != "<s>" || m.pieces[2].typ != TypeControl {
			t.Errorf("%s: %d pieces, type %d, normalizer %q, %d-byte charsmap, first %v", name, len(m.pieces), m.modelType, m.normalizer, len(m.charsmap), m.pieces[:3])
		}
	}
}
