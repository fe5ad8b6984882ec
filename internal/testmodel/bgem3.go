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

// writeLinearPT writes a Linear's state dict as torch.save does:
// <prefix>/data.pkl (protocol 2: an OrderedDict of _rebuild_tensor_v2
// calls on persistent storages), one member per storage, byteorder and
// version.
func writeLinearPT(path, prefix string, d reference.Dense) error {
	out, in := int64(d.Weight.Rows), int64(d.Weight.Cols)
	p := pickle{}.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(')
	p = p.tensor("weight", "0", []int64{out, in}, []int64{in, 1})
	p = p.tensor("bias", "1", []int64{out}, []int64{1})
	p = p.op('u', '.')
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"data.pkl", p},
		{"byteorder", []byte("little")},
		{"data/0", checkpoint.F32Bytes(d.Weight.Data)},
		{"data/1", checkpoint.F32Bytes(d.Bias)},
		{"version", []byte("3\n")},
	} {
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
