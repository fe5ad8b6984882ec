package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// Task adapters: jina-embeddings-v3 embeds each text for a task
// (retrieval.query, retrieval.passage, separation, classification,
// text-matching) through a LoRA adapter of that task and with its
// instruction before the text. The converter keeps the adapters in
// llama.cpp adapter files beside the model (convert/keys.AdapterFile)
// rather than merging each into a copy of the model, and llama.cpp applies
// an adapter per context. So each task gets contexts of its own, made on
// its first request, with its adapter set once, and a batcher of its own:
// a batch never mixes tasks, and no context ever switches adapters while
// the batcher of another task uses it. A request without a task uses the
// model's own contexts: the base weights, as XLMRobertaLoRA.encode
// computes without a task.

// taskAdapters are the tasks a model's GGUF lists and their encoders.
type taskAdapters struct {
	modelPath string
	tasks     []string
	prompts   map[string]string
	// byInputType are the tasks input types select (keys.LoRAQueryTask...);
	// an input type without one gets the base weights.
	byInputType map[InputType]string

	mu       sync.Mutex
	encoders map[string]*taskEncoder
}

// taskEncoder is one task's contexts and the batcher feeding them.
type taskEncoder struct {
	contexts []InferenceContext
	batcher  *Batcher
}

func (t *taskEncoder) Close() {
	t.batcher.Close()
	for _, c := range t.contexts {
		c.Close()
	}
}

// readTaskAdapters reads the tasks the GGUF at path lists (keys.LoRATasks)
// and checks that each adapter file is there; nil when it lists none. Only
// jina-bert-v3 files have task adapters, and only their header is read
// again: llama.cpp's metadata strings leave arrays out.
func readTaskAdapters(model Model, path string) (*taskAdapters, error) {
	if model.Info().Arch != "jina-bert-v3" {
		return nil, nil
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	v, ok := meta.Value(keys.LoRATasks)
	if !ok {
		return nil, nil
	}
	tasks, ok := v.([]string)
	prompts, _ := metaValue(meta, keys.LoRAPrompts).([]string)
	if !ok || len(tasks) == 0 || len(prompts) != len(tasks) {
		return nil, fmt.Errorf("%s: %s and %s must be string arrays of one length", path, keys.LoRATasks, keys.LoRAPrompts)
	}
	t := &taskAdapters{modelPath: path, tasks: tasks, prompts: map[string]string{}, encoders: map[string]*taskEncoder{}}
	for i, task := range tasks {
		// A task names a file beside the model (the converter refuses
		// such names too): a separator would reach files elsewhere.
		if task == "" || strings.ContainsAny(task, `/\`) {
			return nil, fmt.Errorf("%s: task %q cannot name an adapter file beside the model; convert or pull the model again", path, task)
		}
		t.prompts[task] = prompts[i]
		file := keys.AdapterFile(path, task)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the adapter of task %q is missing (%s); convert or pull the model again", task, file)
		} else if err != nil {
			return nil, err
		}
	}
	t.byInputType = map[InputType]string{}
	for in, key := range map[InputType]string{
		InputQuery: keys.LoRAQueryTask, InputDocument: keys.LoRADocumentTask,
		InputClassification: keys.LoRAClassificationTask, InputClustering: keys.LoRAClusteringTask,
	} {
		if task, _ := metaValue(meta, key).(string); slices.Contains(tasks, task) {
			t.byInputType[in] = task
		}
	}
	return t, nil
}

func metaValue(meta *gguf.Metadata, key string) any {
	v, _ := meta.Value(key)
	return v
}

// Close closes every task's encoder.
func (t *taskAdapters) Close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, enc := range t.encoders {
		enc.Close()
	}
	clear(t.encoders)
}

// task is the task req selects: its Task, checked against the model's,
// else its input type's; "" for the base weights.
func (m *loadedModel) task(req EmbedRequest) (string, error) {
	t := m.tasks
	if req.Task == "" {
		if t == nil {
			return "", nil
		}
		return t.byInputType[req.InputType], nil
	}
	if t == nil {
		return "", fmt.Errorf("%w: %q has no task adapters; leave out task", ErrInvalidInput, m.entry.Name)
	}
	if !slices.Contains(t.tasks, req.Task) {
		return "", fmt.Errorf("%w: task %q is not one of %q's: %s", ErrInvalidInput, req.Task, m.entry.Name, strings.Join(t.tasks, ", "))
	}
	return req.Task, nil
}

// requestPrefix is the text put before each input of req: the task's
// instruction for a model with task adapters, else the input type's or
// instruction's prefix (embedPrefix).
func (m *loadedModel) requestPrefix(req EmbedRequest) (string, error) {
	if m.tasks == nil {
		if req.Task != "" {
			_, err := m.task(req)
			return "", err
		}
		return m.embedPrefix(req.InputType, req.Instruction)
	}
	if req.Instruction != "" {
		return "", fmt.Errorf("%w: %q takes a task, not an instruction: send task (%s) or input_type",
			ErrInvalidInput, m.entry.Name, strings.Join(m.tasks.tasks, ", "))
	}
	task, err := m.task(req)
	if err != nil || task == "" {
		return "", err
	}
	if !req.adapted {
		return "", fmt.Errorf("%w: %q computes tasks for pooled embeddings only; leave out task and input_type here",
			ErrInvalidInput, m.entry.Name)
	}
	return m.tasks.prompts[task], nil
}

// embedBatcher is the batcher that encodes req: its task's, made on first
// use with its memory booked against m in the pool (evicting idle models as
// a load would), or the model's own.
func (e *Engine) embedBatcher(m *loadedModel, req EmbedRequest) (*Batcher, error) {
	task, err := m.task(req)
	if err != nil || task == "" {
		return m.batcher, err
	}
	t := m.tasks
	t.mu.Lock()
	defer t.mu.Unlock()
	if enc, ok := t.encoders[task]; ok {
		return enc.batcher, nil
	}
	// A pooled context takes less than the token context booked here (no
	// vector per token), so the booking errs on the safe side.
	one, err := e.tokenContextBooking(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrModelUnavailable, m.entry.Name, err)
	}
	adapter := keys.AdapterFile(t.modelPath, task)
	info, err := os.Stat(adapter)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: task %s: %w", ErrModelUnavailable, m.entry.Name, task, err)
	}
	booked := taskBooking(one, len(m.contexts), uint64(info.Size()))
	if err := e.pool.Grow(m.entry.Name, booked); err != nil {
		return nil, budgetError(fmt.Errorf("task %s of %s: %w", task, m.entry.Name, err))
	}
	contexts := make([]InferenceContext, 0, len(m.contexts))
	for range len(m.contexts) {
		c, err := m.model.NewContext(ContextParams{
			BatchTokens:    m.plan.capacity,
			Threads:        e.cfg.Threads,
			Pooling:        m.entry.Pooling,
			FlashAttention: m.plan.flashAttention,
			KVCacheF32:     m.plan.exactKV,
			Adapter:        adapter,
		})
		if err != nil {
			for _, c := range contexts {
				c.Close()
			}
			e.pool.Shrink(m.entry.Name, booked)
			return nil, fmt.Errorf("%w: %s: task %s: %w", ErrModelUnavailable, m.entry.Name, task, err)
		}
		contexts = append(contexts, c)
	}
	enc := &taskEncoder{contexts: contexts, batcher: newModelBatcher(m.entry.Name, contexts, m.plan.capacity, m.costModel(), e.cfg)}
	t.encoders[task] = enc
	m.addQueue(enc.batcher)
	return enc.batcher, nil
}

// taskBooking is what a task's encoder adds to its model's memory: one
// context's booking per worker, and the adapter's tensors, which llama.cpp
// loads once per model beside the matrices they adapt: booked whole on
// every device that computes layers (the host on a CPU), which errs on the
// safe side.
func taskBooking(context Booking, workers int, adapterBytes uint64) Booking {
	booked := Booking{}
	computing := false
	for dev, bytes := range context {
		booked[dev] = mulSat(bytes, uint64(workers))
		if dev != HostMemory {
			booked[dev] = addSat(booked[dev], adapterBytes)
			computing = true
		}
	}
	if !computing {
		booked[HostMemory] = addSat(booked[HostMemory], adapterBytes)
	}
	return booked
}
