package eval

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10f, want %.10f", what, got, want)
	}
}

// Spearman against values worked out by hand.
func TestSpearmanHandComputed(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		want float64
	}{
		// No ties: d = 0,-1,1,-1,1, so rho = 1 - 6*4/(5*(25-1)) = 0.8.
		{"no ties", []float64{10, 20, 30, 40, 50}, []float64{1, 3, 2, 5, 4}, 0.8},
		// Ties: x ranks 1, 2.5, 2.5, 4 (the tied pair shares 2 and 3);
		// y ranks 1, 3, 2, 4. Around the mean 2.5: sxy = 4.5, sxx = 4.5,
		// syy = 5, so rho = 4.5/sqrt(22.5) = sqrt(0.9).
		{"ties averaged", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}, math.Sqrt(0.9)},
		// Ranks only: any increasing transform of y gives the same rho.
		{"monotone transform", []float64{10, 20, 30, 40, 50}, []float64{math.Exp(1), math.Exp(3), math.Exp(2), math.Exp(5), math.Exp(4)}, 0.8},
		{"reversed", []float64{1, 2, 3}, []float64{0.9, 0.5, -2}, -1},
	}
	for _, c := range cases {
		got, err := Spearman(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		near(t, c.name, got, c.want, 1e-12)
	}
}

func TestRanksAverageTies(t *testing.T) {
	got := ranks([]float64{0.5, 0.1, 0.5, 0.5, 0.9})
	want := []float64{3, 1, 3, 3, 5} // the three 0.5s share places 2, 3 and 4
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranks = %v, want %v", got, want)
		}
	}
}

func TestSpearmanUndefined(t *testing.T) {
	for name, xy := range map[string][2][]float64{
		"constant":   {{1, 2, 3}, {0.5, 0.5, 0.5}},
		"one pair":   {{1}, {2}},
		"mismatched": {{1, 2}, {1, 2, 3}},
	} {
		if _, err := Spearman(xy[0], xy[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// nDCG@k against the worked example of Järvelin and Kekäläinen's measure
// (graded gains 3,2,3,0,1,2: DCG6 = 3 + 2/log2 3 + 3/2 + 0 + 1/log2 6 +
// 2/log2 7 = 6.8611, ideal 3,3,2,2,1,0 gives 7.1410, nDCG6 = 0.9608), and
// binary cases computed by hand.
func TestNDCGHandComputed(t *testing.T) {
	rel := []float64{3, 2, 3, 0, 1, 2}
	near(t, "graded nDCG@6", NDCG([]int{0, 1, 2, 3, 4, 5}, rel, 6), 6.861126688593502/7.1409951840957, 1e-12)
	near(t, "graded nDCG@6 ~ 0.961", NDCG([]int{0, 1, 2, 3, 4, 5}, rel, 6), 0.961, 5e-4)

	// 12 candidates, relevant ones (3 and 7) placed 2nd and 11th: only the
	// 2nd counts at k=10: (1/log2 3) / (1 + 1/log2 3) = 0.386853.
	binary := make([]float64, 12)
	binary[3], binary[7] = 1, 1
	ranking := []int{0, 3, 1, 2, 4, 5, 6, 8, 9, 10, 7, 11}
	near(t, "binary nDCG@10", NDCG(ranking, binary, 10), 0.38685280723454163, 1e-12)
	near(t, "perfect", NDCG([]int{3, 7, 0, 1, 2, 4, 5, 6, 8, 9, 10, 11}, binary, 10), 1, 1e-12)
	near(t, "no relevant", NDCG([]int{0, 1}, []float64{0, 0}, 10), 0, 0)
	// One relevant among 20 at place 4: 1/log2(5).
	one := make([]float64, 20)
	one[19] = 1
	near(t, "single positive at 4th", NDCG([]int{0, 1, 2, 19, 3}, one, 10), 1/math.Log2(5), 1e-12)
}

func TestMRRHandComputed(t *testing.T) {
	rel := []float64{0, 0, 1, 0, 1}
	near(t, "first relevant 3rd", MRR([]int{0, 1, 2, 3, 4}, rel, 10), 1.0/3, 1e-15)
	near(t, "first relevant 1st", MRR([]int{4, 0, 1, 2, 3}, rel, 10), 1, 0)
	late := make([]float64, 12)
	late[11] = 1
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	near(t, "relevant 12th, k=10", MRR(order, late, 10), 0, 0)
	near(t, "relevant 12th, k=20", MRR(order, late, 20), 1.0/12, 1e-15)
}

func TestRankingTiesKeepOrder(t *testing.T) {
	got := Ranking([]float64{0.2, 0.9, 0.2, 0.9, 0.1})
	want := []int{1, 3, 0, 2, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Ranking = %v, want %v", got, want)
		}
	}
}

func TestCosine(t *testing.T) {
	near(t, "orthogonal", Cosine([]float32{1, 0}, []float32{0, 3}), 0, 0)
	near(t, "parallel", Cosine([]float32{1, 2}, []float32{2, 4}), 1, 1e-12)
	near(t, "3-4-5", Cosine([]float32{3, 4}, []float32{4, 3}), 24.0/25, 1e-12)
	near(t, "zero vector", Cosine([]float32{0, 0}, []float32{1, 1}), 0, 0)
}
