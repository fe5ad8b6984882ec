package keys

import "strings"

// jina-embeddings-v3 computes one embedding per task (retrieval.query,
// retrieval.passage, ...) through a LoRA adapter per task. The adapters
// travel as llama.cpp adapter GGUFs beside the model's (general.type
// "adapter", adapter.lora.task_name, adapter.lora.prompt_prefix), which
// llama.cpp applies per context at compute time; the model's GGUF lists
// them so the engine knows the tasks without opening each file.
const (
	// LoRATasks ([]string): the tasks, each with an adapter file named by
	// AdapterFile.
	LoRATasks = "rerankapi.lora.tasks"
	// LoRAPrompts ([]string): each task's instruction, the text put before
	// every input of that task (task_instructions), in LoRATasks' order.
	LoRAPrompts = "rerankapi.lora.prompts"
	// LoRAQueryTask, LoRADocumentTask, LoRAClassificationTask and
	// LoRAClusteringTask (string): the tasks a request's query, document,
	// classification and clustering input types select.
	LoRAQueryTask          = "rerankapi.lora.query_task"
	LoRADocumentTask       = "rerankapi.lora.document_task"
	LoRAClassificationTask = "rerankapi.lora.classification_task"
	LoRAClusteringTask     = "rerankapi.lora.clustering_task"
)

// AdapterFile is where the adapter of task lies for the model GGUF at
// modelPath: jina-embeddings-v3.gguf → jina-embeddings-v3.lora-
// retrieval.query.gguf. The converter writes it there, the engine reads it
// from there.
func AdapterFile(modelPath, task string) string {
	return strings.TrimSuffix(modelPath, ".gguf") + ".lora-" + task + ".gguf"
}
