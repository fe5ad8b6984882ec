package bench

import (
	"fmt"
	"sync"
	"time"
)

// tally is a phase's running count, read by the progress line while the
// clients add to it.
type tally struct {
	mu               sync.Mutex
	ok, failed, toks int
}

func (t *tally) add(o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.failure != "" {
		t.failed++
		return
	}
	t.ok++
	t.toks += o.tokens
}

func (t *tally) read() (ok, failed, tokens int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ok, t.failed, t.toks
}

// startProgress writes a phase's progress every ProgressEvery until the
// returned function is called, which writes the last line. A run with no
// Progress writer is silent.
func (r *runner) startProgress(name string, start time.Time, requests int, duration time.Duration, t *tally) func() {
	w, every := r.cfg.Progress, r.cfg.ProgressEvery
	if w == nil {
		return func() {}
	}
	if every <= 0 {
		every = time.Second
	}
	line := func() string {
		elapsed := time.Since(start)
		ok, failed, tokens := t.read()
		s := fmt.Sprintf("%s: %s", name, elapsed.Round(100*time.Millisecond))
		if duration > 0 {
			s += " of " + duration.String()
		}
		s += fmt.Sprintf(", %d", ok+failed)
		if requests > 0 {
			s += fmt.Sprintf(" of %d", requests)
		}
		s += fmt.Sprintf(" requests (%d failed)", failed)
		if secs := elapsed.Seconds(); secs > 0 {
			s += fmt.Sprintf(", %.1f requests/s, %.0f tokens/s", float64(ok)/secs, float64(tokens)/secs)
		}
		return s
	}
	emit := func(s string, last bool) {
		switch {
		case r.cfg.ProgressInPlace && last:
			fmt.Fprintf(w, "\r%s\x1b[K\n", s)
		case r.cfg.ProgressInPlace:
			fmt.Fprintf(w, "\r%s\x1b[K", s)
		default:
			fmt.Fprintln(w, s)
		}
	}
	emit(line(), false)
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				emit(line(), false)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		emit(line(), true)
	}
}
