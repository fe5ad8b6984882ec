package vocab

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// spModel is what this package reads of a SentencePiece ModelProto
// (sentencepiece_model.proto). Fields absent from the file keep the
// proto2 defaults set by parseSentencePiece.
type spModel struct {
	pieces []spPiece

	// TrainerSpec.
	modelType                  int // 1 unigram, 2 BPE, 3 word, 4 char
	byteFallback               bool
	treatWhitespaceAsSuffix    bool
	unkID, bosID, eosID, padID int32

	// NormalizerSpec.
	normalizer             string // name, e.g. "nmt_nfkc" or "identity"
	charsmap               []byte
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
}

type spPiece struct {
	text  string
	score float32
	typ   int32 // SentencePiece.Type: the same numbers as llama.cpp's token types
}

const (
	spUnigram = 1
	spBPE     = 2
)

// Field numbers of sentencepiece_model.proto.
const (
	fieldModelPieces     = 1
	fieldModelTrainer    = 2
	fieldModelNormalizer = 3

	fieldPieceText  = 1
	fieldPieceScore = 2
	fieldPieceType  = 3

	fieldTrainerModelType      = 3
	fieldTrainerWhitespaceSufx = 24
	fieldTrainerByteFallback   = 35
	fieldTrainerUnkID          = 40
	fieldTrainerBosID          = 41
	fieldTrainerEosID          = 42
	fieldTrainerPadID          = 43

	fieldNormName            = 1
	fieldNormCharsmap        = 2
	fieldNormAddDummyPrefix  = 3
	fieldNormRemoveExtraWS   = 4
	fieldNormEscapeSpaceMark = 5
)

// parseSentencePiece decodes a .model file.
func parseSentencePiece(data []byte) (*spModel, error) {
	m := &spModel{
		modelType: spUnigram, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
	}
	err := eachField(data, func(num protowire.Number, v fieldValue) error {
		switch num {
		case fieldModelPieces:
			p := spPiece{typ: TypeNormal}
			err := eachField(v.bytes, func(num protowire.Number, v fieldValue) error {
				switch num {
				case fieldPieceText:
					p.text = string(v.bytes)
				case fieldPieceScore:
					p.score = math.Float32frombits(uint32(v.num))
				case fieldPieceType:
					p.typ = int32(v.num)
				}
				return nil
			})
			m.pieces = append(m.pieces, p)
			return err
		case fieldModelTrainer:
			return eachField(v.bytes, func(num protowire.Number, v fieldValue) error {
				switch num {
				case fieldTrainerModelType:
					m.modelType = int(v.num)
				case fieldTrainerWhitespaceSufx:
					m.treatWhitespaceAsSuffix = v.num != 0
				case fieldTrainerByteFallback:
					m.byteFallback = v.num != 0
				case fieldTrainerUnkID:
					m.unkID = int32(v.num)
				case fieldTrainerBosID:
					m.bosID = int32(v.num)
				case fieldTrainerEosID:
					m.eosID = int32(v.num)
				case fieldTrainerPadID:
					m.padID = int32(v.num)
				}
				return nil
			})
		case fieldModelNormalizer:
			return eachField(v.bytes, func(num protowire.Number, v fieldValue) error {
				switch num {
				case fieldNormName:
					m.normalizer = string(v.bytes)
				case fieldNormCharsmap:
					m.charsmap = v.bytes
				case fieldNormAddDummyPrefix:
					m.addDummyPrefix = v.num != 0
				case fieldNormRemoveExtraWS:
					m.removeExtraWhitespaces = v.num != 0
				case fieldNormEscapeSpaceMark:
					m.escapeWhitespaces = v.num != 0
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("no pieces: not a SentencePiece model")
	}
	return m, nil
}

// fieldValue is one decoded protobuf field: varints and fixed-width
// numbers in num, length-delimited payloads in bytes.
type fieldValue struct {
	num   uint64
	bytes []byte
}

// eachField calls fn for every field of a message, skipping groups.
func eachField(b []byte, fn func(protowire.Number, fieldValue) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad protobuf tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v fieldValue
		switch typ {
		case protowire.VarintType:
			v.num, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v.num = uint64(x)
		case protowire.Fixed64Type:
			v.num, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				b = b[n:]
				continue
			}
		}
		if n < 0 {
			return fmt.Errorf("bad protobuf field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}

func fromSentencePieceFile(path string, cfg *hfConfig) (*Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vocab: %w", err)
	}
	m, err := parseSentencePiece(data)
	if err != nil {
		return nil, fmt.Errorf("vocab: %s: %w", path, err)
	}
	v, err := m.vocab(filepath.Base(path), cfg)
	if err != nil {
		return nil, fmt.Errorf("vocab: %s: %w", path, err)
	}
	return v, nil
}

// vocab converts the model as convert_hf_to_gguf.py does: unigram models
// become UGM ("t5") vocabularies, BPE models SPM ("llama") ones. A
// sentencepiece.bpe.model belongs to a fairseq model whose ids differ from
// the SentencePiece ones; XLM-RoBERTa's layout is rebuilt, others refused.
func (m *spModel) vocab(file string, cfg *hfConfig) (*Vocab, error) {
	var v *Vocab
	switch m.modelType {
	case spUnigram:
		v = noSpecials(ModelUGM)
		// T5's convention, which convert_hf_to_gguf.py writes for every
		// unigram model: </s> after the text, nothing before.
		v.AddEOS = true
	case spBPE:
		v = noSpecials(ModelSPM)
		v.AddBOS = true
	default:
		return nil, fmt.Errorf("SentencePiece model type %d is not supported (want unigram or BPE)", m.modelType)
	}
	fairseq := file == "sentencepiece.bpe.model"
	// MLukeTokenizer (luke-japanese, sentence-luke, GLuCoSE) keeps
	// XLMRobertaTokenizer's fairseq ids for words; its entity vocabulary is
	// separate and not converted.
	if fairseq && !strings.HasPrefix(cfg.class, "XLMRoberta") && cfg.class != "MLukeTokenizer" && cfg.class != "" {
		return nil, fmt.Errorf("%s renumbers sentencepiece.bpe.model's ids in its own way; only XLMRobertaTokenizer's layout is known: convert from its tokenizer.json", cfg.class)
	}
	if fairseq && len(m.pieces) < 3 {
		return nil, fmt.Errorf("%d pieces: an XLM-RoBERTa model starts with <unk> <s> </s>", len(m.pieces))
	}
	for _, p := range m.pieces {
		v.Tokens = append(v.Tokens, p.text)
		v.Scores = append(v.Scores, p.score)
		v.Types = append(v.Types, p.typ)
	}
	id := func(i int32) int32 {
		if i < 0 || int(i) >= len(v.Tokens) {
			return -1
		}
		return i
	}
	v.UNK, v.BOS, v.EOS, v.PAD = id(m.unkID), id(m.bosID), id(m.eosID), id(m.padID)
	if fairseq {
		v.xlmRobertaLayout()
	}
	if err := v.appendAdded(cfg.added); err != nil {
		return nil, err
	}
	v.applyAdded(cfg.added)
	if !fairseq {
		v.setSpecials(cfg, map[string]string{"mask_token": "<mask>"})
	}
	if cfg.addBOS != nil {
		v.AddBOS = *cfg.addBOS && v.BOS >= 0
	}
	if cfg.addEOS != nil {
		v.AddEOS = *cfg.addEOS && v.EOS >= 0
	}
	v.AddSpacePrefix = m.addDummyPrefix
	v.RemoveExtraWhitespaces = m.removeExtraWhitespaces
	v.PrecompiledCharsmap = m.charsmap
	m.warnUnsupported(v)
	return v, nil
}

// xlmRobertaLayout renumbers the pieces as transformers'
// XLMRobertaTokenizer does, following fairseq: <s> <pad> </s> <unk> take ids
// 0-3, SentencePiece piece i (from 3 on, after its own <unk> <s> </s>)
// takes id i+1, and <mask> comes last.
func (v *Vocab) xlmRobertaLayout() {
	n := len(v.Tokens)
	tokens := append([]string{"<s>", "<pad>", "</s>", "<unk>"}, v.Tokens[3:]...)
	scores := append([]float32{0, 0, 0, 0}, v.Scores[3:]...)
	types := append([]int32{TypeControl, TypeControl, TypeControl, TypeUnknown}, v.Types[3:]...)
	v.Tokens = append(tokens, "<mask>")
	v.Scores = append(scores, 0)
	v.Types = append(types, TypeControl)
	v.BOS, v.CLS, v.PAD, v.EOS, v.SEP, v.UNK, v.MASK = 0, 0, 1, 2, 2, 3, int32(n+1)
	v.AddBOS, v.AddEOS = true, true
}

// warnUnsupported notes normalizer settings llama.cpp cannot express.
func (m *spModel) warnUnsupported(v *Vocab) {
	if m.treatWhitespaceAsSuffix {
		v.warnf("treat_whitespace_as_suffix is set, but GGUF has no key for it: llama.cpp puts \"▁\" before words, not after")
	}
	if !m.escapeWhitespaces {
		v.warnf("escape_whitespaces is off, but GGUF has no key for it: llama.cpp turns spaces into \"▁\"")
	}
	if len(m.charsmap) == 0 && m.normalizer != "" && m.normalizer != "identity" {
		v.warnf("normalizer %q has no precompiled charsmap: llama.cpp will not normalize text", m.normalizer)
	}
	if v.Model == ModelUGM && m.byteFallback {
		v.warnf(UGMByteFallbackWarning)
	}
	if v.Model == ModelSPM {
		if len(m.charsmap) > 0 {
			v.warnf("llama.cpp's SPM tokenizer ignores the %q normalizer", m.normalizer)
		}
		if m.removeExtraWhitespaces {
			v.warnf("llama.cpp's SPM tokenizer keeps extra whitespace that this model removes")
		}
	}
}
