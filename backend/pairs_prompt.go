package backend

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/rerank-api/rerank-api/convert/keys"
)

// A decoder reranker (Qwen3-Reranker) reads each pair inside chat turns:
// a prefix (system turn, start of the user turn), the pair formatted with
// the task instruction, and a suffix (the start of the answer), as the
// converter records them (convert/keys RerankPrefix, RerankPair,
// RerankSuffix). Its model card tokenizes the prefix and suffix with their
// special tokens and the formatted pair as plain text; so does promptPair,
// with the user's query and document never read for special tokens.
//
// The formatted pair is tokenized in two parts, the text up to the
// document and the document, so a long document can be chunked. The cut
// is made before the whitespace that precedes the document
// ("<Document>:" | " text"): Qwen2's pre-tokenizer splits there whatever
// the text, so the two parts tokenize exactly as the whole would.

// newPromptPairFormat reads the prompt of a decoder reranker. llama.cpp's
// rank pooling returns softmax([yes, no]) for qwen3 (llama-graph.cpp), so
// the outputs are probabilities and the first is the score.
func newPromptPairFormat(model Model, f *pairFormat) (*pairFormat, error) {
	f.style = promptPair
	f.pairTemplate = model.Meta(keys.RerankPair)
	f.instruction = model.Meta(keys.Instruction)
	if !strings.Contains(f.pairTemplate, "{query}") || !strings.HasSuffix(f.pairTemplate, "{document}") {
		return nil, fmt.Errorf("the GGUF's %s %q must contain {query} and end with {document}", keys.RerankPair, f.pairTemplate)
	}
	var err error
	if f.prefix, err = model.Tokenize(model.Meta(keys.RerankPrefix), false, true); err != nil {
		return nil, fmt.Errorf("tokenizing the rerank prompt's prefix: %w", err)
	}
	if f.suffix, err = model.Tokenize(model.Meta(keys.RerankSuffix), false, true); err != nil {
		return nil, fmt.Errorf("tokenizing the rerank prompt's suffix: %w", err)
	}
	if model.Info().Arch == "qwen3" && f.outputs == 2 {
		f.probabilities, f.label = true, 0 // "yes", the first of the labels the converter writes
	}
	return f, nil
}

// queryText is the text a pair's query part is tokenized from, and the
// lead the document's text takes before it: for promptPair the formatted
// pair up to the document, for the other styles the query with the
// model's prefix. Only promptPair models take an instruction.
func (f *pairFormat) queryText(queryPrefix, query, instruction string) (text, lead string, err error) {
	if f.style != promptPair {
		if instruction != "" {
			return "", "", fmt.Errorf("%w: this reranker takes no instruction (only decoder rerankers with a prompt, such as Qwen3-Reranker, do)", ErrInvalidInput)
		}
		return queryPrefix + query, "", nil
	}
	if instruction == "" {
		instruction = f.instruction
	}
	text = strings.TrimSuffix(f.pairTemplate, "{document}")
	text = strings.NewReplacer(instructionPlaceholder, instruction, "{query}", queryPrefix+query).Replace(text)
	trimmed := strings.TrimRightFunc(text, unicode.IsSpace)
	return trimmed, text[len(trimmed):], nil
}

// score turns one sequence's head outputs into its relevance and the raw
// score RawScores returns. Probabilities (a qwen3 head) are the score
// already; their raw score is the logit of the probability, which for
// Qwen3-Reranker is the "yes" minus the "no" logit.
func (f *pairFormat) score(outputs []float32) (prob, raw float64) {
	if !f.probabilities {
		return relevance(outputs, f.label)
	}
	// A probability rounded to 0 or 1 in f32 would make the logit
	// infinite; the smallest f32 bounds it at about ±207.
	const tiny = math.SmallestNonzeroFloat32
	prob = float64(outputs[f.label])
	raw = math.Log(max(prob, tiny)) - math.Log(max(1-prob, tiny))
	return prob, raw
}
