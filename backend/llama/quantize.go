package llama

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// quantTypes are the llama_ftype values of the output types rerank-api
// offers, named as llama-quantize names them.
var quantTypes = map[string]C.enum_llama_ftype{
	"q8_0":   C.LLAMA_FTYPE_MOSTLY_Q8_0,
	"q4_0":   C.LLAMA_FTYPE_MOSTLY_Q4_0,
	"q5_0":   C.LLAMA_FTYPE_MOSTLY_Q5_0,
	"q4_k_m": C.LLAMA_FTYPE_MOSTLY_Q4_K_M,
	"q5_k_m": C.LLAMA_FTYPE_MOSTLY_Q5_K_M,
	"q6_k":   C.LLAMA_FTYPE_MOSTLY_Q6_K,
	"f16":    C.LLAMA_FTYPE_MOSTLY_F16,
	"bf16":   C.LLAMA_FTYPE_MOSTLY_BF16,
}

// QuantTypes lists the names Quantize accepts.
func QuantTypes() []string {
	names := make([]string, 0, len(quantTypes))
	for n := range quantTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// quantizeLine matches llama.cpp's per-tensor quantization log line,
// "[  12/ 197]                 blk.0.attn_q.weight - [...]".
var quantizeLine = regexp.MustCompile(`^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)`)

// quantizeMu serializes quantizations: progress is read from the one
// process-wide log stream.
var quantizeMu sync.Mutex

// Quantize runs llama.cpp's quantizer (what llama-quantize does) from the
// GGUF at in to out, with threads workers (0: all cores). Tensors whose rows
// do not divide into the type's blocks fall back to a compatible type, as
// llama.cpp decides. Init must have been called.
func Quantize(in, out, typ string, threads int, progress func(done, total int, tensor string)) error {
	ftype, ok := quantTypes[strings.ToLower(typ)]
	if !ok {
		return fmt.Errorf("unknown quantization type %q: want one of %s", typ, strings.Join(QuantTypes(), ", "))
	}
	// llama.cpp reports a missing output directory as "basic_ios::clear:
	// iostream error", after reading the whole input; say what is wrong.
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a directory", out, filepath.Dir(out))
	}
	params := C.llama_model_quantize_default_params()
	params.ftype = ftype
	params.nthread = C.int32_t(threads)
	cin, cout := C.CString(in), C.CString(out)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(cout))
	quantizeMu.Lock()
	defer quantizeMu.Unlock()
	if progress != nil {
		hook := func(line string) {
			if m := quantizeLine.FindStringSubmatch(line); m != nil {
				done, _ := strconv.Atoi(m[1])
				total, _ := strconv.Atoi(m[2])
				progress(done, total, m[3])
			}
		}
		logProgress.Store(&hook)
		defer logProgress.Store(nil)
	}
	lastError.reset()
	if rc := C.llama_model_quantize(cin, cout, &params); rc != 0 {
		return fmt.Errorf("llama.cpp could not quantize %s to %s: %s", in, typ, lastError.get("see the log at debug level"))
	}
	return nil
}
