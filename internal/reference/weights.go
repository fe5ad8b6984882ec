package reference

import "fmt"

// Activation is the feed-forward nonlinearity (HF config "hidden_act").
type Activation int

const (
	// GELUErf is x·Φ(x) with the exact normal CDF: HF "gelu".
	GELUErf Activation = iota
	// GELUTanh is the tanh approximation: HF "gelu_new" and
	// "gelu_pytorch_tanh". llama.cpp uses it for every BERT, whatever the
	// model was trained with.
	GELUTanh
	// GELUTanhF16 is GELUTanh as ggml's CPU backend computes it: the input
	// rounded to f16, looked up in a table of f16 results, and |x| ≥ 10
	// passed through or zeroed (ggml-cpu/vec.h ggml_vec_gelu_f32). Matching
	// it leaves only f32 rounding between llama.cpp and this package, which
	// makes tolerances 10–100× tighter.
	GELUTanhF16
)

func (a Activation) String() string {
	switch a {
	case GELUErf:
		return "erf GELU"
	case GELUTanh:
		return "tanh GELU"
	case GELUTanhF16:
		return "f16-table tanh GELU"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// Config is the shape of an encoder, with HF config.json's meaning.
type Config struct {
	HiddenSize   int // hidden_size
	Heads        int // num_attention_heads; must divide HiddenSize
	Layers       int // num_hidden_layers
	Intermediate int // intermediate_size
	MaxPositions int // max_position_embeddings (after any XLM-R offset)
	TypeVocab    int // type_vocab_size
	LayerNormEps float64
	Activation   Activation
}

// Matrix is a row-major float32 matrix, HF layout: a linear layer's weight
// is Rows=out × Cols=in, an embedding table Rows=vocab × Cols=hidden.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// NewMatrix returns a zero rows × cols matrix.
func NewMatrix(rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// Row returns row i, sharing the matrix's storage.
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Dense is a linear layer y = Weight·x + Bias with Weight [out, in].
type Dense struct {
	Weight Matrix
	Bias   []float32
}

// LayerNorm holds the scale (gamma) and shift (beta) of a layer norm.
type LayerNorm struct {
	Weight, Bias []float32
}

// Layer is one post-LayerNorm transformer block (HF BertLayer).
type Layer struct {
	Query, Key, Value Dense
	AttentionOutput   Dense     // attention.output.dense
	AttentionNorm     LayerNorm // attention.output.LayerNorm
	Intermediate      Dense     // intermediate.dense: [intermediate, hidden]
	Output            Dense     // output.dense: [hidden, intermediate]
	OutputNorm        LayerNorm // output.LayerNorm
}

// Weights is a complete encoder, optionally with a classification head.
type Weights struct {
	Config
	WordEmbeddings      Matrix // [vocab, hidden]
	PositionEmbeddings  Matrix // [MaxPositions, hidden]
	TokenTypeEmbeddings Matrix // [TypeVocab, hidden]
	EmbeddingNorm       LayerNorm
	Layers              []Layer
	// Pooler is the head's hidden dense layer, followed by tanh: BERT's
	// pooler.dense or RoBERTa's classifier.dense. nil for heads that project
	// h_cls directly.
	Pooler *Dense
	// Classifier is the output projection [labels, hidden]: BERT's
	// classifier or RoBERTa's classifier.out_proj. nil for embedding models.
	Classifier *Dense
	// MLM is a BertForMaskedLM's head (SPLADE models); nil otherwise.
	MLM *MLMHead
}

// VocabSize is the number of token ids the model accepts.
func (w *Weights) VocabSize() int { return w.WordEmbeddings.Rows }
