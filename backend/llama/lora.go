package llama

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// Adapter is a LoRA adapter GGUF loaded for one Model (llama.cpp's
// llama_adapter_lora): low-rank deltas llama.cpp adds to the model's
// matrices at compute time in every Context it is set on. The model frees
// its adapters when it is closed.
type Adapter struct {
	c     *C.struct_llama_adapter_lora
	model *Model
}

// adapterCache holds a Model's adapters by path.
type adapterCache struct {
	mu     sync.Mutex
	byPath map[string]*Adapter
}

// Adapter returns the adapter GGUF at path, loading it on first use: its
// tensors are kept once per model however many contexts apply it.
func (m *Model) Adapter(path string) (*Adapter, error) {
	m.adapters.mu.Lock()
	defer m.adapters.mu.Unlock()
	if a, ok := m.adapters.byPath[path]; ok {
		return a, nil
	}
	a, err := m.LoadAdapter(path)
	if err != nil {
		return nil, err
	}
	if m.adapters.byPath == nil {
		m.adapters.byPath = map[string]*Adapter{}
	}
	m.adapters.byPath[path] = a
	return a, nil
}

// LoadAdapter loads the adapter GGUF at path, which must have been made for
// m's architecture and tensor shapes. llama.cpp frees it with the model.
func (m *Model) LoadAdapter(path string) (*Adapter, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var errs callErrors
	a := C.rr_adapter_lora_init(m.c, cpath, errs.buf())
	if a == nil {
		return nil, fmt.Errorf("cannot load LoRA adapter %s: %s", path, errs.text("llama.cpp rejected the file (not an adapter for this model?)"))
	}
	return &Adapter{c: a, model: m}, nil
}

// Meta returns one of the adapter's GGUF metadata values as a string
// (adapter.lora.task_name, adapter.lora.prompt_prefix), "" when absent.
func (a *Adapter) Meta(key string) string {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	buf := make([]byte, 256)
	for {
		n := C.llama_adapter_meta_val_str(a.c, ckey, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		if n < 0 {
			return ""
		}
		if int(n) < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, int(n)+1)
	}
}

// SetAdapter makes every later Encode of c compute with a's deltas at
// scale 1 (the adapter's own alpha/rank applies on top, as llama.cpp
// defines it). The adapter must belong to c's model. A Context computes
// with the adapters set when it encodes, so switching between batches is
// allowed; the engine keeps one adapter per context instead, so batches
// never mix tasks.
func (c *Context) SetAdapter(a *Adapter) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.model != c.model {
		return fmt.Errorf("LoRA adapter belongs to another model")
	}
	if c.c == nil {
		return fmt.Errorf("context is closed")
	}
	if rc := C.llama_set_adapter_lora(c.c, a.c, 1); rc != 0 {
		return fmt.Errorf("llama.cpp refused the LoRA adapter (code %d)", int(rc))
	}
	return nil
}
