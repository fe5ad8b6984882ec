package backend

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// timing is one encode call of sequences sequences of length tokens each.
type timing struct {
	sequences, length int
	seconds           float64
}

func (r timing) lengths() []int { return slices.Repeat([]int{r.length}, r.sequences) }

// Batch timings shaped like a BERT-base f16 model on two AVX2 cores, as
// medians with under half a percent of noise left: without flash attention
// every pair of tokens in a batch costs ~0.37 µs (so ~180 tokens per call
// is cheapest per token); with it a pair across sequences costs ~0.04 µs
// and a call ~0.1 s (~1600 tokens).
var (
	timingsNoFlash = []timing{
		{1, 32, 0.0684}, {1, 64, 0.1256}, {1, 100, 0.1913}, {1, 128, 0.2420}, {1, 200, 0.3768},
		{1, 256, 0.4846}, {1, 512, 1.0025}, {2, 32, 0.1255}, {2, 64, 0.2423}, {2, 100, 0.3777},
		{2, 200, 0.7687}, {3, 32, 0.1831}, {3, 100, 0.5684}, {3, 200, 1.1982}, {4, 32, 0.2424},
		{4, 100, 0.7683}, {4, 128, 1.0089}, {4, 200, 1.6549}, {5, 32, 0.3018}, {5, 200, 2.1339},
		{6, 32, 0.3607}, {7, 32, 0.4209}, {8, 32, 0.4843}, {8, 64, 1.0015}, {8, 128, 2.1865},
	}
	timingsFlash = []timing{
		{1, 32, 0.1563}, {1, 64, 0.2136}, {1, 100, 0.2796}, {1, 128, 0.3300}, {1, 200, 0.4648},
		{1, 256, 0.5726}, {1, 512, 1.0903}, {2, 32, 0.2129}, {2, 64, 0.3277}, {2, 100, 0.4593},
		{2, 200, 0.8301}, {3, 32, 0.2690}, {3, 100, 0.6364}, {3, 200, 1.2070}, {4, 32, 0.3265},
		{4, 100, 0.8166}, {4, 128, 1.0321}, {4, 200, 1.5842}, {5, 32, 0.3832}, {5, 200, 1.9578},
		{6, 32, 0.4383}, {7, 32, 0.4944}, {8, 32, 0.5534}, {8, 64, 1.0137}, {8, 128, 1.9723},
	}
)

// fitted is a cost model with a BERT-base prior that has seen table.
func fitted(flash bool, table []timing) *CostModel {
	m := NewCostModel(ModelShape{Embd: 768, Layers: 12, FeedForward: 3072, Heads: 12, WeightBytes: 220 << 20, FlashAttention: flash})
	for _, r := range table {
		m.Observe(r.lengths(), time.Duration(r.seconds*float64(time.Second)))
	}
	return m
}

// cheapestRecorded is how many of sequences of length to encode at once
// for the least recorded time per token.
func cheapestRecorded(t *testing.T, table []timing, sequences, length int) int {
	t.Helper()
	best, bestRate := 0, math.Inf(1)
	for k := 1; k <= sequences; k++ {
		i := slices.IndexFunc(table, func(r timing) bool { return r.sequences == k && r.length == length })
		if i < 0 {
			t.Fatalf("no recorded timing of %d × %d tokens", k, length)
		}
		if rate := table[i].seconds / float64(k*length); rate < bestRate {
			best, bestRate = k, rate
		}
	}
	return best
}

// worthCutting is cheapestRecorded when it saves at least costMinGain per
// token over encoding all sequences at once, else all of them.
func worthCutting(t *testing.T, table []timing, sequences, length int) int {
	t.Helper()
	rate := func(k int) float64 {
		i := slices.IndexFunc(table, func(r timing) bool { return r.sequences == k && r.length == length })
		if i < 0 {
			t.Fatalf("no recorded timing of %d × %d tokens", k, length)
		}
		return table[i].seconds / float64(k*length)
	}
	best := cheapestRecorded(t, table, sequences, length)
	if rate(best) > rate(sequences)*(1-costMinGain) {
		return sequences
	}
	return best
}

func TestCostModelPicksCheaperSplit(t *testing.T) {
	tests := []struct {
		name              string
		flash             bool
		table             []timing
		sequences, length int
		want              int
	}{
		{"no flash: 200-token documents go alone", false, timingsNoFlash, 5, 200, 1},
		// Two by two is the table's cheapest, by 1.7%: under costMinGain.
		{"no flash: 100-token sequences stay whole for a small gain", false, timingsNoFlash, 4, 100, 4},
		{"flash: 200-token documents share a batch", true, timingsFlash, 5, 200, 5},
		{"flash: short sequences fill the batch", true, timingsFlash, 8, 32, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if recorded := worthCutting(t, tt.table, tt.sequences, tt.length); recorded != tt.want {
				t.Fatalf("the table's cheapest split worth a cut is %d, the test expects %d", recorded, tt.want)
			}
			m := fitted(tt.flash, tt.table)
			if got := m.take(slices.Repeat([]int{tt.length}, tt.sequences)); got != tt.want {
				t.Errorf("took %d of %d × %d tokens, want %d (scales %v)", got, tt.sequences, tt.length, tt.want, m.scale)
			}
		})
	}
}

func TestCostModelFitsRecordedTimings(t *testing.T) {
	for flash, table := range map[bool][]timing{false: timingsNoFlash, true: timingsFlash} {
		// Fit all but one row and predict it.
		for i, held := range table {
			rest := slices.Delete(slices.Clone(table), i, i+1)
			got := fitted(flash, rest).Estimate(held.lengths()).Seconds()
			if rel := math.Abs(got-held.seconds) / held.seconds; rel > 0.1 {
				t.Errorf("flash %v: %d × %d tokens: estimated %.3f s, recorded %.3f s", flash, held.sequences, held.length, got, held.seconds)
			}
		}
	}
}

func TestCostModelPriorFromShape(t *testing.T) {
	// Before any timing, the prior alone decides, from the model's shape.
	docs := slices.Repeat([]int{200}, 5)
	for flash, want := range map[bool]int{false: 1, true: 5} {
		m := NewCostModel(ModelShape{Embd: 768, Layers: 12, FeedForward: 3072, Heads: 12, WeightBytes: 220 << 20, FlashAttention: flash})
		if got := m.take(docs); got != want {
			t.Errorf("flash %v: prior took %d of 5 × 200 tokens, want %d", flash, got, want)
		}
	}
	// A GGUF without the shape keys is priced as BERT-base.
	got := modelShape(fakeWithMeta(map[string]any{"general.architecture": "bert", "bert.block_count": uint32(6)}), 1, true)
	want := bertBase
	want.Layers, want.WeightBytes, want.FlashAttention = 6, 1, true
	if got != want {
		t.Errorf("shape %+v, want %+v", got, want)
	}
}

func TestCostModelForgetsOldTimings(t *testing.T) {
	m := fitted(false, timingsNoFlash)
	// The machine becomes 3× slower: the old timings fade.
	before := m.Estimate([]int{128}).Seconds()
	for range 4 * costMemory {
		for _, r := range timingsNoFlash {
			m.Observe(r.lengths(), time.Duration(3*r.seconds*float64(time.Second)))
		}
	}
	if after := m.Estimate([]int{128}).Seconds(); math.Abs(after/before-3) > 0.15 {
		t.Errorf("estimate went from %.3f s to %.3f s, want 3×", before, after)
	}
	for k, s := range m.scale {
		if s < 0 || math.IsNaN(s) {
			t.Errorf("scale %d = %v", k, s)
		}
	}
}

func TestCostModelExplores(t *testing.T) {
	m := smallestBatches()
	lengths := []int{10, 10, 10, 10}
	for i := 1; i <= 2*costExplore; i++ {
		want := 1
		if i%costExplore == 0 {
			want = 2 // twice its choice, not the whole batch
		}
		if got := m.take(lengths); got != want {
			t.Fatalf("decision %d: took %d, want %d", i, got, want)
		}
	}
	// Nothing to cut is not a decision that counts.
	if got := m.take([]int{10}); got != 1 || m.shortened != 2*costExplore {
		t.Errorf("took %d, %d cuts counted", got, m.shortened)
	}
}

// A prior that is wrong for this machine (no flash attention: pairs across
// sequences are dear) is corrected by the batches explored: the timings
// come from timingsFlash's machine, where long documents are cheapest
// together.
func TestCostModelLearnsFromExploring(t *testing.T) {
	m := NewCostModel(ModelShape{Embd: 768, Layers: 12, FeedForward: 3072, Heads: 12, WeightBytes: 220 << 20})
	docs := slices.Repeat([]int{200}, 5)
	if got := m.take(docs); got != 1 {
		t.Fatalf("the prior took %d documents, want 1", got)
	}
	seconds := func(k int) time.Duration {
		i := slices.IndexFunc(timingsFlash, func(r timing) bool { return r.sequences == k && r.length == 200 })
		return time.Duration(timingsFlash[i].seconds * float64(time.Second))
	}
	for range 8 * costExplore {
		k := m.take(docs)
		m.Observe(docs[:k], seconds(k))
	}
	m.shortened = 0 // not an exploring turn
	if got := m.take(docs); got < 4 {
		t.Errorf("after exploring, took %d documents, want 4 or 5 (scales %v)", got, m.scale)
	}
}

// smallestBatches is a cost model under which every pair of tokens across
// sequences costs as much as a token, so the batcher takes as little as it
// may: the hardest case for fairness.
func smallestBatches() *CostModel {
	m := NewCostModel(bertBase)
	m.prior = [costTerms]float64{costToken: 1, costPairAcross: 1}
	return m
}

func TestBatcherFollowsCostModel(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 1024, MaxTokens: 1024, MaxSequences: 16, Cost: fitted(false, timingsNoFlash)}
	enc := heldEncoder()
	enc.release()
	b := newTestBatcher(t, cfg, enc)
	docs := make([][]int32, 5)
	for i := range docs {
		docs[i] = seq(1, i, 200)
	}
	checkVectors(t, docs, await(t, submit(t.Context(), b, docs)))
	// The budget holds all five; the timings say one at a time is cheaper.
	batches := enc.recorded()
	checkBatches(t, cfg, batches)
	if len(batches) != 5 {
		t.Errorf("%d batches of %v sequences, want 5 of one", len(batches), batchSizes(batches))
	}
}

// Requests of one sequence each, queued together, are cut too: the first
// sequence of every waiting request is not kept in each batch (without
// flash attention that left nothing to cut at 32 clients), and they are
// encoded in arrival order.
func TestBatcherCutsAcrossRequests(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 1024, MaxTokens: 1024, MaxSequences: 16, Cost: fitted(false, timingsNoFlash)}
	enc := heldEncoder()
	b := newTestBatcher(t, cfg, enc)
	first := [][]int32{seq(0, 0, 200)}
	running := startHeld(t, b, enc, first)
	const waiting = 5
	results := make([]<-chan result, waiting)
	for r := range results {
		results[r] = submit(t.Context(), b, [][]int32{seq(r+1, 0, 200)})
		waitQueued(t, b, r+1) // arrival order is submission order
	}
	enc.release()
	checkVectors(t, first, await(t, running))
	for r, ch := range results {
		checkVectors(t, [][]int32{seq(r+1, 0, 200)}, await(t, ch))
	}
	batches := enc.recorded()
	checkBatches(t, cfg, batches)
	if len(batches) != 1+waiting {
		t.Fatalf("%d batches of %v sequences, want %d of one", len(batches), batchSizes(batches), 1+waiting)
	}
	for i, batch := range batches {
		if got := int(batch[0][0]) / 1000; got != i {
			t.Errorf("batch %d holds request %d, want %d (arrival order)", i, got, i)
		}
	}
}

// A request served once still gets its turn while one-input requests keep
// arriving, one per batch: cuts go to the requests waiting longest since
// they arrived or were last served, not to every newcomer first. The
// batches are planned by hand, without workers, so arrivals and batches
// interleave exactly.
func TestBatcherCutsDoNotStarveServedRequests(t *testing.T) {
	b := &Batcher{cfg: BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16, Cost: smallestBatches()}}
	b.wake = sync.NewCond(&b.mu)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel() // the requests wait for vectors no worker will deliver
	queued := 0
	arrive := func(seqs [][]int32) {
		go b.Submit(ctx, seqs)
		queued++
		waitQueued(t, b, queued)
	}
	plan := func() []int {
		b.mu.Lock()
		defer b.mu.Unlock()
		var reqs []int
		for _, p := range b.nextBatch() {
			reqs = append(reqs, int(p.seq()[0])/1000)
			if p.job.next == len(p.job.seqs) {
				queued--
			}
		}
		return reqs
	}
	arrive([][]int32{seq(0, 0, 4), seq(0, 1, 4), seq(0, 2, 4)})
	var served []int
	served = append(served, plan()...)
	for r := 1; r <= 5; r++ {
		arrive([][]int32{seq(r, 0, 4)})
		served = append(served, plan()...)
	}
	// Request 0 goes first, then the newcomer that arrived while it was
	// served, then 0 again, before every later newcomer.
	if want := []int{0, 1, 0, 2, 3, 0}; !slices.Equal(served, want) {
		t.Errorf("batches served requests %v, want %v", served, want)
	}
}

func TestBatcherTeachesCostModel(t *testing.T) {
	cost := NewCostModel(bertBase)
	enc := heldEncoder()
	enc.release()
	b := newTestBatcher(t, BatcherConfig{TokenBudget: 64, MaxTokens: 64, MaxSequences: 16, Cost: cost}, enc)
	in := [][]int32{seq(1, 0, 4), seq(1, 1, 8)}
	checkVectors(t, in, await(t, submit(t.Context(), b, in)))
	cost.mu.Lock()
	defer cost.mu.Unlock()
	if cost.count == 0 {
		t.Error("the batcher did not report its encode call to the cost model")
	}
}

func TestBatcherSortsRequestByLength(t *testing.T) {
	cfg := BatcherConfig{TokenBudget: 16, MaxTokens: 16, MaxSequences: 16}
	enc := heldEncoder()
	enc.release()
	b := newTestBatcher(t, cfg, enc)
	lens := []int{2, 9, 3, 8, 2, 7, 1}
	var in [][]int32
	for i, n := range lens {
		in = append(in, seq(1, i, n))
	}
	checkVectors(t, in, await(t, submit(t.Context(), b, in)))
	batches := enc.recorded()
	checkBatches(t, cfg, batches)
	if got := batchLengths(batches); fmt.Sprint(got) != "[[9] [8 7] [3 2 2 1]]" {
		t.Errorf("batches of lengths %v", got)
	}
}

func batchSizes(batches [][][]int32) []int {
	var sizes []int
	for _, b := range batches {
		sizes = append(sizes, len(b))
	}
	return sizes
}

func batchLengths(batches [][][]int32) [][]int {
	var out [][]int
	for _, b := range batches {
		var lens []int
		for _, s := range b {
			lens = append(lens, len(s))
		}
		out = append(out, lens)
	}
	return out
}

// With flash attention batches stay whole even when the fitted timings
// say a cut is cheaper: on such a model that term is below timing noise.
func TestCostModelLeavesFlashBatchesWhole(t *testing.T) {
	m := NewCostModel(ModelShape{Embd: 768, Layers: 12, FeedForward: 3072, Heads: 12, WeightBytes: 220 << 20, FlashAttention: true})
	for _, r := range timingsNoFlash {
		m.Observe(r.lengths(), time.Duration(r.seconds*float64(time.Second)))
	}
	if got := m.take(slices.Repeat([]int{200}, 5)); got != 5 {
		t.Errorf("took %d of 5 × 200 tokens, want all 5", got)
	}
	if cut := fitted(false, timingsNoFlash).take(slices.Repeat([]int{200}, 5)); cut != 1 {
		t.Fatalf("the same timings without flash attention take %d, want 1: the test shows nothing", cut)
	}
}
