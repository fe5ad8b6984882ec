package convert

import (
	"strings"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// The prompts of Qwen3-Reranker's model card, which its checkpoint does
// not carry: a system turn that asks for "yes" or "no", the user turn with
// the instruction, query and document, and the start of an assistant turn
// whose thinking is already closed, so the next token is the answer.
const (
	qwen3RerankPrefix = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. " +
		"Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"
	qwen3RerankPair        = "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
	qwen3RerankSuffix      = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
	qwen3RerankInstruction = "Given a web search query, retrieve relevant passages that answer the query"
)

// writeQwen3RerankPrompts records the reranker's prompts under our keys,
// and as llama.cpp's own converter does (tokenizer.chat_template.rerank,
// the instruction filled in), so llama-server reranks with the file too.
func writeQwen3RerankPrompts(w *gguf.Writer) {
	w.AddKV(keys.RerankPrefix, qwen3RerankPrefix)
	w.AddKV(keys.RerankPair, qwen3RerankPair)
	w.AddKV(keys.RerankSuffix, qwen3RerankSuffix)
	w.AddKV(keys.Instruction, qwen3RerankInstruction)
	pair := strings.ReplaceAll(qwen3RerankPair, "{instruction}", qwen3RerankInstruction)
	w.AddKV("tokenizer.chat_template.rerank", qwen3RerankPrefix+pair+qwen3RerankSuffix)
}

// writeInstructionPrefix records an embedder's instruction template when
// its query prompt has the form its model card builds with
// get_detailed_instruct, "Instruct: {task}\nQuery:" followed by nothing
// (Qwen3-Embedding) or a space (e5-mistral): the text between
// "Instruct: " and "\nQuery:" is the default instruction, which a
// request's own replaces.
func writeInstructionPrefix(w *gguf.Writer, queryPrompt string) {
	const lead, query = "Instruct: ", "\nQuery:"
	end := strings.LastIndex(queryPrompt, query)
	if !strings.HasPrefix(queryPrompt, lead) || end < len(lead) {
		return
	}
	w.AddKV(keys.Instruction, queryPrompt[len(lead):end])
	w.AddKV(keys.InstructionQueryPrefix, lead+"{instruction}"+queryPrompt[end:])
}
