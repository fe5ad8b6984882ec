package llama

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/rerank-api/rerank-api/convert/gguf"
)

// gguf.FileType carries llama.h's numbers for enum llama_ftype. Each line
// stops the build if one drifts: a nonzero difference indexes out of range
// and a negative one overflows.
var _ = [1]struct{}{}[gguf.FileF32-C.LLAMA_FTYPE_ALL_F32]
var _ = [1]struct{}{}[gguf.FileF16-C.LLAMA_FTYPE_MOSTLY_F16]
var _ = [1]struct{}{}[gguf.FileBF16-C.LLAMA_FTYPE_MOSTLY_BF16]
var _ = [1]struct{}{}[gguf.FileQ8_0-C.LLAMA_FTYPE_MOSTLY_Q8_0]
var _ = [1]struct{}{}[gguf.FileQ6_K-C.LLAMA_FTYPE_MOSTLY_Q6_K]
var _ = [1]struct{}{}[gguf.FileQ5_K_M-C.LLAMA_FTYPE_MOSTLY_Q5_K_M]
var _ = [1]struct{}{}[gguf.FileQ5_0-C.LLAMA_FTYPE_MOSTLY_Q5_0]
var _ = [1]struct{}{}[gguf.FileQ4_K_M-C.LLAMA_FTYPE_MOSTLY_Q4_K_M]
var _ = [1]struct{}{}[gguf.FileQ4_0-C.LLAMA_FTYPE_MOSTLY_Q4_0]

// QuantTypes lists the names Quantize accepts: every output type but f32,
// which is what it starts from. (Asked for f32, llama.cpp's quantizer dies
// of SIGBUS copying the tensors with this llama.cpp.)
func QuantTypes() []string {
	return slices.DeleteFunc(gguf.FileTypeNames(), func(name string) bool { return name == gguf.FileF32.String() })
}

// quantizeLine matches llama.cpp's per-tensor quantization log line,
// "[  12/ 197]                 blk.0.attn_q.weight - [...]".
var quantizeLine = regexp.MustCompile(`^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)`)

// quantizeMu serializes quantizations: progress is read from the one
// process-wide log stream.
var quantizeMu sync.Mutex

// Quantize runs llama.cpp's quantizer (what llama-quantize does) from the
// GGUF at in to out as typ, one of QuantTypes, with threads
// workers (0: all cores). Tensors whose rows do not divide into the type's
// blocks fall back to a compatible type, as llama.cpp decides. Init must
// have been called.
func Quantize(in, out, typ string, threads int, progress func(done, total int, tensor string)) error {
	ftype, err := gguf.ParseFileType(typ)
	if err != nil {
		return err
	}
	if ftype == gguf.FileF32 {
		return fmt.Errorf("f32 is not a quantization: quantize to one of %s, or convert the checkpoint to f32", strings.Join(QuantTypes(), ", "))
	}
	// llama.cpp reports a missing output directory as "basic_ios::clear:
	// iostream error", after reading the whole input; say what is wrong.
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a directory", out, filepath.Dir(out))
	}
	params := C.llama_model_quantize_default_params()
	params.ftype = C.enum_llama_ftype(ftype)
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
	var errs callErrors
	if rc := C.rr_model_quantize(cin, cout, &params, errs.buf()); rc != 0 {
		return fmt.Errorf("llama.cpp could not quantize %s to %s: %s", in, typ, errs.text("see the log at debug level"))
	}
	return nil
}
