package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// A cross-encoder reads a query and a document joined as its tokenizer's
// post-processor joins a text pair, and models differ: BERT's
// "[CLS] A [SEP] B [SEP]", RoBERTa's "<s> A </s></s> B </s>", ruri-v3's
// (modernbert-ja's) "<s> A </s> <s> B </s>". The converter records the
// pair half of tokenizer.json's post_processor (keys.PairTemplate), so the
// engine builds each pair as the checkpoint's own tokenizer would.

// postProcessor is the part of a tokenizer.json post_processor that says
// how a pair is joined.
type postProcessor struct {
	Type string `json:"type"`
	// TemplateProcessing: each piece is {"SpecialToken": {"id", "type_id"}}
	// or {"Sequence": {"id": "A"|"B", "type_id"}}.
	Pair          []map[string]templatePiece `json:"pair"`
	SpecialTokens map[string]struct {
		IDs    []int32  `json:"ids"`
		Tokens []string `json:"tokens"`
	} `json:"special_tokens"`
	// RobertaProcessing and BertProcessing: [token, id].
	Sep        []any           `json:"sep"`
	CLS        []any           `json:"cls"`
	Processors []postProcessor `json:"processors"` // Sequence
}

type templatePiece struct {
	ID     string `json:"id"`
	TypeID int    `json:"type_id"`
}

// readPairTemplate reads the pair template of dir's tokenizer.json, with
// each special token's id checked against the vocabulary tokens. It
// returns nil, nil when the tokenizer declares no pair (no tokenizer.json,
// no post-processor, or one such as ByteLevel that adds no tokens).
func readPairTemplate(dir string, tokens []string) ([]keys.PairPiece, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var tj struct {
		PostProcessor *postProcessor `json:"post_processor"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if tj.PostProcessor == nil {
		return nil, nil
	}
	pieces, err := tj.PostProcessor.pairTemplate(tokens)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json post_processor: %w", err)
	}
	return pieces, nil
}

// pairTemplate is p's pair as pieces; a Sequence of processors yields
// the template of the one that adds special tokens.
func (p *postProcessor) pairTemplate(tokens []string) ([]keys.PairPiece, error) {
	special := func(name string, id int32, typeID int) (keys.PairPiece, error) {
		if id < 0 || int(id) >= len(tokens) || tokens[id] != name {
			return keys.PairPiece{}, fmt.Errorf("special token %q has id %d, which the vocabulary does not give it", name, id)
		}
		return keys.PairPiece{ID: id, TypeID: typeID}, nil
	}
	seq := func(s string, typeID int) keys.PairPiece { return keys.PairPiece{Sequence: s, TypeID: typeID} }
	switch p.Type {
	case "TemplateProcessing":
		var out []keys.PairPiece
		for _, item := range p.Pair {
			if s, ok := item["Sequence"]; ok {
				out = append(out, seq(s.ID, s.TypeID))
				continue
			}
			s, ok := item["SpecialToken"]
			st, known := p.SpecialTokens[s.ID]
			if !ok || !known || len(st.IDs) == 0 || len(st.IDs) != len(st.Tokens) {
				return nil, fmt.Errorf("pair piece %v is neither a sequence nor a special token it defines", item)
			}
			for i, id := range st.IDs {
				piece, err := special(st.Tokens[i], id, s.TypeID)
				if err != nil {
					return nil, err
				}
				out = append(out, piece)
			}
		}
		if len(out) == 0 {
			return nil, nil // a template without a pair: tokenizers' default is the two texts concatenated
		}
		// The engine builds two segments (token types 0 and 1), as BERT's
		// token-type table has two rows; it refuses a template with more.
		for _, piece := range out {
			if piece.TypeID < 0 || piece.TypeID > 1 {
				return nil, fmt.Errorf("pair template gives token type %d; only 0 and 1 are supported", piece.TypeID)
			}
		}
		if _, err := keys.ParsePairTemplate(keys.FormatPairTemplate(out)); err != nil {
			return nil, err
		}
		return out, nil
	case "RobertaProcessing", "BertProcessing":
		clsName, clsID, ok1 := tokenAndID(p.CLS)
		sepName, sepID, ok2 := tokenAndID(p.Sep)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s without [token, id] cls and sep", p.Type)
		}
		cls, err := special(clsName, clsID, 0)
		if err != nil {
			return nil, err
		}
		sep, err := special(sepName, sepID, 0)
		if err != nil {
			return nil, err
		}
		if p.Type == "RobertaProcessing" {
			// tokenizers' RobertaProcessing gives every token type 0.
			return []keys.PairPiece{cls, seq("A", 0), sep, sep, seq("B", 0), sep}, nil
		}
		sepB := sep
		sepB.TypeID = 1
		return []keys.PairPiece{cls, seq("A", 0), sep, seq("B", 1), sepB}, nil
	case "Sequence":
		for i := range p.Processors {
			if pieces, err := p.Processors[i].pairTemplate(tokens); err != nil || pieces != nil {
				return pieces, err
			}
		}
	}
	return nil, nil
}

// tokenAndID reads RobertaProcessing's and BertProcessing's ["</s>", 2].
func tokenAndID(v []any) (string, int32, bool) {
	if len(v) != 2 {
		return "", 0, false
	}
	name, ok := v[0].(string)
	id, isNum := v[1].(float64)
	if !ok || !isNum || id != float64(int32(id)) {
		return "", 0, false
	}
	return name, int32(id), true
}

// writePairTemplate records the checkpoint tokenizer's pair template
// (keys.PairTemplate). A template the converter cannot read is left out
// with a warning: the engine then builds pairs as before.
func (j *job) writePairTemplate(w *gguf.Writer, tokens []string) {
	pieces, err := readPairTemplate(j.dir, tokens)
	if err != nil {
		j.warn("%v; pairs are built in the BERT or RoBERTa layout the vocabulary implies — check the model card", err)
		return
	}
	if pieces != nil {
		w.AddKV(keys.PairTemplate, keys.FormatPairTemplate(pieces))
	}
}
