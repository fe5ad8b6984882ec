package backend

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// modelMeta reads a GGUF's metadata values as strings, "" when absent: a
// loaded Model, or a ggufHeader read before anything is loaded.
type modelMeta interface {
	Meta(key string) string
}

// ggufHeader is a GGUF file's metadata read without loading the model, so
// Size can decide what Load will allocate before the pool makes room for it.
type ggufHeader struct{ *gguf.Metadata }

// Meta formats scalars as llama_model_meta_val_str does for the keys
// backend reads (decimal integers, "true"/"false", strings as they are).
func (h ggufHeader) Meta(key string) string {
	v, ok := h.Value(key)
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// contextPlan is the shape of a model's inference contexts. Load builds
// them from it and Size books their memory from it; both get it from
// planContexts, so the booking cannot drift from the allocation.
type contextPlan struct {
	// maxTokens is the longest sequence accepted: the catalog's max_length
	// (else the GGUF's, see withModelDefaults), capped by the positions the
	// model was trained with.
	maxTokens int
	// capacity is the tokens one context encodes at once: a whole batch,
	// or the longest sequence where that is longer.
	capacity int
	// scoreHeads is how many capacity × capacity attention-score matrices
	// a context holds at once: the model's heads without flash attention,
	// none with it.
	scoreHeads int
	// flashAttention and exactKV (an f32 K/V cache) are how its contexts
	// attend: the engine's --flash-attn, unless the catalog entry asks for
	// kv_cache_type f32.
	flashAttention, exactKV bool
	// encoder is set for the models rerank-api's own encoder runs
	// (contextplan_modernbert.go), whose buffers are its own.
	encoder *encoderShape
}

// planContexts decides the contexts' shape from the catalog entry (as the
// catalog has it: the GGUF's defaults are applied here), the model's
// metadata (the same whether read from the file or the loaded model) and
// the engine's configuration.
func planContexts(entry catalog.Entry, meta modelMeta, cfg Config) (contextPlan, error) {
	entry = withModelDefaults(entry, meta)
	arch := meta.Meta("general.architecture")
	// llama.cpp's n_ctx_train and n_head (llama-model.cpp load_hparams).
	trained, err := positiveMeta(meta, arch+".context_length")
	if err != nil {
		return contextPlan{}, err
	}
	maxTokens := trained
	if entry.MaxLength > 0 && entry.MaxLength < trained {
		maxTokens = entry.MaxLength
	}
	plan := contextPlan{maxTokens: maxTokens, capacity: max(cfg.BatchTokens, maxTokens)}
	plan.exactKV = entry.KVCacheType == catalog.KVCacheF32
	// llama.cpp's CPU flash attention computes in f16 whatever the
	// cache holds, so an f32 cache comes with flash attention off.
	plan.flashAttention = cfg.FlashAttention && !plan.exactKV
	if !plan.flashAttention {
		if plan.scoreHeads, err = positiveMeta(meta, arch+".attention.head_count"); err != nil {
			return contextPlan{}, err
		}
	}
	if plan.encoder, err = planEncoder(meta); err != nil {
		return contextPlan{}, err
	}
	// A hostile or corrupt GGUF can state a context length and head count
	// whose buffers no 64-bit count holds; booking a wrapped-around sum
	// would let the pool load what can never fit.
	if plan.bufferBytes(1) == math.MaxUint64 {
		return contextPlan{}, fmt.Errorf("cannot size the model's contexts: %d tokens each (the GGUF's %s = %d, %s = %q) need more memory than any machine has; the GGUF is corrupt, or set max_length in the catalog",
			plan.capacity, arch+".context_length", trained, arch+".attention.head_count", meta.Meta(arch+".attention.head_count"))
	}
	return plan, nil
}

func positiveMeta(meta modelMeta, key string) (int, error) {
	n, err := strconv.Atoi(meta.Meta(key))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("cannot size the model's contexts: the GGUF has no valid %s (%q)", key, meta.Meta(key))
	}
	return n, nil
}

// bufferBytes is the memory workers contexts of this shape take: the
// compute and output buffers llama.cpp reserves for a full batch, on each
// device that computes layers (bookModel).
//
// With flash attention, 32 MiB plus 64 KiB per token of capacity covers
// BERT-base's measured ~11 MiB at 512 tokens and ~500 MiB at 8192 with
// margin. Most of the latter is the f32 attention mask and its f16 copy,
// capacity² × 6 bytes, so past 8192 tokens this undercounts. Without flash
// attention every head's f32 scores are whole as well: heads × capacity² ×
// 4 bytes more (BERT-base at 8192: 3 GiB, 3.4 GiB in all).
// TestSizeBooksWhatLoadAllocates checks both against resident memory.
func (p contextPlan) bufferBytes(workers int) uint64 {
	if p.encoder != nil {
		return mulSat(uint64(workers), p.encoder.contextBytes(p.capacity, p.flashAttention))
	}
	capacity := uint64(p.capacity)
	scores := mulSat(mulSat(mulSat(uint64(p.scoreHeads), 4), capacity), capacity)
	perContext := addSat(addSat(32<<20, mulSat(capacity, 64<<10)), scores)
	return mulSat(uint64(workers), perContext)
}

// mulSat and addSat saturate at math.MaxUint64 instead of wrapping, so
// that a booking too large to count stays too large for any budget.
func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func addSat(a, b uint64) uint64 {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return sum
}
