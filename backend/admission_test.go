package backend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A busy model reaches its own bound while another model is still
// admitted; the server-wide bound holds across models; a slot given back
// is free again, and giving it back twice frees one slot only.
func TestAdmissionBoundsEachModel(t *testing.T) {
	a := newAdmission(3, 2)
	hot1, err1 := a.admit("hot")
	_, err2 := a.admit("hot")
	if err1 != nil || err2 != nil {
		t.Fatalf("two requests under both bounds: %v, %v", err1, err2)
	}
	_, err := a.admit("hot")
	if !errors.Is(err, ErrOverloaded) || !strings.Contains(err.Error(), `"hot"`) || !strings.Contains(err.Error(), "per-model") {
		t.Fatalf("a third request for the busy model: %v, want ErrOverloaded naming the model and its flag", err)
	}
	if _, err := a.admit("idle"); err != nil {
		t.Fatalf("a request for another model while the busy one is at its bound: %v", err)
	}
	_, err = a.admit("third")
	if !errors.Is(err, ErrOverloaded) || !strings.Contains(err.Error(), "(--max-concurrent-requests)") {
		t.Fatalf("a request past the server-wide bound: %v, want ErrOverloaded naming --max-concurrent-requests", err)
	}
	hot1()
	hot1()
	if _, err := a.admit("hot"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := a.admit("hot"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a double release freed two slots: %v", err)
	}
}

// The per-model bound defaults to half the server's, at least 1.
func TestPerModelBoundDefault(t *testing.T) {
	for _, tc := range []struct{ total, perModel, want int }{{512, 0, 256}, {1, 0, 1}, {8, 5, 5}} {
		cfg := Config{MaxConcurrentRequests: tc.total, MaxConcurrentRequestsPerModel: tc.perModel}
		cfg.applyDefaults()
		if cfg.MaxConcurrentRequestsPerModel != tc.want {
			t.Errorf("total %d, per model %d: got %d, want %d", tc.total, tc.perModel, cfg.MaxConcurrentRequestsPerModel, tc.want)
		}
	}
}

// A request whose deadline passes while its sequences wait (the server's
// --request-timeout) fails with DeadlineExceeded at once, and its
// sequences are dropped from the queue, never encoded.
func TestBatcherDeadlineDropsQueuedWork(t *testing.T) {
	enc := heldEncoder()
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16}, enc)
	first := [][]int32{seq(0, 0, 4)}
	running := startHeld(t, b, enc, first)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	expired := submit(ctx, b, [][]int32{seq(1, 0, 4), seq(1, 1, 4)})
	wantErr(t, await(t, expired), context.DeadlineExceeded)
	b.mu.Lock()
	queued := b.queued
	b.mu.Unlock()
	if queued != 0 {
		t.Errorf("%d sequences still queued after the deadline", queued)
	}
	enc.release()
	checkVectors(t, first, await(t, running))
	for _, batch := range enc.recorded() {
		if requests(batch)[1] {
			t.Errorf("a sequence of the expired request was encoded: %v", batch)
		}
	}
}
