package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// jina-embeddings-v3 in miniature: a checkpoint in XLMRobertaLoRA's layout
// (flash tensor names, rotary positions, five task adapters stacked under
// torch parametrize's names) converts to llama.cpp's jina-bert-v3 plus one
// adapter GGUF per task, and /v1/embeddings serves each task as the exact
// forward pass with that task's adapter and instruction: the tasks differ
// from one another by far more than the tolerance, and each matches its
// own reference.
func TestJinaEmbeddingsV3ServesTasksExactly(t *testing.T) {
	cfg := testmodel.Tiny(81, "mean")
	cfg.TypeVocab, cfg.Tokenizer = 1, "ugm"
	model := testmodel.GenerateJinaV3(cfg)
	dir := t.TempDir()
	src := filepath.Join(dir, "jina-v3-hf")
	if err := testmodel.WriteJinaV3HF(src, model, cfg); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "jina-v3-tiny.gguf")
	runConvert(t, "--input", src, "--output", out, "--outtype", "f32")
	checkJinaV3Files(t, out)
	catalog := "models:\n  - {name: jina-v3-tiny, kind: embedding, file: jina-v3-tiny.gguf, matryoshka: true, min_dimensions: 16}\n"
	sp := serveCatalog(t, true, dir, catalog, "--embedding-model", "jina-v3-tiny", "--reranker-model", "")

	texts := []string{"the dog is happy", "rain in the city at night", "cold winter morning"}
	// want is the reference embedding of each text under task, truncated
	// to dims (0: all) and normalized, as sentence-transformers' Normalize
	// module does.
	want := func(task string, dims int) [][]float64 {
		out := make([][]float64, len(texts))
		for i, text := range texts {
			ids := cfg.ExpectedIDs(testmodel.JinaV3Instructions[task] + text)
			v := reference.Pool(model.Hidden(ids, task), reference.PoolMean)
			if dims > 0 {
				v = v[:dims]
			}
			out[i] = reference.Normalize(v)
		}
		return out
	}
	embed := func(t *testing.T, body map[string]any) [][]float32 {
		t.Helper()
		body["model"], body["input"] = "jina-v3-tiny", texts
		var resp struct {
			api.OpenAIEmbeddingResponse
			api.OpenAIErrorResponse
		}
		if r := sp.post(t, "/v1/embeddings", body, &resp); r.StatusCode != http.StatusOK {
			t.Fatalf("%v: status %d: %s", body, r.StatusCode, resp.Error.Message)
		}
		vecs := make([][]float32, len(resp.Data))
		for i, d := range resp.Data {
			vecs[i] = floats(t, d.Embedding)
		}
		if len(vecs) != len(texts) {
			t.Fatalf("%d embeddings for %d texts", len(vecs), len(texts))
		}
		return vecs
	}
	check := func(t *testing.T, got [][]float32, want [][]float64) {
		t.Helper()
		worst := 0.0
		for i := range got {
			worst = max(worst, maxAbsDiff(t, got[i], want[i]))
		}
		if worst > tolerance {
			t.Errorf("max |embedding − reference| = %.2e > %.0e", worst, tolerance)
		}
		t.Logf("max |embedding − reference| = %.2e", worst)
	}

	served := map[string][][]float32{}
	for _, c := range []struct {
		name, task string // task: the adapter the reference applies
		body       map[string]any
	}{
		{"task retrieval.query", "retrieval.query", map[string]any{"task": "retrieval.query"}},
		{"task text-matching", "text-matching", map[string]any{"task": "text-matching"}},
		{"task separation", "separation", map[string]any{"task": "separation"}},
		{"input_type query", "retrieval.query", map[string]any{"input_type": "query"}},
		{"input_type document", "retrieval.passage", map[string]any{"input_type": "document"}},
		{"no task: base weights", "", map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := embed(t, c.body)
			check(t, got, want(c.task, 0))
			served[c.name] = got
		})
	}

	// The adapters matter: every pair of tasks differs by far more than the
	// tolerance (text-matching and separation share an empty instruction,
	// so only their adapters tell them apart).
	names := []string{"task retrieval.query", "task text-matching", "task separation", "input_type document", "no task: base weights"}
	closest := 1.0
	defer func() { t.Logf("the closest two tasks differ by %.2e", closest) }()
	for i, a := range names {
		for _, b := range names[i+1:] {
			if served[a] == nil || served[b] == nil {
				continue
			}
			diff := 0.0
			for k := range texts {
				diff = max(diff, maxAbsDiff(t, served[a][k], widen(served[b][k])))
			}
			closest = min(closest, diff)
			if diff < 20*tolerance {
				t.Errorf("%s and %s differ by only %.2e", a, b, diff)
			}
		}
	}

	// Requests of different tasks at once each get their own task: they
	// queue on separate batchers, so no batch mixes adapters.
	t.Run("concurrent tasks", func(t *testing.T) {
		for i := range 8 {
			task := []string{"retrieval.query", "text-matching", "classification", "retrieval.passage"}[i%4]
			t.Run(fmt.Sprint(task, i), func(t *testing.T) {
				t.Parallel()
				check(t, embed(t, map[string]any{"task": task}), want(task, 0))
			})
		}
	})

	// Cohere's input types pick the tasks the model card names for them.
	t.Run("cohere input types", func(t *testing.T) {
		for inputType, task := range map[string]string{
			"search_query": "retrieval.query", "search_document": "retrieval.passage",
			"classification": "classification", "clustering": "separation",
		} {
			var resp struct {
				Embeddings api.CohereEmbeddings `json:"embeddings"`
			}
			body := map[string]any{"model": "jina-v3-tiny", "texts": texts, "input_type": inputType, "embedding_types": []string{"float"}}
			if r := sp.post(t, "/v2/embed", body, &resp); r.StatusCode != http.StatusOK {
				t.Fatalf("input_type %s: status %d", inputType, r.StatusCode)
			}
			check(t, resp.Embeddings.Float, want(task, 0))
		}
	})

	t.Run("matryoshka dimensions", func(t *testing.T) {
		check(t, embed(t, map[string]any{"task": "text-matching", "dimensions": 16}), want("text-matching", 16))
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			body map[string]any
			want string
		}{
			{map[string]any{"task": "retrieval"}, "retrieval.query, retrieval.passage, separation, classification, text-matching"},
			{map[string]any{"task": ""}, "task"},
			{map[string]any{"task": "text-matching", "instruction": "find dogs"}, "takes a task, not an instruction"},
			{map[string]any{"dimensions": 8}, "16 to 64"},
		} {
			c.body["model"], c.body["input"] = "jina-v3-tiny", texts
			var e api.OpenAIErrorResponse
			if r := sp.post(t, "/v1/embeddings", c.body, &e); r.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, c.want) {
				t.Errorf("%v: status %d %q, want 400 naming %q", c.body, r.StatusCode, e.Error.Message, c.want)
			}
		}
	})
}

// checkJinaV3Files checks what outputs alone would not show: the model is
// llama.cpp's jina-bert-v3 with no adapter inside, its metadata lists the
// tasks with their instructions, and each adapter is a llama.cpp LoRA GGUF
// naming its task and prompt.
func checkJinaV3Files(t *testing.T, path string) {
	t.Helper()
	md, err := gguf.ReadMetadata(path)
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([]string, len(testmodel.JinaV3Tasks))
	for i, task := range testmodel.JinaV3Tasks {
		prompts[i] = testmodel.JinaV3Instructions[task]
	}
	for key, want := range map[string]any{
		"general.architecture":        "jina-bert-v3",
		"jina-bert-v3.rope.freq_base": float32(20000),
		"jina-bert-v3.pooling_type":   uint32(1),
		"jina-bert-v3.context_length": uint32(64),
		keys.LoRATasks:                testmodel.JinaV3Tasks,
		keys.LoRAPrompts:              prompts,
		keys.LoRAQueryTask:            "retrieval.query",
		keys.LoRADocumentTask:         "retrieval.passage",
		keys.LoRAClassificationTask:   "classification",
		keys.LoRAClusteringTask:       "separation",
	} {
		if got, ok := md.Value(key); !ok || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	for _, ti := range md.Tensors {
		if strings.Contains(ti.Name, "lora") || ti.Name == "position_embd.weight" {
			t.Errorf("the model holds %s", ti.Name)
		}
	}
	for _, task := range testmodel.JinaV3Tasks {
		file := keys.AdapterFile(path, task)
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}
		a, err := gguf.ReadMetadata(file)
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]any{
			"general.type": "adapter", "general.architecture": "jina-bert-v3", "adapter.type": "lora",
			"adapter.lora.task_name": task, "adapter.lora.prompt_prefix": testmodel.JinaV3Instructions[task],
		} {
			if got, ok := a.Value(key); !ok || got != want {
				t.Errorf("%s: %s = %v, want %v", filepath.Base(file), key, got, want)
			}
		}
		// Four adapted matrices per layer and the token embeddings, rank 4
		// (5 for the token embeddings, which carry the token-type adapter).
		if n := len(a.Tensors); n != 2*(4*cfgLayers(md)+1) {
			t.Errorf("%s has %d tensors", filepath.Base(file), n)
		}
	}
}

func cfgLayers(md *gguf.Metadata) int {
	v, _ := md.Value("jina-bert-v3.block_count")
	n, _ := v.(uint32)
	return int(n)
}
