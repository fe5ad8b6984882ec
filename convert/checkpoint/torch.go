package checkpoint

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
)

// maxDeflateRatio is the most deflate can expand its input.
const maxDeflateRatio = 1032

// maxPickle bounds data.pkl, which describes tensors but holds none of
// their data: a few hundred kilobytes even for billion-parameter models.
const maxPickle = 256 << 20

// torchStorageTypes maps the storage classes torch.save names in persistent
// ids (torch.FloatStorage, ...) to the dtype of their elements.
var torchStorageTypes = map[string]DType{
	"FloatStorage": F32, "HalfStorage": F16, "BFloat16Storage": BF16, "DoubleStorage": "F64",
	"LongStorage": I64, "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL",
}

// storageType is the value of a GLOBAL naming a storage class.
type storageType struct{ dtype DType }

// torchStorage is one storage of the archive: the file <prefix>data/<key>.
type torchStorage struct {
	dtype DType
	numel int64
	src   io.ReaderAt
}

// torchTensor is a view into a storage, as _rebuild_tensor_v2 describes it.
type torchTensor struct {
	storage        *torchStorage
	offset         int64 // in elements
	shape, strides []int64
}

// torchReader holds what the unpickler's callbacks need.
type torchReader struct {
	file     *os.File
	size     int64 // of file
	members  map[string]*zip.File
	prefix   string // "pytorch_model/" or "archive/": the archive's top directory
	storages map[string]*torchStorage
}

// readTorch reads a torch.save zip archive whose pickle is a state dict.
func readTorch(f *os.File, file string) (*shard, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("not a zip archive (%w): checkpoints saved by torch < 1.6 are not supported; "+
			"re-save with a current torch or convert to safetensors", err)
	}
	r := &torchReader{file: f, size: st.Size(), members: map[string]*zip.File{}, storages: map[string]*torchStorage{}}
	var pkl *zip.File
	for _, zf := range zr.File {
		r.members[zf.Name] = zf
		if dir, base := path.Split(zf.Name); base == "data.pkl" && strings.Count(dir, "/") == 1 {
			pkl = zf
		}
	}
	if pkl == nil {
		return nil, errors.New("no <dir>/data.pkl in the archive: not a torch.save checkpoint")
	}
	r.prefix = strings.TrimSuffix(pkl.Name, "data.pkl")
	// torch ≥ 2.1 records the byte order of the storages; older versions
	// wrote only little-endian files.
	if bo := r.members[r.prefix+"byteorder"]; bo != nil {
		b, err := readMember(bo, 16)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, fmt.Errorf("storages are %q-endian; only little-endian is supported", b)
		}
	}
	data, err := readMember(pkl, maxPickle)
	if err != nil {
		return nil, err
	}
	u := &unpickler{findClass: torchFindClass, persistentLoad: r.persistentLoad}
	v, err := u.load(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return r.stateDict(v, file)
}

// stateDict turns the unpickled {name: tensor} dict into the shard's tensors.
func (r *torchReader) stateDict(v any, file string) (*shard, error) {
	dict, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("the pickle holds a %T, not a state dict", v)
	}
	s := &shard{file: r.file, tensors: map[string]*tensor{}}
	for i, k := range dict.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %v is a %T, not a string", k, k)
		}
		t, ok := dict.values[i].(*torchTensor)
		if !ok {
			return nil, fmt.Errorf("state dict entry %q is a %T, not a tensor", name, dict.values[i])
		}
		size := int64(t.storage.dtype.Size())
		s.tensors[name] = &tensor{
			info:    TensorInfo{Name: name, Shape: t.shape, DType: t.storage.dtype},
			src:     t.storage.src,
			offset:  t.offset * size,
			strides: t.strides,
			file:    file,
		}
	}
	return s, nil
}

func readMember(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d expected", zf.Name, zf.UncompressedSize64, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// torchFindClass is the unpickler's allow-list: the callables torch.save
// uses to rebuild a state dict, and the storage classes. Anything else is
// refused by name.
func torchFindClass(module, name string) (any, error) {
	full := module + "." + name
	switch full {
	case "collections.OrderedDict":
		return pyCallable{full, func(args pyTuple) (any, error) {
			if len(args) != 0 {
				return nil, fmt.Errorf("%d arguments, want none", len(args))
			}
			return &pyDict{}, nil
		}}, nil
	case "torch._utils._rebuild_tensor_v2":
		return pyCallable{full, rebuildTensor}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		// (data, requires_grad, backward_hooks[, state]): a Parameter is
		// its data for reading purposes.
		return pyCallable{full, func(args pyTuple) (any, error) {
			if len(args) < 3 {
				return nil, fmt.Errorf("%d arguments, want at least 3", len(args))
			}
			if _, ok := args[0].(*torchTensor); !ok {
				return nil, fmt.Errorf("data is a %T, not a tensor", args[0])
			}
			return args[0], nil
		}}, nil
	}
	if dtype, ok := torchStorageTypes[name]; ok && module == "torch" {
		return storageType{dtype}, nil
	}
	return nil, fmt.Errorf("refusing to load %s: only tensors, parameters and OrderedDicts of a state dict are supported", full)
}

// rebuildTensor implements torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args pyTuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("%d arguments, want 6 or 7", len(args))
	}
	storage, ok1 := args[0].(*torchStorage)
	offset, ok2 := args[1].(int64)
	shape, ok3 := int64s(args[2])
	strides, ok4 := int64s(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || len(shape) != len(strides) || offset < 0 {
		return nil, fmt.Errorf("arguments (%T, %v, %v, %v) are not (storage, offset, size, stride)",
			args[0], args[1], args[2], args[3])
	}
	n := numel(shape, storage.numel+1)
	if n < 0 {
		return nil, fmt.Errorf("size %v does not fit its storage of %d elements", shape, storage.numel)
	}
	contiguous, last := true, offset
	want := int64(1) // the row-major stride of dimension i
	pastEnd := n > 0 && offset >= storage.numel
	for i := len(shape) - 1; i >= 0; i-- {
		if strides[i] < 0 {
			return nil, fmt.Errorf("negative stride %v", strides)
		}
		if shape[i] > 1 && strides[i] != want {
			contiguous = false
		}
		// Compared by division: a huge stride must not wrap the product
		// around into the storage.
		if n > 0 && !pastEnd && shape[i] > 1 {
			if strides[i] > (storage.numel-1-last)/(shape[i]-1) {
				pastEnd = true
			} else {
				last += (shape[i] - 1) * strides[i]
			}
		}
		want *= shape[i]
	}
	if pastEnd {
		return nil, fmt.Errorf("size %v, stride %v and offset %d reach past the storage's %d elements",
			shape, strides, offset, storage.numel)
	}
	t := &torchTensor{storage: storage, offset: offset, shape: shape}
	if !contiguous {
		t.strides = strides
	}
	return t, nil
}

func int64s(v any) ([]int64, bool) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		if out[i], ok = x.(int64); !ok {
			return nil, false
		}
	}
	return out, true
}

// persistentLoad resolves a storage reference, the tuple ('storage',
// storage class, key, location, numel), to the archive member holding it.
// Tensors that share a storage (tied embeddings) share the result.
func (r *torchReader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %v is not a storage reference", pid)
	}
	typ, ok1 := t[1].(storageType)
	key, ok2 := t[2].(string)
	n, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || n < 0 {
		return nil, fmt.Errorf("storage reference %v is not (storage, class, key, location, numel)", t)
	}
	if s, ok := r.storages[key]; ok {
		if s.dtype != typ.dtype || s.numel != n {
			return nil, fmt.Errorf("storage %q is used as both %s[%d] and %s[%d]", key, s.dtype, s.numel, typ.dtype, n)
		}
		return s, nil
	}
	zf := r.members[r.prefix+"data/"+key]
	if zf == nil {
		return nil, fmt.Errorf("storage %q: no %sdata/%s in the archive", key, r.prefix, key)
	}
	size := int64(typ.dtype.Size())
	if n > (1<<62)/size || zf.UncompressedSize64 < uint64(n*size) {
		return nil, fmt.Errorf("storage %q: %d bytes hold fewer than %d %s elements", key, zf.UncompressedSize64, n, typ.dtype)
	}
	s := &torchStorage{dtype: typ.dtype, numel: n}
	if zf.Method == zip.Store {
		// torch.save stores members uncompressed: read them in place. The
		// sizes come from the archive's directory, so check them against
		// the file before anything is allocated by them.
		off, err := zf.DataOffset()
		if err != nil {
			return nil, err
		}
		if zf.CompressedSize64 != zf.UncompressedSize64 || zf.UncompressedSize64 > uint64(r.size-off) {
			return nil, fmt.Errorf("storage %q: its %d bytes do not fit in the archive (truncated file?)", key, zf.UncompressedSize64)
		}
		s.src = io.NewSectionReader(r.file, off, int64(zf.UncompressedSize64))
	} else {
		// Deflate cannot expand a byte into more than 1032: a member
		// claiming more is a zip bomb or corrupt.
		if zf.UncompressedSize64/maxDeflateRatio > zf.CompressedSize64 {
			return nil, fmt.Errorf("storage %q: %d bytes cannot inflate to %d", key, zf.CompressedSize64, zf.UncompressedSize64)
		}
		s.src = &compressedMember{zf: zf}
	}
	r.storages[key] = s
	return s, nil
}

// compressedMember decompresses an archive member on first use, for
// archives repacked with compression.
type compressedMember struct {
	zf   *zip.File
	once sync.Once
	data []byte
	err  error
}

func (m *compressedMember) ReadAt(p []byte, off int64) (int, error) {
	m.once.Do(func() { m.data, m.err = readMember(m.zf, 1<<62) })
	if m.err != nil {
		return 0, m.err
	}
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
