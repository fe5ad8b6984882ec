package reference_test

import (
	"testing"

	"github.com/rerank-api/rerank-api/internal/reference"
	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// With every expert the same MLP and all of them chosen, the router's
// probabilities sum to 1 and the MoE layer is that MLP plus the shared
// bias: the check that W1 is read as [out, in] per expert and W2 as its
// transpose (megablocks' x·w2[e]), the dense layer's fc2 turned on its side.
func TestNomicExpertsOfOneMLPAreThatMLP(t *testing.T) {
	cfg := testmodel.TinyNomicMoE(3)
	cfg.ExpertBias = true
	moe := testmodel.GenerateNomicMoE(cfg)
	moe.TopK = cfg.Experts
	dense := *moe
	dense.Layers = append([]reference.NomicLayer(nil), moe.Layers...)

	fc1, fc2 := *moe.Layers[0].FC1, *moe.Layers[0].FC2
	fc1.Bias = make([]float32, len(fc1.Bias)) // experts have no biases of their own
	fc2.Bias = moe.Layers[1].Experts.Bias     // the shared bias, added once
	dense.Layers[1].Experts, dense.Layers[1].FC1, dense.Layers[1].FC2 = nil, &fc1, &fc2

	e := moe.Layers[1].Experts
	inner, hidden := cfg.Intermediate, cfg.Hidden
	for x := range cfg.Experts {
		copy(e.W1.Data[x*inner*hidden:], fc1.Weight.Data)
		for f := range inner {
			for d := range hidden {
				e.W2.Data[(x*inner+f)*hidden+d] = fc2.Weight.Data[d*inner+f]
			}
		}
	}
	tokens := cfg.ExpectedIDs("the dog near the river in winter")
	if d := maxDiff(moe.Hidden(tokens), dense.Hidden(tokens)); d > 1e-9 {
		t.Errorf("MoE of one MLP differs from that MLP by %.2e", d)
	}
}
