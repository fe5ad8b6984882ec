package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// TensorInfo describes one tensor of a checkpoint.
type TensorInfo struct {
	Name  string
	Shape []int64 // row-major, as in PyTorch: a linear layer is [out, in]
	DType DType
}

// Checkpoint is an opened model directory. Its methods read tensors on
// demand; Close releases the files.
type Checkpoint struct {
	path     string // the file or index Open chose, for error messages
	tensors  map[string]*tensor
	metadata map[string]string
	files    []io.Closer
}

// tensor locates one tensor's elements inside a storage.
type tensor struct {
	info   TensorInfo
	src    io.ReaderAt // the storage: a safetensors file or a torch zip member
	offset int64       // byte offset of element 0 in src
	// strides in elements, only for torch tensors that are not contiguous
	// row-major; nil otherwise.
	strides []int64
	file    string // for error messages
}

// shard is what one checkpoint file contributes.
type shard struct {
	file     io.Closer
	tensors  map[string]*tensor
	metadata map[string]string
}

// layouts are the files Open looks for, in Hugging Face's order of
// preference (transformers' modeling_utils tries safetensors first).
var layouts = []struct {
	name    string
	sharded bool
	read    func(f *os.File, path string) (*shard, error)
}{
	{"model.safetensors.index.json", true, readSafetensors},
	{"model.safetensors", false, readSafetensors},
	{"pytorch_model.bin.index.json", true, readTorch},
	{"pytorch_model.bin", false, readTorch},
}

// Open opens the checkpoint of the Hugging Face model directory dir.
func Open(dir string) (*Checkpoint, error) {
	var tried []string
	for _, l := range layouts {
		path := filepath.Join(dir, l.name)
		if _, err := os.Stat(path); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("checkpoint: %w", err)
			}
			tried = append(tried, l.name)
			continue
		}
		files := []string{path}
		if l.sharded {
			var err error
			if files, err = shardFiles(path); err != nil {
				return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
			}
		}
		c := &Checkpoint{path: path, tensors: map[string]*tensor{}, metadata: map[string]string{}}
		for _, f := range files {
			s, err := openShard(f, l.read)
			if err == nil {
				err = c.add(s)
			}
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("checkpoint: %s: %w", f, err)
			}
		}
		if l.sharded {
			if err := c.checkIndex(path); err != nil {
				c.Close()
				return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("checkpoint: no weights in %s: looked for %s", dir, strings.Join(tried, ", "))
}

// openShard opens path and reads its tensor index; the shard keeps the file
// open for reading tensors later.
func openShard(path string, read func(*os.File, string) (*shard, error)) (*shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := read(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (c *Checkpoint) add(s *shard) error {
	c.files = append(c.files, s.file)
	for name, t := range s.tensors {
		if prev, ok := c.tensors[name]; ok {
			return fmt.Errorf("tensor %q is also in %s", name, prev.file)
		}
		c.tensors[name] = t
	}
	maps.Copy(c.metadata, s.metadata)
	return nil
}

// shardIndex is model.safetensors.index.json or pytorch_model.bin.index.json.
type shardIndex struct {
	WeightMap map[string]string `json:"weight_map"`
}

func readShardIndex(path string) (*shardIndex, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx shardIndex
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("invalid index: %w", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, errors.New("index has no weight_map")
	}
	return &idx, nil
}

// shardFiles lists the distinct files an index names, sorted.
func shardFiles(indexPath string) ([]string, error) {
	idx, err := readShardIndex(indexPath)
	if err != nil {
		return nil, err
	}
	var files []string
	for name, file := range idx.WeightMap {
		if !filepath.IsLocal(file) {
			return nil, fmt.Errorf("tensor %q: shard %q is outside the model directory", name, file)
		}
		files = append(files, filepath.Join(filepath.Dir(indexPath), file))
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// checkIndex makes sure every tensor the index promises was found in the
// shard it names, so a truncated download fails here rather than as a
// missing tensor deep inside a conversion.
func (c *Checkpoint) checkIndex(indexPath string) error {
	idx, err := readShardIndex(indexPath)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(idx.WeightMap)) {
		want := filepath.Join(filepath.Dir(indexPath), idx.WeightMap[name])
		t, ok := c.tensors[name]
		switch {
		case !ok:
			return fmt.Errorf("tensor %q is not in its shard %s", name, idx.WeightMap[name])
		case t.file != want:
			return fmt.Errorf("tensor %q is in %s, but the index says %s", name, t.file, idx.WeightMap[name])
		}
	}
	return nil
}

// Path is the checkpoint file, or the index of a sharded one, that Open chose.
func (c *Checkpoint) Path() string { return c.path }

// Metadata is the union of the safetensors files' __metadata__ (empty for
// PyTorch checkpoints).
func (c *Checkpoint) Metadata() map[string]string { return maps.Clone(c.metadata) }

// Tensors describes every tensor, sorted by name.
func (c *Checkpoint) Tensors() []TensorInfo {
	out := make([]TensorInfo, 0, len(c.tensors))
	for _, name := range slices.Sorted(maps.Keys(c.tensors)) {
		out = append(out, c.tensors[name].info.clone())
	}
	return out
}

// Info describes the named tensor.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	t, ok := c.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return t.info.clone(), true
}

// clone keeps callers from changing the checkpoint's shapes.
func (ti TensorInfo) clone() TensorInfo {
	ti.Shape = slices.Clone(ti.Shape)
	return ti
}

// Raw returns the named tensor's elements in its stored dtype, little-endian,
// row-major and contiguous.
func (c *Checkpoint) Raw(name string) ([]byte, error) {
	t, ok := c.tensors[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint: %s has no tensor %q", c.path, name)
	}
	b, err := t.read()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: tensor %q in %s: %w", name, t.file, err)
	}
	return b, nil
}

// Float32 returns the named F32, F16 or BF16 tensor as float32, row-major.
// Widening is exact.
func (c *Checkpoint) Float32(name string) ([]float32, error) {
	t, ok := c.tensors[name]
	if ok && !t.info.DType.IsFloat() {
		return nil, fmt.Errorf("checkpoint: tensor %q has dtype %s, not a float type", name, t.info.DType)
	}
	b, err := c.Raw(name)
	if err != nil {
		return nil, err
	}
	return decodeFloat32(t.info.DType, b)
}

// Close closes the checkpoint's files.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	c.files = nil
	return errors.Join(errs...)
}

// numel is the number of elements of shape, or -1 when a dimension is
// negative or the count would exceed limit.
func numel(shape []int64, limit int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && n > limit/d) {
			return -1
		}
		n *= d
	}
	return n
}

// read returns the tensor's elements, contiguous and row-major.
func (t *tensor) read() ([]byte, error) {
	size := int64(t.info.DType.Size())
	n := numel(t.info.Shape, 1<<62)
	if t.strides == nil || n == 0 {
		buf := make([]byte, n*size)
		if err := readFull(t.src, buf, t.offset); err != nil {
			return nil, err
		}
		return buf, nil
	}
	// Read the span the strides cover, then gather. Open checked that the
	// span lies inside the storage.
	span := int64(1)
	for i, d := range t.info.Shape {
		span += (d - 1) * t.strides[i]
	}
	src := make([]byte, span*size)
	if err := readFull(t.src, src, t.offset); err != nil {
		return nil, err
	}
	out := make([]byte, 0, n*size)
	index := make([]int64, len(t.info.Shape))
	for range n {
		var at int64
		for i, x := range index {
			at += x * t.strides[i]
		}
		out = append(out, src[at*size:(at+1)*size]...)
		for i := len(index) - 1; i >= 0; i-- {
			if index[i]++; index[i] < t.info.Shape[i] {
				break
			}
			index[i] = 0
		}
	}
	return out, nil
}

func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
