package backend

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/hub"
	"github.com/rerank-api/rerank-api/pull"
)

// A request waits PullWait for its model's first download and then gets
// ErrModelUnavailable while the download goes on; a negative PullWait (the
// CLI's) waits for the download, however long.
func TestPullWait(t *testing.T) {
	const file = "m.gguf"
	hubbed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			time.Sleep(300 * time.Millisecond)
		}
		http.ServeContent(w, r, file, time.Unix(1_700_000_000, 0), bytes.NewReader([]byte("not really a GGUF")))
	}))
	defer hubbed.Close()
	entry := catalog.Entry{Name: "m", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/m", File: file}}
	for _, c := range []struct {
		wait    time.Duration
		givesUp bool
	}{{50 * time.Millisecond, true}, {-1, false}} {
		dir := t.TempDir()
		puller := &pull.Puller{Hub: hub.NewClient(hubbed.URL, "", nil), ModelsDir: dir}
		e := New(Config{ModelsDir: dir, PullWait: c.wait, Puller: puller}, nil, zerolog.Nop())
		defer e.Close()
		err := e.ensureDownloaded(context.Background(), entry)
		if c.givesUp {
			if !errors.Is(err, ErrModelUnavailable) || !errors.Is(err, errStillDownloading) {
				t.Errorf("PullWait %v: err = %v, want a download in progress", c.wait, err)
			}
			// It goes on: waiting for it now gets the file.
			err = puller.Pull(context.Background(), entry)
		}
		if err != nil {
			t.Errorf("PullWait %v: %v", c.wait, err)
		}
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("PullWait %v: the model is not on disk: %v", c.wait, err)
		}
	}
}
