package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// seq builds sequence idx of test request req: n tokens, all req*1000+idx, so
// a batch shows where each of its sequences came from.
func seq(req, idx, n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(req*1000 + idx)
	}
	return s
}

// ones builds n one-token sequences of request req.
func ones(req, n int) [][]int32 {
	seqs := make([][]int32, n)
	for i := range seqs {
		seqs[i] = seq(req, i, 1)
	}
	return seqs
}

// requests names the requests whose sequences are in batch.
func requests(batch [][]int32) map[int]bool {
	reqs := map[int]bool{}
	for _, s := range batch {
		reqs[int(s[0])/1000] = true
	}
	return reqs
}

// fakeEncoder returns [first token, length] per sequence, so every result
// can be checked against its input. It records each batch, holds every
// Encode until release and fails batches holding a request named in fail.
type fakeEncoder struct {
	hold    chan struct{}
	once    sync.Once
	entered chan [][]int32 // gets each batch as it starts
	fail    map[int]error
	mu      sync.Mutex
	batches [][][]int32
}

func heldEncoder() *fakeEncoder {
	return &fakeEncoder{hold: make(chan struct{}), entered: make(chan [][]int32, 1000)}
}

func (f *fakeEncoder) release() { f.once.Do(func() { close(f.hold) }) }

func (f *fakeEncoder) Encode(seqs [][]int32) ([][]float32, error) {
	f.mu.Lock()
	f.batches = append(f.batches, seqs)
	f.mu.Unlock()
	select {
	case f.entered <- seqs:
	default: // tests watch only the first batches
	}
	<-f.hold
	for r := range requests(seqs) {
		if err := f.fail[r]; err != nil {
			return nil, err
		}
	}
	vecs := make([][]float32, len(seqs))
	for i, s := range seqs {
		vecs[i] = []float32{float32(s[0]), float32(len(s))}
	}
	return vecs, nil
}

func (f *fakeEncoder) recorded() [][][]int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

func newTestBatcher(t *testing.T, cfg BatcherConfig, encs ...*fakeEncoder) *Batcher {
	t.Helper()
	list := make([]Encoder, len(encs))
	for i, e := range encs {
		list[i] = e
	}
	b := NewBatcher(list, cfg)
	t.Cleanup(func() {
		for _, e := range encs {
			e.release()
		}
		b.Close()
	})
	return b
}

type result struct {
	vecs [][]float32
	err  error
}

func submit(ctx context.Context, b *Batcher, seqs [][]int32) <-chan result {
	ch := make(chan result, 1)
	go func() {
		vecs, _, err := b.Submit(ctx, seqs)
		ch <- result{vecs, err}
	}()
	return ch
}

// startHeld submits seqs and waits until their first batch is held in enc.
func startHeld(t *testing.T, b *Batcher, enc *fakeEncoder, seqs [][]int32) <-chan result {
	t.Helper()
	ch := submit(t.Context(), b, seqs)
	await(t, enc.entered)
	return ch
}

func await[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	var v T
	select {
	case v = <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
	return v
}

// waitQueued polls until n requests wait in b's queue.
func waitQueued(t *testing.T, b *Batcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		got := len(b.queue)
		b.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("queue never held %d requests", n)
}

// wantErr fails unless r failed with target and no vectors.
func wantErr(t *testing.T, r result, target error) {
	t.Helper()
	if !errors.Is(r.err, target) || r.vecs != nil {
		t.Fatalf("got vectors %v, err %v; want only %v", r.vecs, r.err, target)
	}
}

func checkVectors(t *testing.T, seqs [][]int32, r result) {
	t.Helper()
	if r.err != nil || len(r.vecs) != len(seqs) {
		t.Fatalf("got %d vectors, err %v; want %d vectors", len(r.vecs), r.err, len(seqs))
	}
	for i, s := range seqs {
		if want := []float32{float32(s[0]), float32(len(s))}; !slices.Equal(r.vecs[i], want) {
			t.Errorf("vector %d = %v, want %v", i, r.vecs[i], want)
		}
	}
}

// checkBatches fails for a sequence encoded twice or a batch beyond the
// budget, unless it is one sequence no longer than MaxTokens.
func checkBatches(t *testing.T, cfg BatcherConfig, batches [][][]int32) {
	t.Helper()
	seen := map[int32]bool{}
	for i, batch := range batches {
		tokens := 0
		for _, s := range batch {
			tokens += len(s)
			if seen[s[0]] {
				t.Errorf("sequence %d encoded twice", s[0])
			}
			seen[s[0]] = true
		}
		if len(batch) > cfg.MaxSequences || tokens > cfg.MaxTokens || (len(batch) > 1 && tokens > cfg.TokenBudget) {
			t.Errorf("batch %d: %d sequences, %d tokens exceed %+v", i, len(batch), tokens, cfg)
		}
	}
}

func TestBatcherMergesConcurrentRequests(t *testing.T) {
	for _, cost := range []*CostModel{nil, smallestBatches()} {
		t.Run(fmt.Sprintf("cost model %v", cost != nil), func(t *testing.T) {
			merge(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16, Cost: cost})
		})
	}
}

// merge submits many small requests at once and fails unless each gets its
// vectors and some batch holds several requests.
func merge(t *testing.T, cfg BatcherConfig) {
	enc := heldEncoder()
	b := newTestBatcher(t, cfg, enc)
	const n = 64
	inputs := make([][][]int32, n)
	results := make([]<-chan result, n)
	for r := range n {
		for i := range 1 + r%3 {
			inputs[r] = append(inputs[r], seq(r, i, 1+(r*7+i)%8))
		}
		results[r] = submit(t.Context(), b, inputs[r])
		if r == 0 {
			await(t, enc.entered) // the first batch holds request 0 alone
		}
	}
	waitQueued(t, b, n-1)
	enc.release()
	for r := range n {
		checkVectors(t, inputs[r], await(t, results[r]))
	}
	batches := enc.recorded()
	checkBatches(t, cfg, batches)
	if !slices.ContainsFunc(batches, func(batch [][]int32) bool { return len(requests(batch)) > 1 }) {
		t.Error("no batch merged sequences of several requests")
	}
}

func TestBatcherSplitsByBudget(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 10, MaxTokens: 50, MaxSequences: 3}
	tests := []struct {
		name    string
		lens    []int
		alone   int // index of a sequence that must be encoded alone, or -1
		wantErr error
	}{
		{"many short", []int{4, 4, 4, 4, 3, 3, 3, 1, 1, 1, 1, 9, 10, 2}, -1, nil},
		{"longer than budget", []int{3, 3, 30, 3, 50}, 2, nil},
		{"longer than max", []int{3, 51}, -1, ErrInvalidInput},
		{"empty", []int{3, 0, 3}, -1, ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := heldEncoder()
			enc.release()
			b := newTestBatcher(t, cfg, enc)
			var seqs [][]int32
			for i, n := range tt.lens {
				seqs = append(seqs, seq(1, i, n))
			}
			r := await(t, submit(t.Context(), b, seqs))
			if tt.wantErr != nil {
				wantErr(t, r, tt.wantErr)
				if got := enc.recorded(); len(got) != 0 {
					t.Errorf("invalid request reached the encoder: %v", got)
				}
				return
			}
			checkVectors(t, seqs, r)
			batches := enc.recorded()
			checkBatches(t, cfg, batches)
			for _, batch := range batches {
				if len(batch) > 1 && slices.ContainsFunc(batch, func(s []int32) bool { return int(s[0])%1000 == tt.alone }) {
					t.Errorf("sequence %d shares its batch: %v", tt.alone, batch)
				}
			}
		})
	}
}

func TestBatcherCancelDropsQueuedWork(t *testing.T) {
	enc := heldEncoder()
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16}, enc)
	first := [][]int32{seq(0, 0, 4)}
	running := startHeld(t, b, enc, first)
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := submit(ctx, b, [][]int32{seq(1, 0, 4), seq(1, 1, 4)})
	other := [][]int32{seq(2, 0, 4)}
	waiting := submit(t.Context(), b, other)
	waitQueued(t, b, 2)
	cancel()
	wantErr(t, await(t, cancelled), context.Canceled)
	enc.release()
	checkVectors(t, first, await(t, running))
	checkVectors(t, other, await(t, waiting))
	for _, batch := range enc.recorded() {
		if requests(batch)[1] {
			t.Errorf("a sequence of the cancelled request was encoded: %v", batch)
		}
	}
}

func TestBatcherSmallRequestIsNotStarved(t *testing.T) {
	tests := []struct {
		name   string
		cfg    BatcherConfig
		small  int // single-token requests queued behind the huge one
		within int // batches by which every small request has been encoded
	}{
		{"token share holds more sequences than a batch", BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 8}, 1, 2},
		{"more requests than tokens in the budget", BatcherConfig{TokenBudget: 4, MaxTokens: 4, MaxSequences: 256}, 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { starve(t, tt.cfg, tt.small, tt.within) })
		// A cost model that takes one sequence at a time serves the
		// requests in turn, the small ones before the huge one's next:
		// each within as many batches as requests wait, after the huge
		// one's first.
		t.Run(tt.name+"/cost model", func(t *testing.T) {
			tt.cfg.Cost = smallestBatches()
			starve(t, tt.cfg, tt.small, 1+tt.small)
		})
	}
}

// starve queues small one-token requests behind a huge one and fails unless
// every small one is encoded within the first within batches.
func starve(t *testing.T, cfg BatcherConfig, small, within int) {
	enc := heldEncoder()
	b := newTestBatcher(t, cfg, enc)
	huge := ones(0, 1000)
	hugeDone := startHeld(t, b, enc, huge)
	smallDone := make([]<-chan result, small)
	for i := range smallDone {
		smallDone[i] = submit(t.Context(), b, ones(i+1, 1))
	}
	waitQueued(t, b, 1+small)
	enc.release()
	for i, ch := range smallDone {
		checkVectors(t, ones(i+1, 1), await(t, ch))
	}
	checkVectors(t, huge, await(t, hugeDone))
	batches := enc.recorded()
	checkBatches(t, cfg, batches)
	for i, batch := range batches[within:] {
		for r := range requests(batch) {
			if r != 0 {
				t.Errorf("small request %d encoded in batch %d, want before batch %d", r, within+i, within)
			}
		}
	}
}

func TestBatcherEncoderErrorFailsItsBatchOnly(t *testing.T) {
	enc := heldEncoder()
	boom := errors.New("boom")
	enc.fail = map[int]error{1: boom}
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16}, enc)
	first := [][]int32{seq(0, 0, 4)}
	running := startHeld(t, b, enc, first)
	var failing []<-chan result
	for r := 1; r <= 3; r++ { // merged into the batch after the running one
		failing = append(failing, submit(t.Context(), b, [][]int32{seq(r, 0, 2), seq(r, 1, 3)}))
	}
	waitQueued(t, b, 3)
	enc.release()
	checkVectors(t, first, await(t, running))
	for _, ch := range failing {
		wantErr(t, await(t, ch), boom)
	}
	after := [][]int32{seq(4, 0, 5), seq(4, 1, 1)}
	checkVectors(t, after, await(t, submit(t.Context(), b, after)))
}

func TestBatcherOverload(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 4, MaxTokens: 4, MaxSequences: 1, MaxQueuedSequences: 8}
	enc := heldEncoder()
	b := newTestBatcher(t, cfg, enc)
	first := ones(0, 6)
	firstDone := startHeld(t, b, enc, first)
	// 5 of its sequences stay queued: 5 + 4 > 8.
	wantErr(t, await(t, submit(t.Context(), b, ones(1, 4))), ErrOverloaded)
	three := ones(2, 3)
	threeDone := submit(t.Context(), b, three) // 5 + 3 fits
	waitQueued(t, b, 2)
	wantErr(t, await(t, submit(t.Context(), b, ones(3, 1))), ErrOverloaded)
	enc.release()
	checkVectors(t, first, await(t, firstDone))
	checkVectors(t, three, await(t, threeDone))
	// An empty queue takes a request over the limit, or it could never run.
	big := ones(4, 12)
	checkVectors(t, big, await(t, submit(t.Context(), b, big)))
}

func TestBatcherClose(t *testing.T) {
	enc := heldEncoder()
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16}, enc)
	first := [][]int32{seq(0, 0, 4)}
	running := startHeld(t, b, enc, first)
	queued := submit(t.Context(), b, [][]int32{seq(1, 0, 4)})
	waitQueued(t, b, 1)
	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	wantErr(t, await(t, queued), ErrClosed)
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was still encoding")
	default:
	}
	enc.release()
	await(t, closed)
	checkVectors(t, first, await(t, running)) // the batch in progress completes
	wantErr(t, await(t, submit(t.Context(), b, first)), ErrClosed)
}

func TestBatcherWorkersEncodeConcurrently(t *testing.T) {
	encs := []*fakeEncoder{heldEncoder(), heldEncoder()}
	encs[1].entered = encs[0].entered // either worker may take either batch
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 8, MaxTokens: 8, MaxSequences: 4}, encs...)
	inputs := [][][]int32{{seq(0, 0, 8)}, {seq(1, 0, 8)}}
	done := []<-chan result{submit(t.Context(), b, inputs[0]), submit(t.Context(), b, inputs[1])}
	// Both batches are inside Encode at once; with one worker at a time the
	// second would never start while the first is held.
	await(t, encs[0].entered)
	await(t, encs[0].entered)
	encs[0].release()
	encs[1].release()
	for i, in := range inputs {
		checkVectors(t, in, await(t, done[i]))
	}
}
