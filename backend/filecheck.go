package backend

import "github.com/rerank-api/rerank-api/convert/gguf"

// FileChecker is a Runtime that can refuse a GGUF from its header and
// tensor table alone. The pool asks it while sizing a model, before any
// memory is booked or any model evicted to make room, and before the
// runtime opens the file: llama.cpp aborts the whole process on some
// corrupt files instead of returning an error (backend/ggufcheck).
type FileChecker interface {
	CheckFile(meta *gguf.Metadata, fileSize int64) error
}

// checkFile asks the runtime to check a model's file, if it can.
func checkFile(r Runtime, meta *gguf.Metadata, fileSize int64) error {
	if c, ok := r.(FileChecker); ok {
		return c.CheckFile(meta, fileSize)
	}
	return nil
}
