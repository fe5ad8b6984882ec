package pull

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
)

// pullRecord is one call of Puller.Pulled.
type pullRecord struct {
	model string
	bytes int64
	err   error
}

func recordPulls(p *Puller) func() []pullRecord {
	var mu sync.Mutex
	var got []pullRecord
	p.Pulled = func(model string, bytes int64, err error) {
		mu.Lock()
		got = append(got, pullRecord{model, bytes, err})
		mu.Unlock()
	}
	return func() []pullRecord {
		mu.Lock()
		defer mu.Unlock()
		return append([]pullRecord(nil), got...)
	}
}

// Concurrent callers share one download, reported once with the bytes the
// hub sent; pulling a model already there reports nothing.
func TestPulledReportsEachDownloadOnce(t *testing.T) {
	model := bytes.Repeat([]byte("GGUF-bytes"), 50000)
	h := &fakeHub{repos: map[string]map[string][]byte{"org/model-GGUF": {"model.gguf": model}}}
	p := newPuller(t, h)
	pulls := recordPulls(p)
	entry := catalog.Entry{Name: "m", Kind: catalog.KindEmbedding, Source: catalog.Source{Repo: "org/model-GGUF", File: "model.gguf"}}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Pull(context.Background(), entry); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := p.Pull(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	got := pulls()
	if len(got) != 1 || got[0] != (pullRecord{"m", int64(len(model)), nil}) {
		t.Fatalf("Pulled got %+v, want one pull of m with %d bytes", got, len(model))
	}
}

func TestPulledReportsAFailedPull(t *testing.T) {
	h := &fakeHub{repos: map[string]map[string][]byte{"org/m": {"m.gguf": []byte("tampered")}}}
	p := newPuller(t, h)
	pulls := recordPulls(p)
	entry := catalog.Entry{Name: "m", Source: catalog.Source{Repo: "org/m", File: "m.gguf", SHA256: strings.Repeat("ab", 32)}}
	if err := p.Pull(context.Background(), entry); err == nil {
		t.Fatal("a checksum mismatch was accepted")
	}
	if got := pulls(); len(got) != 1 || got[0].model != "m" || got[0].err == nil {
		t.Fatalf("Pulled got %+v, want one failed pull of m", got)
	}
}

// A resumed transfer's first report is where it resumes from: those bytes
// came in earlier and are not counted again. A transfer that starts over is
// counted from its new start.
func TestReceivedBytesCountsOnlyWhatArrives(t *testing.T) {
	var r receivedBytes
	var passed int
	progress := r.counting(func(string, int64, int64) { passed++ })
	for _, report := range []struct {
		file string
		done int64
	}{
		{"a.gguf", 100}, {"a.gguf", 150}, {"a.gguf", 400}, // resumed at 100: 300 new
		{"b.bin", 0}, {"b.bin", 50}, // 50
		{"a.gguf", 0}, {"a.gguf", 20}, // a started over: 20
	} {
		progress(report.file, report.done, -1)
	}
	if got := r.Total(); got != 370 {
		t.Errorf("counted %d bytes, want 370", got)
	}
	if passed != 7 {
		t.Errorf("%d reports reached the next ProgressFunc, want 7", passed)
	}
}
