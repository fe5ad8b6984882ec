package llama

// #include "shim.h"
import "C"

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// llama.cpp writes log lines in pieces (GGML_LOG_LEVEL_CONT continues the
// previous one) and from several threads, so pieces are joined under a lock
// and emitted one zerolog event per complete line.
var logLine struct {
	sync.Mutex
	buf   strings.Builder
	level zerolog.Level
}

// Log levels from ggml.h's enum ggml_log_level.
const (
	ggmlLogNone  = 0
	ggmlLogDebug = 1
	ggmlLogInfo  = 2
	ggmlLogWarn  = 3
	ggmlLogError = 4
	ggmlLogCont  = 5
)

//export goLogSink
func goLogSink(level C.int, text *C.char) {
	s := C.GoString(text)
	logLine.Lock()
	defer logLine.Unlock()
	if int(level) != ggmlLogCont {
		logLine.level = zerologLevel(int(level))
	}
	logLine.buf.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		return
	}
	line := strings.TrimRight(logLine.buf.String(), "\n")
	logLine.buf.Reset()
	if line == "" {
		return
	}
	if progress := logProgress.Load(); progress != nil {
		(*progress)(line)
	}
	lineLevel := logLine.level
	switch {
	case strings.Contains(line, "possible training context overflow"):
		// Encoders have no KV cache: a context larger than n_ctx_train
		// only means a batch holds several sequences, each still checked
		// against n_ctx_train by Context.Encode.
		lineLevel = zerolog.DebugLevel
	case strings.Contains(line, "default pooling_type is"):
		// Overriding the GGUF's pooling is deliberate: a rank model's
		// embeddings, or a token context (PoolingNone) for /embed_all.
		lineLevel = zerolog.DebugLevel
	}
	currentLogger().WithLevel(lineLevel).Str("component", "llama.cpp").Msg(line)
}

// logger receives llama.cpp's log lines; unset, they go to zerolog's
// global log.Logger.
var logger atomic.Pointer[zerolog.Logger]

// SetLogger sends llama.cpp's log lines to l, and returns the logger they
// went to before. llama.cpp has one log callback per process, so this is
// process-wide too; a test sets it and puts the previous one back.
func SetLogger(l zerolog.Logger) (previous zerolog.Logger) {
	if p := logger.Swap(&l); p != nil {
		return *p
	}
	return log.Logger
}

func currentLogger() *zerolog.Logger {
	if l := logger.Load(); l != nil {
		return l
	}
	return &log.Logger
}

// logProgress, when set, sees every complete log line: llama.cpp reports
// some long operations (quantization) only through its log.
var logProgress atomic.Pointer[func(line string)]

// callErrors receives the error lines llama.cpp logs on the calling thread
// during one call made through a shim wrapper such as rr_model_load
// (shim.c says why the capture is per thread). Its array is the C buffer.
type callErrors [C.RR_ERR_SIZE]byte

func (e *callErrors) buf() *C.char { return (*C.char)(unsafe.Pointer(&e[0])) }

// text joins the captured lines, or returns fallback when the call logged
// none. llama.cpp's first error usually names the cause ("tensor 'x' has
// wrong shape") and the last only says that loading failed.
func (e *callErrors) text(fallback string) string {
	captured, _, _ := strings.Cut(string(e[:]), "\x00")
	var lines []string
	for line := range strings.Lines(captured) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return fallback
	}
	return strings.Join(lines, "; ")
}

// zerologLevel maps ggml levels onto zerolog's. llama.cpp's "info" is chatty
// (hundreds of lines per model load), so it is demoted to debug.
func zerologLevel(level int) zerolog.Level {
	switch level {
	case ggmlLogWarn:
		return zerolog.WarnLevel
	case ggmlLogError:
		return zerolog.ErrorLevel
	default:
		return zerolog.DebugLevel
	}
}
