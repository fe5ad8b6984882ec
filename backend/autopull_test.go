package backend

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		e := New(Config{ModelsDir: dir, PullWait: c.wait, Puller: puller, PullOnRequest: PullCatalog}, nil, zerolog.Nop())
		defer e.Close()
		err := e.ensureDownloaded(context.Background(), entry, askedByRequest)
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

// recordingPuller counts what it was asked to pull and pulls nothing.
type recordingPuller struct {
	mu     sync.Mutex
	pulled []string
}

func (p *recordingPuller) Pull(_ context.Context, entry catalog.Entry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pulled = append(p.pulled, entry.Name)
	return nil
}

// --pull-on-request decides which missing models a request may have pulled:
// the defaults only (the default policy), any catalog model, or none; the
// server's own start (Preload) always pulls its defaults. A refused request
// is told how to get the model.
func TestPullOnRequest(t *testing.T) {
	def := catalog.Entry{Name: "def", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/def", File: "def.gguf"}}
	other := catalog.Entry{Name: "other", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/other", File: "other.gguf"}}
	tests := []struct {
		policy PullPolicy
		entry  catalog.Entry
		asker  pullAsker
		pulls  bool
	}{
		{"", def, askedByRequest, true},
		{"", other, askedByRequest, false},
		{PullDefaults, other, askedByRequest, false},
		{PullCatalog, other, askedByRequest, true},
		{PullNever, def, askedByRequest, false},
		{PullNever, def, askedAtStart, true},
	}
	for _, tt := range tests {
		p := &recordingPuller{}
		e := New(Config{ModelsDir: t.TempDir(), Puller: p, PullOnRequest: tt.policy, DefaultEmbedding: "def"}, nil, zerolog.Nop())
		err := e.ensureDownloaded(context.Background(), tt.entry, tt.asker)
		e.Close()
		if got := len(p.pulled) == 1; got != tt.pulls {
			t.Errorf("%q, %s, asker %d: pulled %v, want %v", tt.policy, tt.entry.Name, tt.asker, p.pulled, tt.pulls)
		}
		if tt.pulls {
			if err != nil {
				t.Errorf("%q, %s: %v", tt.policy, tt.entry.Name, err)
			}
			continue
		}
		if !errors.Is(err, ErrModelUnavailable) || !strings.Contains(err.Error(), "run: rerank-api pull "+tt.entry.Name) ||
			!strings.Contains(err.Error(), "--pull-on-request catalog") {
			t.Errorf("%q, %s: refused with %v, want ErrModelUnavailable saying how to pull it", tt.policy, tt.entry.Name, err)
		}
	}
	if e := New(Config{}, nil, zerolog.Nop()); e.Config().PullOnRequest != PullDefaults {
		t.Errorf("default policy = %q, want %q", e.Config().PullOnRequest, PullDefaults)
	}
	for _, s := range []string{"defaults", "catalog", "never"} {
		if p, err := ParsePullPolicy(s); err != nil || string(p) != s {
			t.Errorf("ParsePullPolicy(%q) = %q, %v", s, p, err)
		}
	}
	if _, err := ParsePullPolicy("all"); err == nil {
		t.Error("ParsePullPolicy(all): no error")
	}
}
