package pull

import (
	"sync"

	"github.com/rerank-api/rerank-api/hub"
)

// receivedBytes adds up the bytes one pull receives, from the progress the
// hub client reports: per file, how far it has got. A file's first report
// is where its transfer starts, which is past 0 when it resumes a partial
// download whose bytes came in an earlier pull, so only what follows is
// counted; a report below the last one is a transfer starting over.
type receivedBytes struct {
	mu    sync.Mutex
	done  map[string]int64 // by file, the last progress reported
	total int64
}

// counting returns a ProgressFunc that counts and then passes each report
// on to next, when there is one.
func (r *receivedBytes) counting(next hub.ProgressFunc) hub.ProgressFunc {
	return func(file string, done, total int64) {
		r.mu.Lock()
		if r.done == nil {
			r.done = map[string]int64{}
		}
		if last, ok := r.done[file]; ok && done > last {
			r.total += done - last
		}
		r.done[file] = done
		r.mu.Unlock()
		if next != nil {
			next(file, done, total)
		}
	}
}

// Total is the bytes counted so far.
func (r *receivedBytes) Total() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}
