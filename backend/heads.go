package backend

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// m3Heads are BGE-M3's sparse and ColBERT heads (FlagEmbedding's
// BGEM3FlagModel): two Linear layers applied to the encoder's token
// states. Either may be absent (nil weight).
type m3Heads struct {
	hidden int
	// sparse: Linear(hidden, 1); one weight per token after a relu.
	sparseW []float32
	sparseB float32
	// colbert: Linear(hidden, dim), row-major [dim][hidden].
	colbertW   []float32
	colbertB   []float32
	colbertDim int
}

// loadHeads reads the heads the model GGUF at modelPath names (model is
// that GGUF loaded), checking the companion file against the checksum the
// model records. It returns nil, nil when the model names no heads.
func loadHeads(model Model, modelPath string) (*m3Heads, error) {
	path, data, err := readHeadsFile(model, modelPath)
	if path == "" || err != nil {
		return nil, err
	}
	meta, err := gguf.ReadMetadata(path)
	if err != nil {
		return nil, err
	}
	tensor := func(name string) ([]float32, []uint64, error) {
		for _, t := range meta.Tensors {
			if t.Name != name {
				continue
			}
			if t.Type != gguf.TensorF32 {
				return nil, nil, fmt.Errorf("%s: tensor %s is %s, want f32", path, name, t.Type)
			}
			n := uint64(1)
			for _, d := range t.Ne {
				n *= d
			}
			start := uint64(meta.DataOffset) + t.Offset
			if start+4*n > uint64(len(data)) {
				return nil, nil, fmt.Errorf("%s: tensor %s runs past the end of the file", path, name)
			}
			v := make([]float32, n)
			if err := binary.Read(bytes.NewReader(data[start:start+4*n]), binary.LittleEndian, v); err != nil {
				return nil, nil, err
			}
			return v, t.Ne, nil
		}
		return nil, nil, nil
	}
	h := &m3Heads{}
	sw, sne, err := tensor(keys.SparseWeight)
	if err != nil {
		return nil, err
	}
	sb, _, err := tensor(keys.SparseBias)
	if err != nil {
		return nil, err
	}
	if sw != nil {
		if len(sne) != 2 || sne[1] != 1 || len(sb) != 1 {
			return nil, fmt.Errorf("%s: the sparse head must be a Linear(hidden, 1)", path)
		}
		h.hidden, h.sparseW, h.sparseB = int(sne[0]), sw, sb[0]
	}
	cw, cne, err := tensor(keys.ColBERTWeight)
	if err != nil {
		return nil, err
	}
	cb, _, err := tensor(keys.ColBERTBias)
	if err != nil {
		return nil, err
	}
	if cw != nil {
		if len(cne) != 2 || len(cb) != int(cne[1]) || (h.hidden != 0 && int(cne[0]) != h.hidden) {
			return nil, fmt.Errorf("%s: the ColBERT head must be a Linear(hidden, dim) of the sparse head's width", path)
		}
		h.hidden, h.colbertW, h.colbertB, h.colbertDim = int(cne[0]), cw, cb, int(cne[1])
	}
	if sw == nil && cw == nil {
		return nil, fmt.Errorf("%s holds neither a sparse nor a ColBERT head", path)
	}
	return h, nil
}

// readHeadsFile reads the companion file the model GGUF at modelPath
// names and checks it against the SHA-256 the model records; path is ""
// when the model names none.
func readHeadsFile(model Model, modelPath string) (path string, data []byte, err error) {
	name := model.Meta(keys.HeadsFile)
	if name == "" {
		return "", nil, nil
	}
	if filepath.Base(name) != name {
		return "", nil, fmt.Errorf("%s %q must be a file name beside the model", keys.HeadsFile, name)
	}
	path = filepath.Join(filepath.Dir(modelPath), name)
	data, err = os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("the model's heads: %w; delete %s and pull or convert it again", err, modelPath)
	}
	sum := sha256.Sum256(data)
	if want := model.Meta(keys.HeadsSHA256); hex.EncodeToString(sum[:]) != want {
		return "", nil, fmt.Errorf("%s has SHA-256 %x but the model records %s; delete both files and pull or convert the model again", path, sum, want)
	}
	return path, data, nil
}

// specialIDs are the tokens the sparse output leaves out, FlagEmbedding's
// unused_tokens: CLS, EOS, PAD and UNK (<s>, </s>, <pad>, <unk> in
// XLM-R), and a BERT vocabulary's [SEP], which closes a sequence as </s>
// does. Other control tokens (<mask>) keep their weight, as there.
func specialIDs(model Model) func(int32) bool {
	info := model.Info()
	ids := map[int32]bool{info.BOS: true, info.EOS: true, info.SEP: true}
	for _, key := range []string{"tokenizer.ggml.cls_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"} {
		if id, err := strconv.ParseInt(model.Meta(key), 10, 32); err == nil {
			ids[int32(id)] = true
		}
	}
	delete(ids, -1)
	return func(id int32) bool { return ids[id] }
}

// SparseWeight is one token id's lexical weight.
type SparseWeight struct {
	ID     int32
	Weight float32
	// Text is the token's vocabulary entry, when asked for.
	Text string
}

// sparse is one sequence's lexical weights: relu(w·h_t + b) per token,
// specials left out, the largest weight of a repeated id, zero weights
// dropped (FlagEmbedding keeps w > 0); sorted by id.
func (h *m3Heads) sparse(ids []int32, states [][]float32, special func(int32) bool) []SparseWeight {
	best := map[int32]float32{}
	for t, id := range ids {
		if special(id) {
			continue
		}
		w := dot32(h.sparseW, states[t]) + h.sparseB
		if w > 0 && w > best[id] {
			best[id] = w
		}
	}
	out := make([]SparseWeight, 0, len(best))
	for id, w := range best {
		out = append(out, SparseWeight{ID: id, Weight: w})
	}
	slices.SortFunc(out, func(a, b SparseWeight) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// colbert is one normalized vector per token after the first: the
// ColBERT head on states[1:], which keeps the closing special token as
// FlagEmbedding does.
func (h *m3Heads) colbert(states [][]float32) [][]float32 {
	rows := states[1:]
	out := make([][]float32, len(rows))
	flat := make([]float32, len(rows)*h.colbertDim)
	for t := range out {
		out[t] = flat[t*h.colbertDim : (t+1)*h.colbertDim : (t+1)*h.colbertDim]
	}
	// Four tokens per pass over the weight: each row is read from memory
	// once for four dot products, which is what bounds this loop.
	t := 0
	for ; t+4 <= len(rows); t += 4 {
		a, b, c, d := rows[t], rows[t+1], rows[t+2], rows[t+3]
		for o := range h.colbertDim {
			w := h.colbertW[o*h.hidden : (o+1)*h.hidden]
			sa, sb, sc, sd := dot4(w, a, b, c, d)
			bias := h.colbertB[o]
			out[t][o], out[t+1][o], out[t+2][o], out[t+3][o] = sa+bias, sb+bias, sc+bias, sd+bias
		}
	}
	for ; t < len(rows); t++ {
		for o := range h.colbertDim {
			out[t][o] = dot32(h.colbertW[o*h.hidden:(o+1)*h.hidden], rows[t]) + h.colbertB[o]
		}
	}
	for _, v := range out {
		l2Normalize(v)
	}
	return out
}

// dot32 is a float32 dot product with four accumulators, which lets the
// CPU overlap the multiply-adds.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4 is w's dot product with four vectors at once.
func dot4(w, a, b, c, d []float32) (sa, sb, sc, sd float32) {
	a, b, c, d = a[:len(w)], b[:len(w)], c[:len(w)], d[:len(w)]
	for i, x := range w {
		sa += x * a[i]
		sb += x * b[i]
		sc += x * c[i]
		sd += x * d[i]
	}
	return
}
