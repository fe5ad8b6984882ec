package backend

import (
	"fmt"
	"math"
	"strconv"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/convert/segments"
)

// pairStyle is how a cross-encoder's tokenizer joins a query and a document,
// as Hugging Face's tokenizers do for a text pair.
type pairStyle int

const (
	// bertPair is BertTokenizer's "[CLS] q [SEP] d [SEP]", token type 0 up
	// to the first [SEP] and 1 after it.
	bertPair pairStyle = iota
	// robertaPair is XLMRobertaTokenizer's (and RobertaTokenizer's)
	// "<s> q </s></s> d </s>", all token type 0.
	robertaPair
	// promptPair is a decoder reranker's chat prompt around the pair
	// (Qwen3-Reranker; pairs_prompt.go).
	promptPair
	// templatePair is the pair template the converter read from the
	// checkpoint's tokenizer.json (keys.PairTemplate), such as ruri-v3's
	// "<s> q </s> <s> d </s>"; pieces of token type 1 are shifted by
	// typeOffset as bertPair's segment B is.
	templatePair
)

// pairFormat turns token ids into the pair sequences one rerank model reads.
// It is fixed when the model loads.
type pairFormat struct {
	style    pairStyle
	cls, sep int32
	// typeOffset is added to segment-B ids (convert/segments); 0 when the
	// GGUF has no segment-B rows or the model needs none.
	typeOffset int32
	// approximate: the model has two token types but no segment-B rows, so
	// the document half is embedded as type 0 and scores are off.
	approximate bool
	docPrefix   []int32 // the catalog's document prefix, tokenized
	template    []keys.PairPiece
	// label is the output whose probability is the score when the head has
	// several; outputs is the head's width.
	label, outputs int
	// promptPair's prompt: the prefix and suffix ids, the pair template
	// and the default instruction; probabilities says the head's outputs
	// are probabilities already (pairs_prompt.go).
	prefix, suffix            []int32
	pairTemplate, instruction string
	probabilities             bool
}

// newPairFormat reads what pairing needs from the loaded model: the pair
// template its GGUF records or else the tokenizer family (WordPiece means
// BERT; SentencePiece and byte-level BPE mean the RoBERTa template), the
// special ids, the segment-B offset and the relevant label.
func newPairFormat(model Model, tok textTokenizer, entry catalog.Entry) (*pairFormat, error) {
	info := model.Info()
	f := &pairFormat{style: robertaPair, cls: info.BOS, sep: info.SEP, outputs: info.ClassOutputs}
	f.label = f.outputs - 1
	switch {
	case model.Meta(keys.RerankPair) != "":
		var err error
		if f, err = newPromptPairFormat(model, f); err != nil {
			return nil, err
		}
	case info.Arch == "qwen3":
		// llama.cpp's own converter writes the prompt as one chat
		// template, which does not say where its turns end and the
		// user's text begins.
		return nil, fmt.Errorf("this qwen3 reranker's GGUF has no %s (its prompt in parts); convert the checkpoint with rerank-api convert", keys.RerankPair)
	case model.Meta(keys.PairTemplate) != "":
		if err := f.readTemplate(model.Meta(keys.PairTemplate), info.VocabSize); err != nil {
			return nil, err
		}
	}
	if f.style == robertaPair && model.Meta("tokenizer.ggml.model") == "bert" {
		f.style = bertPair
	}
	if f.sep < 0 {
		f.sep = info.EOS // XLM-R GGUFs may name </s> only as eos
	}
	if (f.style == bertPair || f.style == robertaPair) && (f.cls < 0 || f.sep < 0) {
		return nil, fmt.Errorf("the vocabulary has no [CLS]/<s> (bos) or [SEP]/</s> (sep, eos) token to build pairs with")
	}
	if f.style == bertPair || f.style == templatePair && f.hasSegmentB() {
		if v, err := strconv.Atoi(model.Meta(segments.OffsetKey)); err == nil && v > 0 && 2*v <= info.VocabSize {
			f.typeOffset = int32(v)
		} else if types, _ := strconv.Atoi(model.Meta("tokenizer.ggml.token_type_count")); types >= 2 {
			f.approximate = true
		}
	}
	if entry.RelevantLabel != nil {
		f.label = *entry.RelevantLabel
	}
	if f.outputs > 1 && f.label >= f.outputs {
		return nil, fmt.Errorf("the catalog's relevant_label %d is not one of the model's %d outputs", f.label, f.outputs)
	}
	if entry.DocumentPrefix != "" {
		ids, err := tok.Encode(entry.DocumentPrefix, false)
		if err != nil {
			return nil, fmt.Errorf("tokenizing the document prefix: %w", err)
		}
		f.docPrefix = ids
	}
	return f, nil
}

// readTemplate takes the GGUF's pair template (keys.PairTemplate).
func (f *pairFormat) readTemplate(value string, vocabSize int) error {
	pieces, err := keys.ParsePairTemplate(value)
	if err != nil {
		return fmt.Errorf("the GGUF's %s: %w; reconvert the model with rerank-api convert", keys.PairTemplate, err)
	}
	for _, p := range pieces {
		if p.Sequence == "" && int(p.ID) >= vocabSize {
			return fmt.Errorf("the GGUF's %s %q names token %d, past the vocabulary's %d; reconvert the model with rerank-api convert", keys.PairTemplate, value, p.ID, vocabSize)
		}
		if p.TypeID > 1 {
			return fmt.Errorf("the GGUF's %s %q uses token type %d; only types 0 and 1 can be embedded", keys.PairTemplate, value, p.TypeID)
		}
	}
	f.style, f.template = templatePair, pieces
	return nil
}

// hasSegmentB reports whether the template gives any piece token type 1.
func (f *pairFormat) hasSegmentB() bool {
	for _, p := range f.template {
		if p.TypeID > 0 {
			return true
		}
	}
	return false
}

// specials is the number of special tokens a pair adds.
func (f *pairFormat) specials() int {
	switch f.style {
	case bertPair:
		return 3
	case promptPair:
		return len(f.prefix) + len(f.suffix)
	case templatePair:
		n := 0
		for _, p := range f.template {
			if p.Sequence == "" {
				n++
			}
		}
		return n
	}
	return 4
}

// pair builds one sequence from a query and a document chunk, both without
// specials. Under bertPair the document and its closing [SEP] are segment B
// (under templatePair, the pieces of type 1): their ids are shifted by
// typeOffset so llama.cpp embeds them as type 1.
func (f *pairFormat) pair(query, doc []int32) []int32 {
	seq := make([]int32, 0, len(query)+len(f.docPrefix)+len(doc)+f.specials())
	switch f.style {
	case promptPair:
		seq = append(append(seq, f.prefix...), query...)
		return append(append(append(seq, f.docPrefix...), doc...), f.suffix...)
	case templatePair:
		for _, p := range f.template {
			shift := int32(0)
			if p.TypeID == 1 {
				shift = f.typeOffset
			}
			parts := [][]int32{{p.ID}}
			switch p.Sequence {
			case "A":
				parts = [][]int32{query}
			case "B":
				parts = [][]int32{f.docPrefix, doc}
			}
			for _, part := range parts {
				for _, id := range part {
					seq = append(seq, id+shift)
				}
			}
		}
		return seq
	}
	seq = append(seq, f.cls)
	seq = append(seq, query...)
	seq = append(seq, f.sep)
	if f.style == robertaPair {
		return append(append(append(append(seq, f.sep), f.docPrefix...), doc...), f.sep)
	}
	for _, part := range [][]int32{f.docPrefix, doc, {f.sep}} {
		for _, id := range part {
			seq = append(seq, id+f.typeOffset)
		}
	}
	return seq
}

// span is a half-open range [start, end) of document tokens.
type span struct{ start, end int }

// chunkOverlapDivisor sets how much consecutive chunks share: an eighth of
// a chunk, so a passage cut by a chunk boundary still appears whole in one
// of the two chunks when it is shorter than that, at a cost of ~14% more
// tokens than cutting without overlap.
const chunkOverlapDivisor = 8

// chunkSpans splits n document tokens into windows of at most size tokens
// that overlap by size/8, at most maxChunks of them (0: no limit). The last
// window ends at the document's end and is full length, rather than a short
// tail whose score would rest on a few tokens.
func chunkSpans(n, size, maxChunks int) []span {
	if n <= size {
		return []span{{0, n}}
	}
	stride := size - size/chunkOverlapDivisor
	var out []span
	for start := 0; maxChunks <= 0 || len(out) < maxChunks; start += stride {
		if start+size >= n {
			return append(out, span{n - size, n})
		}
		out = append(out, span{start, start + size})
	}
	return out
}

// relevance turns one sequence's head outputs into its score: the sigmoid
// of a single logit (what sentence-transformers' CrossEncoder and TEI
// return), or the softmax probability of label among several. raw is the
// logit itself (of label), which RawScores returns.
func relevance(logits []float32, label int) (prob, raw float64) {
	if len(logits) == 1 {
		raw = float64(logits[0])
		return sigmoid(raw), raw
	}
	m := math.Inf(-1)
	for _, l := range logits {
		m = max(m, float64(l))
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l) - m)
	}
	raw = float64(logits[label])
	return math.Exp(raw-m) / sum, raw
}

// sigmoid without overflow: exp is only taken of non-positive numbers.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
