package backend

import (
	"strconv"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/convert/keys"
)

// withModelDefaults fills what the catalog entry leaves unset from the
// metadata our converter writes into the GGUF (sentence-transformers'
// Normalize module, max_seq_length, prompts), so a user's minimal entry
// (name, kind, file) serves a converted model as sentence-transformers would.
// The catalog always wins where it says something.
func withModelDefaults(e catalog.Entry, m modelMeta) catalog.Entry {
	if e.Normalize == nil {
		if v := m.Meta(keys.Normalize); v != "" {
			b := v == "true"
			e.Normalize = &b
		}
	}
	if e.MaxLength == 0 {
		if n, err := strconv.Atoi(m.Meta(keys.MaxLength)); err == nil && n > 0 {
			e.MaxLength = n
		}
	}
	if e.QueryPrefix == "" {
		e.QueryPrefix = m.Meta(keys.QueryPrefix)
	}
	if e.DocumentPrefix == "" {
		e.DocumentPrefix = m.Meta(keys.DocumentPrefix)
	}
	return e
}
