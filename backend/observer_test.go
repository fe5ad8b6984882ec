package backend

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// events records what a pool or batcher reports, in order.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

func TestPoolReportsLoadsAndEvictions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keepAlive = time.Minute
		l := &fakeLoader{sizes: map[string]uint64{"a": 60, "b": 60, "bad": 10}, failNext: map[string]error{"bad": errors.New("corrupt")}}
		var ev events
		p := NewPool[*fakeResource](l, PoolConfig{BudgetBytes: 100, KeepAlive: keepAlive,
			Loaded: func(key string, took time.Duration, err error) {
				ev.add("load " + key + " " + took.String() + " " + errString(err))
			},
			Evicted: func(key, reason string) { ev.add("evict " + key + " " + reason) },
		})
		_, release := mustAcquire(t, p, "a")
		release()
		if got := p.Resources(); len(got) != 1 || got["a"] == nil {
			t.Errorf("Resources() = %v, want a alone", got)
		}
		if used, budgets := p.Booked(); used[HostMemory] != 60 || budgets[HostMemory] != 100 {
			t.Errorf("Booked() = %v, %v; want 60 of 100 in RAM", used, budgets)
		}
		_, release = mustAcquire(t, p, "b") // a, idle, makes room
		release()
		if _, _, err := p.Acquire(t.Context(), "bad"); err == nil {
			t.Fatal("the failing load succeeded")
		}
		time.Sleep(2 * keepAlive) // b's keep-alive runs out
		synctest.Wait()
		// Loads take no time in the bubble, whose clock only moves when
		// every goroutine is blocked.
		want := []string{"load a 0s ok", "evict a memory", "load b 0s ok", "load bad 0s corrupt", "evict b idle"}
		if got := ev.list(); !slices.Equal(got, want) {
			t.Errorf("reported %q, want %q", got, want)
		}
		if used, _ := p.Booked(); used[HostMemory] != 0 {
			t.Errorf("%d bytes still booked after every model was unloaded", used[HostMemory])
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func TestBatcherReportsQueuedSequencesAndBatches(t *testing.T) {
	enc := heldEncoder()
	var queued, batches events
	cfg := BatcherConfig{TokenBudget: 8, MaxTokens: 16, MaxSequences: 4,
		ObserveQueued: func(lengths []int) { queued.add(fmt.Sprint(lengths)) },
		ObserveEncoded: func(sequences, tokens int, _ time.Duration) {
			batches.add(fmt.Sprintf("%d sequences, %d tokens", sequences, tokens))
		},
	}
	b := newTestBatcher(t, cfg, enc)
	first := startHeld(t, b, enc, [][]int32{seq(1, 0, 12)}) // encoded alone, held
	second := submit(t.Context(), b, [][]int32{seq(2, 0, 3), seq(2, 1, 5)})
	waitQueued(t, b, 1)
	if n := b.QueuedSequences(); n != 2 {
		t.Errorf("QueuedSequences() = %d while the second request waits, want 2", n)
	}
	enc.release()
	await(t, first)
	await(t, second)
	if n := b.QueuedSequences(); n != 0 {
		t.Errorf("QueuedSequences() = %d after every request was served, want 0", n)
	}
	// Sorted: the two requests report from their own goroutines.
	if got, want := slices.Sorted(slices.Values(queued.list())), []string{"[12]", "[3 5]"}; !slices.Equal(got, want) {
		t.Errorf("queued %q, want %q", got, want)
	}
	// The second request's two sequences fit the budget together.
	if got, want := batches.list(), []string{"1 sequences, 12 tokens", "2 sequences, 8 tokens"}; !slices.Equal(got, want) {
		t.Errorf("encoded %q, want %q", got, want)
	}
}

// A model queues token-vector and task requests in batchers of their own,
// made after the load; the model's queue size counts them all.
func TestQueuedSequencesCountsLaterBatchers(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 8, MaxTokens: 16, MaxSequences: 4}
	base, query := heldEncoder(), heldEncoder()
	m := &loadedModel{batcher: newTestBatcher(t, cfg, base)}
	queryBatcher := newTestBatcher(t, cfg, query)
	m.addQueue(queryBatcher)
	running := []<-chan result{
		startHeld(t, m.batcher, base, [][]int32{seq(1, 0, 12)}),
		startHeld(t, queryBatcher, query, [][]int32{seq(2, 0, 12)}),
	}
	waiting := []<-chan result{
		submit(t.Context(), m.batcher, [][]int32{seq(3, 0, 3)}),
		submit(t.Context(), queryBatcher, [][]int32{seq(4, 0, 3), seq(4, 1, 5)}),
	}
	waitQueued(t, m.batcher, 1)
	waitQueued(t, queryBatcher, 1)
	if n := m.queuedSequences(); n != 3 {
		t.Errorf("queuedSequences() = %d while one base and two task sequences wait, want 3", n)
	}
	base.release()
	query.release()
	for _, ch := range append(running, waiting...) {
		await(t, ch)
	}
	if n := m.queuedSequences(); n != 0 {
		t.Errorf("queuedSequences() = %d after every request was served, want 0", n)
	}
}
