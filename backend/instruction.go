package backend

import (
	"fmt"
	"strings"

	"github.com/rerank-api/rerank-api/convert/keys"
)

// Instruction-following models read a task instruction before the query:
// Qwen3-Embedding and e5-mistral as "Instruct: {task}\nQuery:…", the
// Qwen3-Reranker inside its prompt. The converter records where the
// instruction goes (convert/keys); a request may replace the default.

// instructionPlaceholder marks where an instruction goes in a template.
const instructionPlaceholder = "{instruction}"

// embedPrefix is what goes before each text input of an embedding
// request: with an instruction, the model's instruction query prefix
// filled with it; without, the input type's prefix.
func (m *loadedModel) embedPrefix(t InputType, instruction string) (string, error) {
	if instruction == "" {
		return m.prefix(t)
	}
	if t == InputDocument {
		return "", fmt.Errorf("%w: an instruction describes the query's task; documents take none (leave out input_type or the instruction)", ErrInvalidInput)
	}
	template := m.model.Meta(keys.InstructionQueryPrefix)
	if template == "" {
		return "", fmt.Errorf("%w: %q takes no instruction: its GGUF has no instruction template (%s); use input_type for its prefixes",
			ErrInvalidInput, m.entry.Name, keys.InstructionQueryPrefix)
	}
	return strings.ReplaceAll(template, instructionPlaceholder, instruction), nil
}

// checkDimensions refuses more dimensions than the model has, and a
// Matryoshka truncation the model was not trained for: the catalog says it has no Matryoshka representation
// (its first components are not an embedding of their own), or asks for
// fewer components than it was trained down to. A model whose entry says
// nothing keeps today's behaviour, truncation on request.
func (m *loadedModel) checkDimensions(n int) error {
	switch e := m.entry; {
	case n > m.width:
		return fmt.Errorf("%w: dimensions %d is larger than the model's %d", ErrInvalidInput, n, m.width)
	case n <= 0 || n == m.width:
		return nil
	case e.Matryoshka != nil && !*e.Matryoshka:
		return fmt.Errorf("%w: %q was not trained to embed in fewer dimensions than its %d (no Matryoshka representation learning); leave out dimensions",
			ErrInvalidInput, e.Name, m.width)
	case n < e.MinDimensions:
		return fmt.Errorf("%w: %q embeds in %d to %d dimensions, not %d", ErrInvalidInput, e.Name, e.MinDimensions, m.width, n)
	}
	return nil
}
