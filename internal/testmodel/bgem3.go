package testmodel

import (
	"archive/zip"
	"encoding/binary"
	"os"
	"path/filepath"

	"github.com/rerank-api/rerank-api/convert/checkpoint"
	"github.com/rerank-api/rerank-api/internal/reference"
)

// GenerateM3Heads draws BGE-M3's sparse and ColBERT heads for a model of
// cfg's width, seeded by cfg.Seed. The sparse bias is positive so that
// most tokens keep a weight after the relu, as trained heads do.
func GenerateM3Heads(cfg Config) reference.M3Heads {
	g := generator{seed: cfg.Seed, std: 0.3}
	sparse := g.dense("sparse_linear", 1, cfg.Hidden)
	sparse.Bias[0] = 0.2
	return reference.M3Heads{Sparse: sparse, ColBERT: g.dense("colbert_linear", cfg.Hidden, cfg.Hidden)}
}

// WriteM3Heads writes the heads as BGE-M3's repository holds them:
// sparse_linear.pt and colbert_linear.pt in dir, each the torch.save zip
// of a Linear's state dict (weight [out, in], bias [out]).
func WriteM3Heads(dir string, h reference.M3Heads) error {
	for name, d := range map[string]reference.Dense{"sparse_linear": h.Sparse, "colbert_linear": h.ColBERT} {
		if err := writeLinearPT(filepath.Join(dir, name+".pt"), name, d); err != nil {
			return err
		}
	}
	return nil
}

// writeLinearPT writes a Linear's state dict as torch.save does.
func writeLinearPT(path, prefix string, d reference.Dense) error {
	out, in := int64(d.Weight.Rows), int64(d.Weight.Cols)
	return writeStateDictPT(path, prefix, []ptTensor{
		{"weight", "0", []int64{out, in}, d.Weight.Data},
		{"bias", "1", []int64{out}, d.Bias},
	})
}

// ptTensor is one contiguous f32 tensor of a state dict on storage key;
// tensors naming the same key share it, as tied weights do.
type ptTensor struct {
	name, key string
	shape     []int64
	data      []float32
}

// writeStateDictPT writes a state dict as torch.save does:
// <prefix>/data.pkl (protocol 2: an OrderedDict of _rebuild_tensor_v2
// calls on persistent storages), one member per storage, byteorder and
// version.
func writeStateDictPT(path, prefix string, tensors []ptTensor) error {
	p := pickle{}.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(')
	members := []struct {
		name string
		data []byte
	}{{"byteorder", []byte("little")}, {"version", []byte("3\n")}}
	stored := map[string]bool{}
	for _, t := range tensors {
		strides := make([]int64, len(t.shape))
		stride := int64(1)
		for i := len(t.shape) - 1; i >= 0; i-- {
			strides[i] = stride
			stride *= t.shape[i]
		}
		p = p.tensor(t.name, t.key, t.shape, strides)
		if !stored[t.key] {
			stored[t.key] = true
			members = append(members, struct {
				name string
				data []byte
			}{"data/" + t.key, checkpoint.F32Bytes(t.data)})
		}
	}
	p = p.op('u', '.')
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, m := range append([]struct {
		name string
		data []byte
	}{{"data.pkl", p}}, members...) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + "/" + m.name, Method: zip.Store})
		if err == nil {
			_, err = w.Write(m.data)
		}
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pickle assembles pickle opcodes.
type pickle []byte

func (p pickle) op(b ...byte) pickle { return append(p, b...) }

// str is BINUNICODE.
func (p pickle) str(s string) pickle {
	return append(binary.LittleEndian.AppendUint32(append(p, 'X'), uint32(len(s))), s...)
}

// int is BININT, which holds any size the heads have.
func (p pickle) int(n int64) pickle {
	return binary.LittleEndian.AppendUint32(append(p, 'J'), uint32(int32(n)))
}

func (p pickle) global(module, name string) pickle {
	return append(append(p, 'c'), module+"\n"+name+"\n"...)
}

func (p pickle) tuple(v []int64) pickle {
	p = p.op('(')
	for _, x := range v {
		p = p.int(x)
	}
	return p.op('t')
}

// tensor pushes name and a float32 tensor on storage key, contiguous.
func (p pickle) tensor(name, key string, shape, strides []int64) pickle {
	numel := int64(1)
	for _, s := range shape {
		numel *= s
	}
	p = p.str(name).global("torch._utils", "_rebuild_tensor_v2").op('(')
	p = p.op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").int(numel).op('t', 'Q')
	p = p.int(0).tuple(shape).tuple(strides)
	return p.op(0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R')
}
