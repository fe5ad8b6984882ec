package backend

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/gguf"
)

// nanRuntime is fakeRuntime with contexts whose outputs carry value, as a
// model with corrupt weights computes NaN or Inf.
type nanRuntime struct {
	fakeRuntime
	value float32
}

func (r *nanRuntime) LoadModel(path string, p ModelParams) (Model, error) {
	m, err := r.fakeRuntime.LoadModel(path, p)
	if err != nil {
		return nil, err
	}
	return nanModel{m.(fakeModel), r.value}, nil
}

type nanModel struct {
	fakeModel
	value float32
}

func (m nanModel) NewContext(p ContextParams) (InferenceContext, error) {
	c, err := m.fakeModel.NewContext(p)
	return nanContext{c.(fakeContext), m.value}, err
}

type nanContext struct {
	fakeContext
	value float32
}

func (c nanContext) Encode(seqs [][]int32) ([][]float32, error) {
	out, err := c.fakeContext.Encode(seqs)
	for _, v := range out {
		v[0] = c.value
	}
	return out, err
}

// NaN or Inf out of a model is ErrNonFinite from every route that returns
// the model's numbers, never a vector or a score carrying it.
func TestNonFiniteOutputIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeHeaderOnly(t, filepath.Join(dir, "fake.gguf"), "fake")
	cat, err := catalog.New([]byte("models:\n  - {name: embedder, kind: embedding, file: fake.gguf}\n  - {name: reranker, kind: rerank, pooling: rank, file: fake.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		e := New(Config{ModelsDir: dir, Workers: 1, BudgetBytes: 1 << 30, Runtime: &nanRuntime{value: value}}, cat, zerolog.Nop())
		ctx := context.Background()
		if res, err := e.Embed(ctx, EmbedRequest{Model: "embedder", Inputs: []Input{{Text: "a b"}}}); !errors.Is(err, ErrNonFinite) {
			t.Errorf("embed with %v: %v, %v; want ErrNonFinite", value, res, err)
		} else if !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("embed with %v: %q does not say what to do", value, err)
		}
		if res, err := e.Rerank(ctx, RerankRequest{Model: "reranker", Query: "q", Documents: []string{"a", "b c"}}); !errors.Is(err, ErrNonFinite) {
			t.Errorf("rerank with %v: %v, %v; want ErrNonFinite", value, res, err)
		}
		e.Close()
	}
}

// A model larger than the whole budget is refused before anything is
// evicted for it: the idle model stays loaded and nothing is reloaded.
func TestLargerThanBudgetEvictsNothing(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"idle": 40, "huge": 500}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	idle, release := mustAcquire(t, p, "idle")
	release()
	if _, _, err := p.Acquire(context.Background(), "huge"); !errors.Is(err, ErrLargerThanBudget) {
		t.Fatalf("got %v, want ErrLargerThanBudget", err)
	}
	if idle.closed.Load() || !p.Loaded("idle") || p.Used() != 40 || l.loads.Load() != 1 {
		t.Fatalf("idle closed %v, loaded %v, used %d, loads %d: want it kept, 40 used, one load",
			idle.closed.Load(), p.Loaded("idle"), p.Used(), l.loads.Load())
	}
}

// A model that fits the budget but not beside the pinned one is refused
// without evicting the idle one: evicting it could not make room.
func TestNothingIsEvictedInVain(t *testing.T) {
	l := &fakeLoader{sizes: map[string]uint64{"pinned": 60, "idle": 30, "big": 50}}
	p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: -1})
	p.Pin("pinned")
	_, release := mustAcquire(t, p, "pinned")
	release()
	idle, release := mustAcquire(t, p, "idle")
	release()
	if _, _, err := p.Acquire(context.Background(), "big"); !errors.Is(err, ErrBudget) {
		t.Fatalf("got %v, want ErrBudget", err)
	}
	if idle.closed.Load() || !p.Loaded("idle") {
		t.Fatal("the idle model was evicted although evicting it could not make room")
	}
	// Once it can make room, it does.
	l.sizes["big"] = 40
	if _, release, err := p.Acquire(context.Background(), "big"); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	if !idle.closed.Load() {
		t.Fatal("the idle model was not evicted to make room")
	}
}

// checkingRuntime is fakeRuntime with a FileChecker that refuses files
// named "bad", counting the loads that reach it.
type checkingRuntime struct {
	fakeRuntime
	loads int
}

func (r *checkingRuntime) CheckFile(meta *gguf.Metadata, _ int64) error {
	if v, _ := meta.Value("general.name"); v == "bad" {
		return errors.New("refused by the check")
	}
	return nil
}

func (r *checkingRuntime) LoadModel(path string, p ModelParams) (Model, error) {
	r.loads++
	return r.fakeRuntime.LoadModel(path, p)
}

// A file its runtime's check refuses is ErrModelUnavailable with the
// check's reason, before the runtime opens it and before anything is
// booked or evicted for it.
func TestRuntimeCheckRefusesBeforeLoading(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"good", "bad"} {
		writeHeaderOnly(t, filepath.Join(dir, name+".gguf"), name)
	}
	cat, err := catalog.New([]byte("models:\n  - {name: good, kind: embedding, file: good.gguf}\n  - {name: bad, kind: embedding, file: bad.gguf}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	r := &checkingRuntime{}
	e := New(Config{ModelsDir: dir, Workers: 1, BudgetBytes: 1 << 30, KeepAlive: -1, Runtime: r}, cat, zerolog.Nop())
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Embed(ctx, EmbedRequest{Model: "good", Inputs: []Input{{Text: "a"}}}); err != nil {
		t.Fatal(err)
	}
	used := e.MemoryUsed()
	_, err = e.Embed(ctx, EmbedRequest{Model: "bad", Inputs: []Input{{Text: "a"}}})
	if !errors.Is(err, ErrModelUnavailable) || !strings.Contains(err.Error(), "refused by the check") {
		t.Fatalf("got %v, want ErrModelUnavailable with the check's reason", err)
	}
	if r.loads != 1 || e.MemoryUsed() != used {
		t.Errorf("loads %d, memory %d (was %d): the refused file was opened or booked", r.loads, e.MemoryUsed(), used)
	}
}

// writeHeaderOnly writes the GGUF fakeRuntime serves: a header without
// tensors, named name.
func writeHeaderOnly(t *testing.T, path, name string) {
	t.Helper()
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "bert")
	w.AddKV("general.name", name)
	w.AddKV("bert.context_length", uint32(64))
	w.AddKV("bert.attention.head_count", uint32(2))
	w.AddKV("tokenizer.ggml.model", "bert")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}
