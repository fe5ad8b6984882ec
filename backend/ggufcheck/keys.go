package ggufcheck

import (
	"fmt"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

func hasKey(m *gguf.Metadata, key string) bool {
	_, ok := m.Value(key)
	return ok
}

// str reads a string key; "" when absent and not required.
func str(m *gguf.Metadata, key string, required bool) (string, error) {
	v, ok := m.Value(key)
	if !ok {
		if required {
			return "", fmt.Errorf("required key %s is missing", key)
		}
		return "", nil
	}
	s, isString := v.(string)
	if !isString || (required && s == "") {
		return "", fmt.Errorf("%s = %v is not a non-empty string", key, v)
	}
	return s, nil
}

// uint32Key reads a key llama.cpp reads as uint32_t; 0 when absent and not
// required.
func uint32Key(m *gguf.Metadata, key string, required bool) (uint64, error) {
	v, ok := m.Value(key)
	if !ok {
		if required {
			return 0, fmt.Errorf("required key %s is missing", key)
		}
		return 0, nil
	}
	n, isU32 := v.(uint32)
	if !isU32 {
		return 0, fmt.Errorf("%s is a %T, llama.cpp reads it as uint32", key, v)
	}
	return uint64(n), nil
}

// positive reads a uint32 key that must not be 0 when present.
func positive(m *gguf.Metadata, key string, required bool) (uint64, error) {
	n, err := uint32Key(m, key, required)
	if err == nil && n == 0 && hasKey(m, key) {
		err = fmt.Errorf("%s is 0", key)
	}
	return n, err
}

// perLayer reads a key llama.cpp reads with get_key_or_arr: one uint32 for
// every layer, or an array of one per layer. Each must be positive. nil
// when absent.
func perLayer(m *gguf.Metadata, key string, layers uint64) ([]uint64, error) {
	v, ok := m.Value(key)
	if !ok {
		return nil, nil
	}
	var values []uint64
	switch x := v.(type) {
	case uint32:
		for range layers {
			values = append(values, uint64(x))
		}
	case []uint32:
		if uint64(len(x)) != layers {
			return nil, fmt.Errorf("%s has %d entries for %d layers", key, len(x), layers)
		}
		for _, n := range x {
			values = append(values, uint64(n))
		}
	default:
		return nil, fmt.Errorf("%s is a %T, want a uint32 or one per layer", key, v)
	}
	for i, n := range values {
		if n == 0 {
			return nil, fmt.Errorf("%s is 0 for layer %d", key, i)
		}
	}
	return values, nil
}
