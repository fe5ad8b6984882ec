package eval

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Spearman is Spearman's rank correlation of x and y: Pearson's correlation
// of their ranks, ties given the average of the ranks they span (what
// scipy.stats.spearmanr computes, which MTEB and JMTEB report). It fails
// when the lists differ in length, hold fewer than two values, or one of
// them is constant, where the coefficient is undefined.
func Spearman(x, y []float64) (float64, error) {
	if len(x) != len(y) {
		return 0, fmt.Errorf("spearman: %d values against %d", len(x), len(y))
	}
	if len(x) < 2 {
		return 0, fmt.Errorf("spearman: %d pairs; need at least 2", len(x))
	}
	return pearson(ranks(x), ranks(y))
}

// ranks gives each value its 1-based position in ascending order; a run of
// equal values shares the average of the positions it covers.
func ranks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return v[order[a]] < v[order[b]] })
	r := make([]float64, len(v))
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && v[order[end]] == v[order[start]] {
			end++
		}
		// Positions start+1 … end share their mean.
		avg := float64(start+1+end) / 2
		for _, i := range order[start:end] {
			r[i] = avg
		}
		start = end
	}
	return r
}

var errConstant = errors.New("one side is constant, so the correlation is undefined")

// pearson is Pearson's correlation coefficient, computed around the means
// in float64 so that thousands of pairs lose no precision.
func pearson(x, y []float64) (float64, error) {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, errConstant
	}
	return sxy / math.Sqrt(sxx*syy), nil
}

// Cosine is the cosine similarity of two vectors of the same length; 0 when
// either is all zeros.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Ranking orders candidates by score, highest first. Equal scores keep
// candidate order, as the engine's rerank does, so a model that scores
// everything alike is not credited for where the set happens to put the
// positive (the sets shuffle it with a seed).
func Ranking(scores []float64) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	return order
}

// NDCG is the normalized discounted cumulative gain of the first k places
// of ranking (candidate indices, best first) with graded relevance rel
// (gain rel, discount log2(place+1), as trec_eval and MTEB compute it).
// A query without any relevant candidate scores 0.
func NDCG(ranking []int, rel []float64, k int) float64 {
	dcg := 0.0
	for place, c := range ranking[:min(k, len(ranking))] {
		dcg += rel[c] / math.Log2(float64(place+2))
	}
	ideal := append([]float64(nil), rel...)
	sort.Sort(sort.Reverse(sort.Float64Slice(ideal)))
	idcg := 0.0
	for place, g := range ideal[:min(k, len(ideal))] {
		idcg += g / math.Log2(float64(place+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// MRR is the reciprocal rank of the first relevant candidate among the
// first k places of ranking, 0 when none is there (MRR@k; averaged over
// queries it is the mean reciprocal rank).
func MRR(ranking []int, rel []float64, k int) float64 {
	for place, c := range ranking[:min(k, len(ranking))] {
		if rel[c] > 0 {
			return 1 / float64(place+1)
		}
	}
	return 0
}
