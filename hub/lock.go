package hub

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

// lockPoll is how often a waiting process retries the lock file. flock(2)
// cannot wait on a context, so waiting is a loop of non-blocking tries.
const lockPoll = 100 * time.Millisecond

// lockFile takes the exclusive lock on path, waiting while another process
// holds it, until ctx ends. unlock removes the file and releases the lock.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		// The holder removes the file before unlocking, so a lock won on a
		// file that is no longer at path guards nothing: a newcomer may
		// already hold a new file there. Start over then.
		if locked && sameFile(f, path) {
			return func() {
				os.Remove(path)
				unlockFile(f)
				f.Close()
			}, nil
		}
		f.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// flights shares one download per destination among a Client's
// goroutines. The zero value is ready to use.
//
// It is not golang.org/x/sync/singleflight: DoChan runs the function in a
// goroutine of its own, so a caller that stopped waiting (Ctrl-C on pull)
// would return while its transfer still held the lock file and the partial
// file. Here the first caller runs the transfer itself and returns after
// it; a waiter whose own ctx is alive takes over a transfer whose caller
// gave up, resuming its partial file.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// do runs fn unless a call for key is running, in which case it waits for
// that call's result. If that call was cancelled while this caller's ctx is
// still alive, this caller takes over (resuming the partial file).
func (g *flights) do(ctx context.Context, key string, fn func() error) error {
	for {
		g.mu.Lock()
		if f, ok := g.m[key]; ok {
			g.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue
			}
			return f.err
		}
		f := &flight{done: make(chan struct{})}
		if g.m == nil {
			g.m = map[string]*flight{}
		}
		g.m[key] = f
		g.mu.Unlock()

		f.err = fn()
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		close(f.done)
		return f.err
	}
}
