package backend

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// fakeWithMeta is the fake runtime's model with the given GGUF keys.
func fakeWithMeta(kv map[string]any) fakeModel {
	md := &gguf.Metadata{}
	for k, v := range kv {
		md.KVs = append(md.KVs, gguf.KV{Key: k, Value: v})
	}
	return fakeModel{ggufHeader{md}, &fakeRuntime{}}
}

// qwen3Model is the fake model as a qwen3 reranker with a yes/no head.
type qwen3Model struct{ fakeModel }

func (m qwen3Model) Info() ModelInfo {
	info := m.fakeModel.Info()
	info.Arch, info.ClassOutputs = "qwen3", 2
	return info
}

var qwen3RerankMeta = map[string]any{
	keys.RerankPrefix: "<sys> judge <user>",
	keys.RerankPair:   "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}",
	keys.RerankSuffix: "<end> <assistant>",
	keys.Instruction:  "find passages",
}

func TestPromptPair(t *testing.T) {
	f, err := newPairFormat(fakeWithMeta(qwen3RerankMeta), llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{})
	if err != nil {
		t.Fatal(err)
	}
	// The fake tokenizes each word as 10 + its length.
	if f.style != promptPair || !slices.Equal(f.prefix, []int32{15, 15, 16}) || !slices.Equal(f.suffix, []int32{15, 21}) {
		t.Fatalf("format %+v", f)
	}
	if f.probabilities {
		t.Error("a bert-arch head read as probabilities")
	}
	if q, err := newPairFormat(qwen3Model{fakeWithMeta(qwen3RerankMeta)}, llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{}); err != nil || !q.probabilities || q.label != 0 {
		t.Errorf("qwen3 head: %+v, %v; want probabilities with label 0 (yes)", q, err)
	}
	if got := f.pair([]int32{30}, []int32{40, 41}); !slices.Equal(got, []int32{15, 15, 16, 30, 40, 41, 15, 21}) || len(got) != 3+f.specials() {
		t.Errorf("pair %v", got)
	}
	// The cut falls before the space that leads the document, which the
	// document's text takes.
	for _, c := range []struct{ instruction, want string }{
		{"", "<Instruct>: find passages\n<Query>: q {query}\n<Document>:"},
		{"my {query} task", "<Instruct>: my {query} task\n<Query>: q {query}\n<Document>:"},
	} {
		text, lead, err := f.queryText("q ", "{query}", c.instruction)
		if err != nil || text != c.want || lead != " " {
			t.Errorf("instruction %q: %q, lead %q, %v", c.instruction, text, lead, err)
		}
	}
	// A cross-encoder without a prompt takes no instruction.
	bert := &pairFormat{style: bertPair}
	if _, _, err := bert.queryText("", "q", "task"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("instruction to a cross-encoder: %v", err)
	}
	if text, lead, err := bert.queryText("query: ", "q", ""); text != "query: q" || lead != "" || err != nil {
		t.Errorf("cross-encoder query: %q %q %v", text, lead, err)
	}
	// A qwen3 GGUF from llama.cpp's converter has only a chat template.
	upstream := qwen3Model{fakeWithMeta(map[string]any{"tokenizer.chat_template.rerank": "<s>{query}{document}"})}
	if _, err := newPairFormat(upstream, llamaTokenizer{upstream}, catalog.Entry{}); err == nil {
		t.Error("a qwen3 reranker without its prompt in parts was accepted")
	}
	bad := map[string]any{keys.RerankPair: "{document} then {query}"}
	if _, err := newPairFormat(fakeWithMeta(bad), llamaTokenizer{fakeWithMeta(nil)}, catalog.Entry{}); err == nil {
		t.Error("a pair template that does not end with {document} was accepted")
	}
}

// A qwen3 head's outputs are softmax([yes, no]) already: the score is the
// first, the raw score its logit, yes - no.
func TestPromptPairScore(t *testing.T) {
	f := &pairFormat{probabilities: true, label: 0}
	prob, raw := f.score([]float32{0.8, 0.2})
	if math.Abs(prob-0.8) > 1e-7 || math.Abs(raw-math.Log(4)) > 1e-6 {
		t.Errorf("score %v, raw %v; want 0.8 and ln 4", prob, raw)
	}
	if _, raw := f.score([]float32{1, 0}); math.IsInf(raw, 0) || raw < 100 {
		t.Errorf("certain yes: raw %v, want large and finite", raw)
	}
	// Logits (every other head) keep relevance's sigmoid.
	if prob, raw := (&pairFormat{}).score([]float32{0}); prob != 0.5 || raw != 0 {
		t.Errorf("logit head: %v %v", prob, raw)
	}
}
