package checkpoint

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// maxHeader bounds the JSON header as the safetensors reference
// implementation does (100 MB), so a corrupt length cannot make Open
// allocate gigabytes.
const maxHeader = 100 << 20

type safetensorsEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"` // [begin, end) relative to the data section
}

// readSafetensors parses a safetensors file's header and checks that every
// tensor lies inside the file with the size its shape and dtype imply.
func readSafetensors(f *os.File, path string) (*shard, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var head [8]byte
	if err := readFull(f, head[:], 0); err != nil {
		return nil, errors.New("not a safetensors file: shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(head[:])
	if n > maxHeader || int64(n) > st.Size()-8 {
		return nil, fmt.Errorf("not a safetensors file: header length %d does not fit a %d-byte file", n, st.Size())
	}
	header := make([]byte, n)
	if err := readFull(f, header, 8); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("invalid safetensors header: %w", err)
	}
	dataStart := 8 + int64(n)
	dataLen := st.Size() - dataStart
	s := &shard{file: f, tensors: map[string]*tensor{}, metadata: map[string]string{}}
	var spans [][2]int64
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &s.metadata); err != nil {
				return nil, fmt.Errorf("invalid __metadata__ (want string values): %w", err)
			}
			continue
		}
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if err := e.check(dataLen); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if e.DataOffsets[1] > e.DataOffsets[0] {
			spans = append(spans, [2]int64{e.DataOffsets[0], e.DataOffsets[1]})
		}
		s.tensors[name] = &tensor{
			info:   TensorInfo{Name: name, Shape: append([]int64{}, e.Shape...), DType: e.DType},
			src:    f,
			offset: dataStart + e.DataOffsets[0],
			file:   path,
		}
	}
	// The reference implementation refuses tensors that share bytes: a
	// header of many entries over one span would make a reader copy the
	// file many times over.
	slices.SortFunc(spans, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			return nil, fmt.Errorf("tensors overlap at data offset %d", spans[i][0])
		}
	}
	return s, nil
}

func (e safetensorsEntry) check(dataLen int64) error {
	size := int64(e.DType.Size())
	if size == 0 {
		return fmt.Errorf("unknown dtype %q", e.DType)
	}
	if len(e.DataOffsets) != 2 {
		return fmt.Errorf("data_offsets %v: want [begin, end]", e.DataOffsets)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return fmt.Errorf("data_offsets [%d, %d] outside the %d-byte data section (truncated file?)", begin, end, dataLen)
	}
	n := numel(e.Shape, dataLen/size+1)
	if n < 0 || n*size != end-begin {
		return fmt.Errorf("shape %v of %s needs %d bytes, data_offsets give %d", e.Shape, e.DType, n*size, end-begin)
	}
	return nil
}

// NamedTensor is one tensor for WriteSafetensors.
type NamedTensor struct {
	Name  string
	Shape []int64 // row-major
	DType DType
	Data  []byte // little-endian, row-major, len = product(Shape) × DType.Size()
}

// WriteSafetensors writes tensors, in the given order, and metadata (the
// header's __metadata__; may be nil) as a safetensors file at path.
func WriteSafetensors(path string, tensors []NamedTensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, t := range tensors {
		if _, dup := header[t.Name]; dup || t.Name == "" {
			return fmt.Errorf("checkpoint: tensor name %q is empty, reserved or repeated", t.Name)
		}
		e := safetensorsEntry{DType: t.DType, Shape: append([]int64{}, t.Shape...)}
		e.DataOffsets = []int64{offset, offset + int64(len(t.Data))}
		offset += int64(len(t.Data))
		if err := e.check(offset); err != nil {
			return fmt.Errorf("checkpoint: tensor %q: %w", t.Name, err)
		}
		header[t.Name] = e
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	// Pad with spaces so the data section starts 8-byte aligned, as the
	// reference writer does; readers that mmap the file rely on it.
	js = append(js, bytes.Repeat([]byte(" "), (8-len(js)%8)%8)...)

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	w := bufio.NewWriter(f)
	binary.Write(w, binary.LittleEndian, uint64(len(js)))
	w.Write(js)
	for _, t := range tensors {
		w.Write(t.Data)
	}
	err = w.Flush() // bufio keeps the first write error
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
