package hub

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rerank-api/rerank-api/internal/bytesize"
)

const (
	// redrawEvery limits terminal redraws to about ten a second.
	redrawEvery = 100 * time.Millisecond
	// logEvery spaces lines for a download of unknown size in a log.
	logEvery = 10 * time.Second
)

// NewProgressBar returns a ProgressFunc that draws on w: one line redrawn in
// place when w is a terminal, otherwise a plain line every 10% (for logs).
// Each line shows the file, percent, bytes and speed. It is safe for
// concurrent use.
func NewProgressBar(w io.Writer) ProgressFunc {
	return newProgressBar(w, isTerminal(w), time.Now).update
}

type progressBar struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	now  func() time.Time
	file string
	// start and base are when and at how many bytes this file's transfer
	// began (a resumed partial is not counted in the speed).
	start    time.Time
	base     int64
	drawn    time.Time // last output
	tenth    int64     // last 10% step written in log mode
	finished bool      // the 100% line is out
}

func newProgressBar(w io.Writer, tty bool, now func() time.Time) *progressBar {
	return &progressBar{w: w, tty: tty, now: now}
}

func (b *progressBar) update(file string, done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if file != b.file || done < b.base {
		if b.tty && b.file != "" && !b.finished {
			fmt.Fprintln(b.w)
		}
		b.file, b.start, b.base = file, now, done
		b.drawn, b.tenth, b.finished = time.Time{}, 0, false
		if total > 0 {
			b.tenth = done * 10 / total
		}
	}
	if b.finished {
		return
	}
	complete := total >= 0 && done >= total
	switch {
	case b.tty:
		if !complete && now.Sub(b.drawn) < redrawEvery {
			return
		}
		fmt.Fprintf(b.w, "\r%s\x1b[K", b.line(done, total, now))
		if complete {
			fmt.Fprintln(b.w)
		}
	case total > 0:
		tenth := done * 10 / total
		if tenth <= b.tenth && !complete && !b.drawn.IsZero() {
			return
		}
		b.tenth = tenth
		fmt.Fprintln(b.w, b.line(done, total, now))
	default:
		if !complete && !b.drawn.IsZero() && now.Sub(b.drawn) < logEvery {
			return
		}
		fmt.Fprintln(b.w, b.line(done, total, now))
	}
	b.drawn, b.finished = now, complete
}

func (b *progressBar) line(done, total int64, now time.Time) string {
	s := b.file + "  "
	if total > 0 {
		s += fmt.Sprintf("%3d%%  %s / %s", done*100/total, bytesize.Format(uint64(done)), bytesize.Format(uint64(total)))
	} else {
		s += bytesize.Format(uint64(done))
	}
	if secs := now.Sub(b.start).Seconds(); secs > 0 && done > b.base {
		s += fmt.Sprintf("  %s/s", bytesize.Format(uint64(float64(done-b.base)/secs)))
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
