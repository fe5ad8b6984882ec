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

// PullPolicy says which missing catalog models a request may have the server
// download (--pull-on-request). A download is a lot to let any client start:
// e5-mistral-7b is ~14 GB fetched and converted on one unauthenticated
// request, so by default only the models the operator chose as defaults are
// pulled without asking.
type PullPolicy string

const (
	// PullDefaults pulls the default embedding and reranker models only;
	// others must be pulled with `rerank-api pull` first.
	PullDefaults PullPolicy = "defaults"
	// PullCatalog pulls any supported catalog model a request names.
	PullCatalog PullPolicy = "catalog"
	// PullNever pulls nothing on request; the default models are still
	// pulled when the server starts (--offline pulls nothing at all).
	PullNever PullPolicy = "never"
)

// ParsePullPolicy reads a --pull-on-request value.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullDefaults, PullCatalog, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("invalid --pull-on-request %q: want defaults, catalog or never", s)
}

// pullAsker is who wants a missing model: the server starting (Preload) or
// a request.
type pullAsker int

const (
	askedAtStart pullAsker = iota
	askedByRequest
)

func (e *Engine) mayPull(entry catalog.Entry, asker pullAsker) bool {
	if asker == askedAtStart {
		return true // Preload pulls only the defaults, which the operator chose
	}
	switch e.cfg.PullOnRequest {
	case PullCatalog:
		return true
	case PullNever:
		return false
	}
	return entry.Name == e.cfg.DefaultEmbedding || entry.Name == e.cfg.DefaultReranker
}

// what the policy pulls, for messages.
func (p PullPolicy) what() string {
	switch p {
	case PullCatalog:
		return "any catalog model"
	case PullNever:
		return "no model"
	}
	return "only its default models"
}

// Puller puts a catalog model's GGUF into the models directory (pull.Puller
// downloads it from the hub). The engine depends on this one method, not on
// the downloader, so backend needs no HTTP client.
type Puller interface {
	Pull(ctx context.Context, entry catalog.Entry) error
}

// errStillDownloading marks a request that stopped waiting for a download
// that goes on.
var errStillDownloading = errors.New("download in progress")

// ensureDownloaded pulls a catalog model that is not on disk yet, when the
// engine has a Puller and PullOnRequest lets asker have it pulled. Requests
// for a model being downloaded share the one download.
func (e *Engine) ensureDownloaded(ctx context.Context, entry catalog.Entry, asker pullAsker) error {
	path := entry.ModelPath(e.cfg.ModelsDir)
	if _, err := os.Stat(path); err == nil || e.cfg.Puller == nil || entry.Source.Repo == "" {
		return nil // a missing file that cannot be pulled is reported by the loader
	}
	if !e.mayPull(entry, asker) {
		return fmt.Errorf("%w: model %q is not downloaded, and this server pulls %s on request (--pull-on-request %s); run: rerank-api pull %s, or serve with --pull-on-request catalog",
			ErrModelUnavailable, entry.Name, e.cfg.PullOnRequest.what(), e.cfg.PullOnRequest, entry.Name)
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
