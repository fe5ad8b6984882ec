package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Encoder runs one batch of token sequences and returns one vector per
// sequence. InferenceContext is one; tests use fakes.
type Encoder interface {
	Encode(seqs [][]int32) ([][]float32, error)
}

// BatcherConfig bounds what one Encode call may carry.
type BatcherConfig struct {
	// TokenBudget is the most tokens per Encode (Cost may take fewer).
	// Encoder attention runs over the whole flattened batch, so cost per
	// token grows with the batch: see the README's benchmark.
	TokenBudget int
	// MaxTokens is the hard capacity of an encoder; a single sequence longer
	// than TokenBudget (up to MaxTokens) is encoded on its own.
	MaxTokens int
	// MaxSequences caps sequences per Encode (llama.cpp's n_seq_max).
	MaxSequences int
	// MaxQueuedSequences bounds the queue; beyond it Submit fails with
	// ErrOverloaded instead of letting latency grow without limit.
	MaxQueuedSequences int
	// Cost, when set, learns from every encode call and cuts each batch
	// the budget allows to the number of sequences it estimates cheapest
	// per token; nil fills the budget.
	Cost *CostModel
	// ObserveQueued and ObserveEncoded, when set, are told the length of
	// each sequence queued and the size and time of each encode call, for
	// metrics. They are called without the batcher's lock held.
	ObserveQueued  func(lengths []int)
	ObserveEncoded func(sequences, tokens int, took time.Duration)
}

// BatchStats tells a request how its sequences were served.
type BatchStats struct {
	Wait    time.Duration // from Submit to its first sequence being encoded
	Compute time.Duration // summed encode time of the batches it took part in
	Batches int
}

// Batcher merges the sequences of concurrent requests for one model into
// encode calls. One goroutine per encoder pulls from a shared queue, so a
// model with several contexts encodes several batches at once.
//
// Fairness: when several requests wait, each batch first gives every waiting
// request an equal share of the token budget (in arrival order), then fills
// what is left first come, first served. A 1000-document request therefore
// cannot hold back a one-sentence request behind it for more than one batch,
// yet a lone request still gets whole batches. The cost model may cut a batch
// shorter, down to one sequence; what it keeps goes to the requests that
// have waited longest since they arrived or were last served, so cut
// batches serve the requests they could hold in turn.
//
// A request's sequences are scheduled longest first, so consecutive batches
// hold sequences of similar length and a cut wastes little of a batch.
type Batcher struct {
	cfg    BatcherConfig
	mu     sync.Mutex
	wake   *sync.Cond
	queue  []*job // arrival order; a job leaves when all its sequences are scheduled
	queued int    // sequences not yet scheduled
	// batches counts the batches planned: the clock of job.waiting.
	batches uint64
	// lengths is cut's scratch, reused from batch to batch under mu.
	lengths []int
	closed  bool
	wg      sync.WaitGroup
}

type job struct {
	ctx     context.Context
	seqs    [][]int32
	order   []int // indexes into seqs, longest first; nil: seqs' own order
	next    int   // first position in that order not yet scheduled
	planned int   // next when the batch being planned started
	// waiting is when the job last arrived or was served, in half batches:
	// 2·batches at Submit, 2·batches+1 when a batch takes a sequence of
	// it, so a job that arrives while a batch is planned goes before
	// those the batch served.
	waiting   uint64
	results   [][]float32
	remaining int // sequences scheduled or not whose result is missing
	err       error
	done      chan struct{}
	submitted time.Time
	stats     BatchStats
}

// piece is one sequence of one job inside a batch: the one its job
// schedules at pos.
type piece struct {
	job *job
	pos int
}

func (p piece) seq() []int32 { return p.job.seqs[p.job.index(p.pos)] }

// index is the index in seqs of the sequence scheduled at pos.
func (j *job) index(pos int) int {
	if j.order == nil {
		return pos
	}
	return j.order[pos]
}

// NewBatcher starts one worker per encoder.
func NewBatcher(encoders []Encoder, cfg BatcherConfig) *Batcher {
	b := &Batcher{cfg: cfg}
	b.wake = sync.NewCond(&b.mu)
	for _, enc := range encoders {
		b.wg.Add(1)
		go b.work(enc)
	}
	return b
}

// ErrClosed is returned for work submitted to, or pending in, a closed batcher.
var ErrClosed = errors.New("model was unloaded")

// Submit queues seqs and waits for their vectors, returned in order. If ctx
// ends first, Submit returns ctx.Err() and the unscheduled sequences are
// dropped from the queue.
func (b *Batcher) Submit(ctx context.Context, seqs [][]int32) ([][]float32, BatchStats, error) {
	if len(seqs) == 0 {
		return nil, BatchStats{}, nil
	}
	lengths := make([]int, len(seqs))
	for i, s := range seqs {
		if len(s) == 0 || len(s) > b.cfg.MaxTokens {
			return nil, BatchStats{}, fmt.Errorf("%w: sequence %d has %d tokens; 1..%d allowed", ErrInvalidInput, i, len(s), b.cfg.MaxTokens)
		}
		lengths[i] = len(s)
	}
	longestFirst := func(a, c int) int { return cmp.Compare(c, a) }
	var order []int
	if !slices.IsSortedFunc(lengths, longestFirst) {
		order = make([]int, len(seqs))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, c int) int { return longestFirst(lengths[a], lengths[c]) })
	}
	j := &job{ctx: ctx, seqs: seqs, order: order, results: make([][]float32, len(seqs)), remaining: len(seqs), done: make(chan struct{}), submitted: time.Now()}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, BatchStats{}, ErrClosed
	}
	if b.cfg.MaxQueuedSequences > 0 && b.queued > 0 && b.queued+len(seqs) > b.cfg.MaxQueuedSequences {
		b.mu.Unlock()
		return nil, BatchStats{}, fmt.Errorf("%w: %d sequences already queued for this model", ErrOverloaded, b.queued)
	}
	j.waiting = 2 * b.batches
	b.queue = append(b.queue, j)
	b.queued += len(seqs)
	b.wake.Signal()
	b.mu.Unlock()
	if b.cfg.ObserveQueued != nil {
		b.cfg.ObserveQueued(lengths)
	}

	select {
	case <-j.done:
	case <-ctx.Done():
		// Drop the job now rather than when a worker next looks at the
		// queue: until then its sequences would count against
		// MaxQueuedSequences. Results of a batch already running are
		// discarded.
		b.mu.Lock()
		b.dropCancelled()
		b.mu.Unlock()
		return nil, BatchStats{}, ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return j.results, j.stats, j.err
}

func (b *Batcher) work(enc Encoder) {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		batch := b.nextBatch()
		for len(batch) == 0 && !b.closed {
			b.wake.Wait()
			batch = b.nextBatch()
		}
		if len(batch) == 0 {
			b.mu.Unlock()
			return
		}
		if len(b.queue) > 0 {
			b.wake.Signal() // another idle worker can start the next batch now
		}
		now := time.Now()
		seqs := make([][]int32, len(batch))
		var shape batchShape
		tokens := 0
		for i, p := range batch {
			seqs[i] = p.seq()
			shape.add(len(seqs[i]))
			tokens += len(seqs[i])
			if p.job.stats.Batches == 0 && p.job.stats.Wait == 0 {
				p.job.stats.Wait = now.Sub(p.job.submitted)
			}
		}
		b.mu.Unlock()

		vecs, err := enc.Encode(seqs)
		if err == nil && len(vecs) != len(seqs) {
			err = fmt.Errorf("encoder returned %d vectors for %d sequences", len(vecs), len(seqs))
		}
		elapsed := time.Since(now)
		if err == nil && b.cfg.Cost != nil {
			b.cfg.Cost.observe(shape, elapsed)
		}
		if b.cfg.ObserveEncoded != nil {
			b.cfg.ObserveEncoded(len(seqs), tokens, elapsed)
		}
		b.mu.Lock()
		b.deliver(batch, vecs, err, elapsed)
		b.mu.Unlock()
	}
}

// nextBatch picks the sequences of the next encode call. Called with b.mu held.
func (b *Batcher) nextBatch() []piece {
	b.dropCancelled()
	if len(b.queue) == 0 {
		return nil
	}
	batch := make([]piece, 0, min(b.cfg.MaxSequences, b.queued))
	tokens := 0
	for _, j := range b.queue {
		j.planned = j.next
	}
	fits := func(n int) bool {
		if len(batch) >= b.cfg.MaxSequences {
			return false
		}
		if len(batch) == 0 {
			return n <= b.cfg.MaxTokens
		}
		return tokens+n <= b.cfg.TokenBudget
	}
	// A share bounds sequences as well as tokens: short sequences would
	// otherwise fill MaxSequences within the first request's token share.
	take := func(j *job, tokenShare, seqShare int) {
		used, count := 0, 0
		for j.next < len(j.seqs) {
			n := len(j.seqs[j.index(j.next)])
			if (count > 0 && (used+n > tokenShare || count >= seqShare)) || !fits(n) {
				return
			}
			batch = append(batch, piece{j, j.next})
			j.next++
			tokens += n
			used += n
			count++
		}
	}
	if len(b.queue) > 1 {
		// At least one sequence each: a share rounded down to zero would
		// mean no limit at all.
		tokenShare := max(b.cfg.TokenBudget/len(b.queue), 1)
		seqShare := max(b.cfg.MaxSequences/len(b.queue), 1)
		for _, j := range b.queue {
			take(j, tokenShare, seqShare)
		}
	}
	for _, j := range b.queue {
		take(j, math.MaxInt, math.MaxInt)
	}
	if b.cfg.Cost != nil && len(batch) > 1 {
		batch = b.cut(batch, len(b.queue) > 1)
	}
	b.batches++
	for _, p := range batch {
		p.job.waiting = 2*b.batches + 1
	}
	b.queued -= len(batch)
	kept := b.queue[:0]
	for _, j := range b.queue {
		if j.next < len(j.seqs) {
			kept = append(kept, j)
		}
	}
	clear(b.queue[len(kept):])
	b.queue = kept
	return batch
}

// cut keeps the part of batch the cost model estimates cheapest per token
// and hands the rest back to the queue. When several requests wait, the
// first sequence of each request in batch goes before the others, those of
// the requests waiting longest since they arrived or were last served
// first: a cut then serves the requests in turn, and a request already
// served once still comes before those that arrive after it. (Keeping one
// sequence of each request in every batch, as the token shares do, would
// leave nothing to cut when many one-input requests wait: without flash
// attention, 8 clients sending 128 tokens each were encoded at 352-360
// tokens/s in such batches, against 567-580 with cuts.)
// Called with b.mu held.
func (b *Batcher) cut(batch []piece, several bool) []piece {
	ordered := batch
	if several {
		ordered = make([]piece, 0, len(batch))
		for _, p := range batch {
			if p.pos == p.job.planned {
				ordered = append(ordered, p)
			}
		}
		// Stable: among requests waiting since the same time, arrival
		// order stands.
		slices.SortStableFunc(ordered, func(x, y piece) int { return cmp.Compare(x.job.waiting, y.job.waiting) })
		for _, p := range batch {
			if p.pos != p.job.planned {
				ordered = append(ordered, p)
			}
		}
	}
	lengths := b.lengths[:0]
	for _, p := range ordered {
		lengths = append(lengths, len(p.seq()))
	}
	b.lengths = lengths
	// A job's pieces are in position order in ordered (its first, then
	// the rest as take appended them), so what is cut of each job is a
	// tail of what was taken of it, and its cursor goes back to the start
	// of that tail.
	n := b.cfg.Cost.take(lengths)
	for _, p := range ordered[n:] {
		p.job.next = min(p.job.next, p.pos)
	}
	return ordered[:n]
}

// dropCancelled removes jobs whose client has gone. Called with b.mu held.
func (b *Batcher) dropCancelled() {
	kept := b.queue[:0]
	for _, j := range b.queue {
		if err := j.ctx.Err(); err != nil {
			b.queued -= len(j.seqs) - j.next
			j.next = len(j.seqs)
			b.fail(j, err)
			continue
		}
		kept = append(kept, j)
	}
	clear(b.queue[len(kept):])
	b.queue = kept
}

// deliver hands a finished batch's vectors to their jobs. Called with b.mu held.
func (b *Batcher) deliver(batch []piece, vecs [][]float32, err error, elapsed time.Duration) {
	seen := map[*job]bool{}
	for i, p := range batch {
		j := p.job
		if !seen[j] {
			seen[j] = true
			j.stats.Batches++
			j.stats.Compute += elapsed
		}
		if j.err != nil {
			continue
		}
		if err != nil {
			b.fail(j, err)
			continue
		}
		j.results[j.index(p.pos)] = vecs[i]
		j.remaining--
		if j.remaining == 0 {
			close(j.done)
		}
	}
}

// fail ends a job with err unless it has already ended. Called with b.mu held.
func (b *Batcher) fail(j *job, err error) {
	if j.err != nil || j.remaining == 0 {
		return
	}
	j.err = err
	j.results = nil
	close(j.done)
	if j.next < len(j.seqs) {
		b.queued -= len(j.seqs) - j.next
		j.next = len(j.seqs) // nothing more of it is scheduled
	}
}

// QueuedSequences is how many sequences wait to be scheduled into a batch.
func (b *Batcher) QueuedSequences() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queued
}

// Close stops the workers after the batches in progress and fails queued work.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	for _, j := range b.queue {
		b.fail(j, ErrClosed)
	}
	b.queue = nil
	b.queued = 0
	b.wake.Broadcast()
	b.mu.Unlock()
	b.wg.Wait()
}
