package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rerank-api/rerank-api/catalog"
)

// DefaultPullWait is how long a request waits for its model's first
// download before it gets a 503 with Retry-After; the download goes on.
const DefaultPullWait = 30 * time.Second

// errStillDownloading marks a request that stopped waiting for a download
// that goes on.
var errStillDownloading = errors.New("download in progress")

// ensureDownloaded pulls a catalog model that is not on disk yet, when the
// Puller puts a catalog model's GGUF into the models directory (pull.Puller
// downloads it from the hub). The engine depends on this one method, not on
// the downloader, so backend needs no HTTP client.
type Puller interface {
	Pull(ctx context.Context, entry catalog.Entry) error
}

// engine has a Puller (serve without --offline). Requests for a model being
// downloaded share the one download.
func (e *Engine) ensureDownloaded(ctx context.Context, entry catalog.Entry) error {
	path := entry.ModelPath(e.cfg.ModelsDir)
	if _, err := os.Stat(path); err == nil || e.cfg.Puller == nil || entry.Source.Repo == "" {
		return nil // a missing file that cannot be pulled is reported by the loader
	}
	waitCtx := ctx
	if e.cfg.PullWait >= 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, cmp.Or(e.cfg.PullWait, DefaultPullWait))
		defer cancel()
	}
	err := e.cfg.Puller.Pull(waitCtx, entry)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w: model %q is being downloaded; retry in a while (or run: rerank-api pull %s)", ErrModelUnavailable, errStillDownloading, entry.Name, entry.Name)
	}
	return fmt.Errorf("%w: pulling %q failed: %w (put its GGUF at %s, set HF_ENDPOINT to a reachable mirror, or retry)", ErrModelUnavailable, entry.Name, err, path)
}
