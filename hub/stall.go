package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// defaultStallTimeout is the longest a download waits for its next bytes.
// The transport's ResponseHeaderTimeout bounds the wait for an answer's
// headers only; without this, a hub or CDN that stops sending mid-file
// would hang the pull, and the lock it holds, forever.
const defaultStallTimeout = time.Minute

// errStalled is the cause of an attempt given up because its body stopped
// arriving; the download resumes from what it has.
var errStalled = errors.New("the connection stalled")

// stallWatch cancels one download attempt when its body stops arriving.
type stallWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

// watchStalls returns the context one attempt's request runs under.
func (c *Client) watchStalls(ctx context.Context) *stallWatch {
	w := &stallWatch{idle: c.stallTimeout}
	if w.idle <= 0 {
		w.idle = defaultStallTimeout
	}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	return w
}

// body reads r, giving up when a read waits longer than the idle timeout.
func (w *stallWatch) body(r io.Reader) io.Reader {
	w.timer = time.AfterFunc(w.idle, func() { w.cancel(errStalled) })
	return stallReader{r, w}
}

// explain names a stall as the cause of err, which is then only the
// transport's "context canceled".
func (w *stallWatch) explain(err error) error {
	if err != nil && errors.Is(context.Cause(w.ctx), errStalled) {
		return fmt.Errorf("no data for %s: %w", w.idle, errStalled)
	}
	return err
}

func (w *stallWatch) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel(nil)
}

type stallReader struct {
	r io.Reader
	w *stallWatch
}

func (s stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.w.timer.Reset(s.w.idle)
	}
	return n, err
}
