package backend

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// A request's task decides both the adapter (the batcher) and the text put
// before each input, so both come from one resolution: these are its rules.
func TestRequestTaskAndPrefix(t *testing.T) {
	jina := &loadedModel{entry: catalog.Entry{Name: "jina"}, tasks: &taskAdapters{
		tasks:       []string{"retrieval.query", "retrieval.passage", "text-matching"},
		prompts:     map[string]string{"retrieval.query": "Q: ", "retrieval.passage": "P: ", "text-matching": ""},
		byInputType: map[InputType]string{InputQuery: "retrieval.query", InputDocument: "retrieval.passage", InputClustering: "text-matching"},
	}}
	plain := &loadedModel{entry: catalog.Entry{Name: "plain", QueryPrefix: "query: "}}
	for _, c := range []struct {
		name       string
		m          *loadedModel
		req        EmbedRequest
		task, pref string
		invalid    bool
	}{
		{"explicit task", jina, EmbedRequest{Task: "text-matching"}, "text-matching", "", false},
		{"task wins over input type", jina, EmbedRequest{Task: "retrieval.passage", InputType: InputQuery}, "retrieval.passage", "P: ", false},
		{"query input type", jina, EmbedRequest{InputType: InputQuery}, "retrieval.query", "Q: ", false},
		{"document input type", jina, EmbedRequest{InputType: InputDocument}, "retrieval.passage", "P: ", false},
		{"clustering input type", jina, EmbedRequest{InputType: InputClustering}, "text-matching", "", false},
		{"input type without a task", jina, EmbedRequest{InputType: InputClassification}, "", "", false},
		{"neither: base weights", jina, EmbedRequest{}, "", "", false},
		{"unknown task", jina, EmbedRequest{Task: "retrieval"}, "", "", true},
		{"instruction", jina, EmbedRequest{Task: "text-matching", Instruction: "x"}, "text-matching", "", true},
		{"task to a model without tasks", plain, EmbedRequest{Task: "text-matching"}, "", "", true},
		{"plain model keeps its prefixes", plain, EmbedRequest{InputType: InputQuery}, "", "query: ", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.adapted = true
			prefix, err := c.m.requestPrefix(c.req)
			if c.invalid {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("prefix %q, error %v; want ErrInvalidInput", prefix, err)
				}
				return
			}
			task, terr := c.m.task(c.req)
			if err != nil || terr != nil || task != c.task || prefix != c.pref {
				t.Errorf("task %q prefix %q (errors %v, %v); want %q %q", task, prefix, terr, err, c.task, c.pref)
			}
		})
	}
	// Token vectors and other outputs encode with the base weights: a task
	// there is refused, not paired with them.
	if _, err := jina.requestPrefix(EmbedRequest{InputType: InputQuery}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a task outside Embed: error %v, want ErrInvalidInput", err)
	}
	if p, err := jina.requestPrefix(EmbedRequest{}); err != nil || p != "" {
		t.Errorf("no task outside Embed: %q, %v", p, err)
	}
}

// taskModel is a jina-embeddings-v3 as readTaskAdapters sees it.
type taskModel struct{ Model }

func (taskModel) Info() ModelInfo { return ModelInfo{Arch: "jina-bert-v3"} }

// A GGUF's task names an adapter file beside the model: one that would
// reach outside its folder fails the load, even where that file exists.
func TestReadTaskAdaptersRefusesPaths(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "models")
	// models/jina.lora-x/../../evil.gguf resolves to root/evil.gguf.
	if err := os.MkdirAll(filepath.Join(dir, "jina.lora-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "evil.gguf"), []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{"x/../../evil", ""} {
		w := gguf.NewWriter()
		w.AddKV("general.architecture", "jina-bert-v3")
		w.AddKV(keys.LoRATasks, []string{task})
		w.AddKV(keys.LoRAPrompts, []string{"p: "})
		path := filepath.Join(dir, "jina.gguf")
		if err := w.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		if _, err := readTaskAdapters(taskModel{}, path); err == nil || !strings.Contains(err.Error(), "cannot name an adapter file") {
			t.Errorf("task %q: error %v, want the name refused", task, err)
		}
	}
}

// A task books its workers' contexts and its adapter: on the host on a CPU,
// on each device that computes layers otherwise.
func TestTaskBooking(t *testing.T) {
	cpu := taskBooking(Booking{HostMemory: 100}, 2, 7)
	if !reflect.DeepEqual(cpu, Booking{HostMemory: 207}) {
		t.Errorf("CPU: %v, want RAM 207", cpu)
	}
	gpu := taskBooking(Booking{HostMemory: 10, "CUDA0": 100}, 2, 7)
	if !reflect.DeepEqual(gpu, Booking{HostMemory: 20, "CUDA0": 207}) {
		t.Errorf("GPU: %v, want RAM 20, CUDA0 207", gpu)
	}
	if huge := taskBooking(Booking{HostMemory: math.MaxUint64 / 2}, 3, 1); huge[HostMemory] != math.MaxUint64 {
		t.Errorf("a booking past 64 bits wrapped to %d", huge[HostMemory])
	}
}
