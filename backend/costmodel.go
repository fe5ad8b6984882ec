package backend

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// CostModel estimates how long one encode call takes from the shape of its
// batch, so the batcher can take the number of queued sequences that costs
// least per token instead of filling a fixed token budget.
//
// What llama.cpp does with a batch (src/llama-context.cpp encode(), vendored
// by ollama v0.17.4): an encoder batch is never split, whatever n_seq_max,
// kv_unified or the split mode say: encode() always takes
// balloc->split_simple(n_tokens) into one ubatch ("micro-batching is not
// possible for non-causal encoding"), and kv_unified only changes how many
// sequence ids the batch validator accepts. Encoders keep no KV cache, so
// build_attn_inp_no_cache makes one n_tokens × n_tokens mask over the whole
// flattened batch, -INFINITY between different sequences
// (llm_graph_input_attn_no_cache::set_input fills all n_tokens² entries on
// one thread, and flash attention casts it to f16). Without flash
// attention, K·Q, the softmax and V·softmax are full n_tokens² products per
// head: the pairs across sequences are computed, then masked. With flash
// attention the CPU kernel (ggml-cpu ops.cpp,
// ggml_compute_forward_flash_attn_ext_f16_one_chunk) skips the dot products
// of masked pairs but still reads and compares each pair's mask value, per
// head and layer. Nothing pads sequences to the longest one, so a batch's
// cost depends on its lengths only through their sum and the sum of their
// squares. The per-sequence streams the TODO beside [TAG_NO_CACHE_PAD]
// mentions do not exist in this version, so the only way to avoid the
// cross-sequence work is smaller batches, which pay the per-call cost
// (reading every weight once, a thread barrier per graph node) more often:
// that trade-off is what this model decides.
//
// The estimate is a sum of four terms, each the prior's cost of a unit
// (from the model's shape, see NewCostModel) times a scale fitted on the
// timings Observe is given (see fit), with older batches forgotten so the
// model follows the machine's load.
type CostModel struct {
	mu    sync.Mutex
	prior [costTerms]float64 // seconds per unit of each term before any timing
	// gram and moment are the decayed sums of z·zᵀ/seconds² and
	// z/seconds over observed batches, z being the prior's seconds of each
	// term; count is their decayed number.
	gram   [costTerms][costTerms]float64
	moment [costTerms]float64
	count  float64
	scale  [costTerms]float64 // fitted: estimate = Σ scale·z
	// shortened counts the batches take cut shorter than offered (see
	// costExplore).
	shortened int
	// cuts: whether take may cut batches at all; not with flash attention
	// (see NewCostModel).
	cuts bool
}

// The terms of the estimate.
const (
	costCall       = iota // once per encode call
	costToken             // per token: embeddings, projections, FFN
	costPairWithin        // per (query, key) pair inside one sequence
	costPairAcross        // per pair of tokens of different sequences
	costTerms
)

const (
	// costMemory is how many observed batches the fit remembers: a
	// weight of 1/costMemory is forgotten at each new one.
	costMemory = 64
	// costPriorWeight is how many batches' worth of evidence the prior
	// counts for along each term.
	costPriorWeight = 0.5
	// costExplore: every costExplore-th batch the model would cut takes
	// twice the sequences it chose instead (or all there are). A model
	// that only ever sees the small batches it chose could never learn
	// that larger ones are cheaper than its prior said; doubling lets it
	// climb to them a step at a time, while an explored batch costs little
	// more per token than the chosen one. (Exploring with whole batches
	// cost 18% of the throughput without flash attention, 530 against 644
	// tokens/s: at 32 clients one 128-token input went in each chosen
	// batch and eight in each explored one, so a third of the tokens went
	// at the whole batch's 60% speed.)
	costExplore = 16
	// flopsPerSecond turns the prior's operation counts into seconds. It
	// is a guess (a few AVX2 cores); only ratios between terms decide
	// batches before timings arrive, and the first timings fix the scale.
	flopsPerSecond = 1e11
	// costMinGain is the least saving per token, as a share of the whole
	// batch's estimate, that a cut must promise: timings on a shared
	// machine vary by tens of percent, and a saving smaller than that is
	// as likely noise (see NewCostModel). Without flash attention the
	// cross-sequence term is 10-20% of a 1024-token batch, so the cuts
	// that matter pass.
	costMinGain = 0.1
)

// ModelShape is what the prior is computed from: llama.cpp's hparams of
// the same names and how the contexts attend.
type ModelShape struct {
	Embd, Layers, FeedForward, Heads int
	WeightBytes                      uint64
	FlashAttention                   bool
}

// bertBase stands in for what a GGUF does not say: BERT-base's shape.
var bertBase = ModelShape{Embd: 768, Layers: 12, FeedForward: 3072, Heads: 12}

// modelShape reads the shape llama.cpp reads (llama-model.cpp
// load_hparams), BERT-base's for keys a GGUF lacks.
func modelShape(meta modelMeta, weightBytes uint64, flash bool) ModelShape {
	arch := meta.Meta("general.architecture")
	read := func(key string, fallback int) int {
		if n, err := strconv.Atoi(meta.Meta(arch + key)); err == nil && n > 0 {
			return n
		}
		return fallback
	}
	return ModelShape{
		Embd:           read(".embedding_length", bertBase.Embd),
		Layers:         read(".block_count", bertBase.Layers),
		FeedForward:    read(".feed_forward_length", bertBase.FeedForward),
		Heads:          read(".attention.head_count", bertBase.Heads),
		WeightBytes:    weightBytes,
		FlashAttention: flash,
	}
}

// NewCostModel starts from a prior counted from the model's shape, in
// floating-point operations and their equivalents:
//   - per call: every weight read from memory once (~4 operations' time
//     per byte on a CPU) and ~10⁷ per layer for its graph's barriers;
//   - per token: the matrix products, 2·(4·n_embd² + 2·n_embd·n_ff) a layer;
//   - per pair inside a sequence: K·Q and V·P, 4·n_embd a layer;
//   - per pair across sequences: the same without flash attention, or a
//     mask read and compare per head (~8) with it.
func NewCostModel(s ModelShape) *CostModel {
	layers, embd := float64(s.Layers), float64(s.Embd)
	within := 4 * layers * embd
	across := within + 10*layers*float64(s.Heads) // and a softmax exp per head
	if s.FlashAttention {
		across = 8 * layers * float64(s.Heads)
	}
	m := &CostModel{prior: [costTerms]float64{
		costCall:       (4*float64(s.WeightBytes) + 1e7*layers) / flopsPerSecond,
		costToken:      2 * layers * (4*embd*embd + 2*embd*float64(s.FeedForward)) / flopsPerSecond,
		costPairWithin: within / flopsPerSecond,
		costPairAcross: across / flopsPerSecond,
	}}
	for k := range m.scale {
		m.scale[k] = 1
	}
	// With flash attention the cross-sequence term is ~1% of a batch by
	// the prior, below what timings on a shared machine can resolve: a
	// fit on them credited noise to it and cut batches (32 inputs of 128
	// tokens in 7-16 calls instead of 5), which in an A/B run on 2 AVX2
	// cores cost 6-11% of throughput on three loads of four. Such a model
	// still learns (for Estimate) but leaves batches whole.
	m.cuts = !s.FlashAttention
	return m
}

// batchShape is what the cost of a batch depends on: its sequences' lengths
// through their sum and the sum of their squares.
type batchShape struct {
	tokens, squares float64
}

func (s *batchShape) add(length int) {
	n := float64(length)
	s.tokens += n
	s.squares += n * n
}

// terms are the prior's seconds of each term for shape s.
func (m *CostModel) terms(s batchShape) [costTerms]float64 {
	return [costTerms]float64{
		costCall:       m.prior[costCall],
		costToken:      m.prior[costToken] * s.tokens,
		costPairWithin: m.prior[costPairWithin] * s.squares,
		costPairAcross: m.prior[costPairAcross] * (s.tokens*s.tokens - s.squares),
	}
}

// Estimate is the expected time of one encode call of sequences of these
// lengths.
func (m *CostModel) Estimate(lengths []int) time.Duration {
	var s batchShape
	for _, n := range lengths {
		s.add(n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.Duration(m.estimate(s) * float64(time.Second))
}

func (m *CostModel) estimate(s batchShape) float64 {
	z := m.terms(s)
	t := 0.0
	for k := range z {
		t += m.scale[k] * z[k]
	}
	return t
}

// Observe records that an encode call of sequences of these lengths took
// took, and refits.
func (m *CostModel) Observe(lengths []int, took time.Duration) {
	var s batchShape
	for _, n := range lengths {
		s.add(n)
	}
	m.observe(s, took)
}

func (m *CostModel) observe(s batchShape, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	y := took.Seconds()
	if y <= 0 {
		return
	}
	// Timing noise is relative (a busy machine slows a call by a factor),
	// so the fit weighs each batch by 1/seconds²: its relative error,
	// not its absolute one, counts, and long batches do not drown short.
	z := m.terms(s)
	const keep = 1 - 1.0/costMemory
	m.count = keep*m.count + 1
	for i := range z {
		m.moment[i] = keep*m.moment[i] + z[i]/y
		for j := range z {
			m.gram[i][j] = keep*m.gram[i][j] + z[i]*z[j]/(y*y)
		}
	}
	m.fit()
}

// fit solves min Σ (1 − scale·z/seconds)² + Σ λ_k (scale_k − common)²
// over scale ≥ 0 (more work never takes less time) and common: the prior
// knows how the terms compare from the model's shape, not how fast this
// machine is, so it pulls the scales toward each other, not toward 1. λ_k
// is costPriorWeight batches of the mean (z_k/seconds)², so it weighs the
// same along every term whatever its units; a term no batch has exercised
// (only lone sequences seen: no pairs across) takes the common scale.
//
// The optimum solves the unconstrained problem on the terms it leaves
// positive, so with four terms it is found exactly by solving on each of
// the 15 supports and keeping the best feasible one: the terms are too
// alike (tokens and pairs grow together) for iterative methods to settle.
func (m *CostModel) fit() {
	const common = costTerms
	var a [costTerms + 1][costTerms + 1]float64
	var r [costTerms + 1]float64
	for k := range costTerms {
		lambda := 1.0
		if m.gram[k][k] > 0 {
			lambda = costPriorWeight * m.gram[k][k] / m.count
		}
		copy(a[k][:], m.gram[k][:])
		a[k][k] += lambda
		a[k][common], a[common][k] = -lambda, -lambda
		a[common][common] += lambda
		r[k] = m.moment[k]
	}
	best, bestLoss := m.scale, math.Inf(1)
	for support := 1; support < 1<<costTerms; support++ {
		x, ok := solveOn(a, r, support|1<<common)
		if !ok {
			continue
		}
		// The objective up to a constant: xᵀ·a·x − 2·xᵀ·r.
		loss := 0.0
		for i := range x {
			for j := range x {
				loss += x[i] * a[i][j] * x[j]
			}
			loss -= 2 * x[i] * r[i]
		}
		if loss < bestLoss {
			best, bestLoss = [costTerms]float64(x[:costTerms]), loss
		}
	}
	m.scale = best
}

// solveOn solves a·x = r for the unknowns in support (a bit set), the
// others 0, by Gaussian elimination; ok is false when the system is
// singular or an unknown comes out negative.
func solveOn(a [costTerms + 1][costTerms + 1]float64, r [costTerms + 1]float64, support int) (x [costTerms + 1]float64, ok bool) {
	var all [costTerms + 1]int
	idx := all[:0]
	for k := range costTerms + 1 {
		if support&(1<<k) != 0 {
			idx = append(idx, k)
		}
	}
	n := len(idx)
	var mat [costTerms + 1][costTerms + 2]float64
	for i, ki := range idx {
		for j, kj := range idx {
			mat[i][j] = a[ki][kj]
		}
		mat[i][n] = r[ki]
	}
	for c := range n {
		p := c
		for i := c + 1; i < n; i++ {
			if math.Abs(mat[i][c]) > math.Abs(mat[p][c]) {
				p = i
			}
		}
		if mat[p][c] == 0 {
			return x, false
		}
		mat[c], mat[p] = mat[p], mat[c]
		for i := range n {
			if i == c {
				continue
			}
			f := mat[i][c] / mat[c][c]
			for j := c; j <= n; j++ {
				mat[i][j] -= f * mat[c][j]
			}
		}
	}
	for i, k := range idx {
		x[k] = mat[i][n] / mat[i][i]
		if x[k] < 0 || math.IsNaN(x[k]) {
			return x, false
		}
	}
	return x, true
}

// take is how many of lengths, a batch in the order it may be cut, to
// encode now: the non-empty prefix whose estimated time per token is least
// (ties go to the longer prefix), or twice as many when it is time to
// explore (costExplore).
func (m *CostModel) take(lengths []int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.cuts {
		return len(lengths)
	}
	best, bestRate := len(lengths), 0.0
	var s batchShape
	for i, n := range lengths {
		s.add(n)
		if rate := m.estimate(s) / s.tokens; i == 0 || rate <= bestRate*(1+1e-12) {
			best, bestRate = i+1, rate
		}
	}
	if best < len(lengths) && bestRate > m.estimate(s)/s.tokens*(1-costMinGain) {
		return len(lengths)
	}
	if best < len(lengths) {
		if m.shortened++; m.shortened%costExplore == 0 {
			return min(2*best, len(lengths))
		}
	}
	return best
}
