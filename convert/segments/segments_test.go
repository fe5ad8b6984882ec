package segments

import (
	"slices"
	"testing"
)

func TestExtendEmbeddings(t *testing.T) {
	const hidden, vocab = 3, 2
	tok := []float32{1, 2, 3, 4, 5, 6}
	types := []float32{0.5, 0.5, 0.5, 1.5, -0.5, 0.25}
	got, err := ExtendEmbeddings(tok, types, hidden, vocab)
	if err != nil {
		t.Fatal(err)
	}
	// Row V+i = tok[i] + types[1] − types[0] = tok[i] + {1, −1, −0.25}.
	want := []float32{1, 2, 3, 4, 5, 6, 2, 1, 2.75, 5, 4, 5.75}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// What llama.cpp computes for a copy (it adds type row 0) equals the
	// original token with type 1.
	for i := range vocab {
		for j := range hidden {
			asTypeB := tok[i*hidden+j] + types[hidden+j]
			if d := got[(vocab+i)*hidden+j] + types[j] - asTypeB; d != 0 {
				t.Errorf("token %d component %d: copy + type 0 differs from type 1 by %g", i, j, d)
			}
		}
	}
	if !slices.Equal(tok, []float32{1, 2, 3, 4, 5, 6}) {
		t.Error("the input table was modified")
	}
}

func TestExtendEmbeddingsRejects(t *testing.T) {
	for name, c := range map[string]struct {
		tok, types    []float32
		hidden, vocab int
	}{
		"one type row":   {make([]float32, 6), make([]float32, 3), 3, 2},
		"ragged types":   {make([]float32, 6), make([]float32, 7), 3, 2},
		"short table":    {make([]float32, 5), make([]float32, 6), 3, 2},
		"zero hidden":    {nil, nil, 0, 2},
		"negative vocab": {nil, make([]float32, 6), 3, -1},
	} {
		if _, err := ExtendEmbeddings(c.tok, c.types, c.hidden, c.vocab); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestExtendVocab(t *testing.T) {
	tokens, types, err := ExtendVocab([]string{"[CLS]", "▁hello", "s"}, []int32{3, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[CLS]", "▁hello", "s", "[B][CLS]", "[B]▁hello", "[B]s"}; !slices.Equal(tokens, want) {
		t.Errorf("tokens %q, want %q", tokens, want)
	}
	if want := []int32{3, 1, 1, 5, 5, 5}; !slices.Equal(types, want) {
		t.Errorf("types %v, want %v", types, want)
	}
	_, types, _ = ExtendVocab([]string{"a", "b"}, nil)
	if want := []int32{1, 1, 5, 5}; !slices.Equal(types, want) {
		t.Errorf("without types: %v, want %v", types, want)
	}
	if _, _, err := ExtendVocab([]string{"a"}, []int32{1, 1}); err == nil {
		t.Error("accepted mismatched types")
	}
}
