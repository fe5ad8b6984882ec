package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDownload(t *testing.T) {
	for _, name := range []string{"model.gguf", "config.json", "onnx/tokenizer.json"} {
		t.Run(name, func(t *testing.T) {
			h := newFakeHub(t, standardFiles(t))
			dest := filepath.Join(t.TempDir(), "out", name)
			var last [2]int64
			opts := DownloadOptions{Progress: func(file string, done, total int64) {
				if file != name {
					t.Errorf("progress for %q, want %q", file, name)
				}
				last = [2]int64{done, total}
			}}
			if err := h.client("").Download(testContext(t), "org/model", "", name, dest, opts); err != nil {
				t.Fatal(err)
			}
			want := h.files[name].data
			assertFile(t, dest, want)
			if n := int64(len(want)); last != [2]int64{n, n} {
				t.Errorf("last progress = %v, want [%d %d]", last, n, n)
			}
			assertNoLitter(t, dest)
		})
	}
}

func TestDownloadSkipsVerifiedFile(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	c, dest := h.client(""), filepath.Join(t.TempDir(), "model.gguf")
	for range 2 {
		if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(h.seen("cdn", "GET")); got != 1 {
		t.Errorf("CDN saw %d GETs, want 1: the second call should find the file verified", got)
	}
	// With the digest known up front there is nothing to ask the hub.
	before := len(h.all())
	opts := DownloadOptions{SHA256: h.files["model.gguf"].sha256()}
	if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, opts); err != nil {
		t.Fatal(err)
	}
	if after := h.all(); len(after) != before {
		t.Errorf("requests went out for a file already verified: %v", after[before:])
	}
}

func TestDownloadResumesCutConnection(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.cutAt = 300_000
	dest := filepath.Join(t.TempDir(), "model.gguf")
	if err := h.client("").Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, h.files["model.gguf"].data)
	assertNoLitter(t, dest)
	gets := h.seen("cdn", "GET")
	if len(gets) != 2 || gets[0].rangeHeader != "" || gets[1].rangeHeader != "bytes=300000-" {
		t.Errorf("CDN GETs = %+v, want a full GET then Range: bytes=300000-", gets)
	}
}

// An existing partial file is continued, reused or started over depending on
// what the server makes of the range.
func TestDownloadExistingPartial(t *testing.T) {
	files := standardFiles(t)
	data := files["model.gguf"].data
	n := len(data)
	tests := []struct {
		name        string
		partial     []byte
		ignoreRange bool
		wantRanges  []string // Range header of each CDN GET
	}{
		{"continues a prefix", data[:1000], false, []string{"bytes=1000-"}},
		{"keeps a complete partial", data, false, []string{fmt.Sprintf("bytes=%d-", n)}},
		{"restarts a longer partial", append(bytes.Clone(data), 1, 2, 3), false, []string{fmt.Sprintf("bytes=%d-", n+3), ""}},
		{"restarts when the range is ignored", data[:1000], true, []string{"bytes=1000-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t, files)
			h.ignoreRange = tt.ignoreRange
			dest := filepath.Join(t.TempDir(), "model.gguf")
			if err := os.WriteFile(dest+".partial", tt.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := h.client("").Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
				t.Fatal(err)
			}
			assertFile(t, dest, data)
			var ranges []string
			for _, r := range h.seen("cdn", "GET") {
				ranges = append(ranges, r.rangeHeader)
			}
			if fmt.Sprint(ranges) != fmt.Sprint(tt.wantRanges) {
				t.Errorf("CDN GET ranges = %q, want %q", ranges, tt.wantRanges)
			}
		})
	}
}

func TestDownloadRejectsCorruptedFile(t *testing.T) {
	tests := []struct {
		name      string
		hubDigest string // X-Linked-Etag the hub announces
		option    string // DownloadOptions.SHA256
	}{
		{"hub digest", strings.Repeat("ab", 32), ""},
		{"caller digest", "", strings.Repeat("CD", 32)},
	}
	t.Run("malformed caller digest", func(t *testing.T) {
		h := newFakeHub(t, standardFiles(t))
		err := h.client("").Download(testContext(t), "org/model", "main", "model.gguf", filepath.Join(t.TempDir(), "f"), DownloadOptions{SHA256: "abc"})
		if err == nil || len(h.all()) != 0 {
			t.Errorf("err = %v after %d requests, want an error before any request", err, len(h.all()))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := standardFiles(t)
			files["model.gguf"].etag = tt.hubDigest
			h := newFakeHub(t, files)
			dest := filepath.Join(t.TempDir(), "model.gguf")
			err := h.client("").Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{SHA256: tt.option})
			if !errors.Is(err, ErrCorrupted) || !strings.Contains(err.Error(), "corrupted in transit") {
				t.Fatalf("err = %v, want ErrCorrupted", err)
			}
			for _, p := range []string{dest, dest + ".partial", dest + ".lock"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind (stat: %v)", filepath.Base(p), err)
				}
			}
		})
	}
}

func TestDownloadCancelKeepsPartial(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.stallAt = 200_000
	c, dest := h.client(""), filepath.Join(t.TempDir(), "model.gguf")

	ctx, cancel := context.WithCancel(testContext(t))
	stopAtStall := func(_ string, done, _ int64) {
		if done >= int64(h.stallAt) {
			cancel()
		}
	}
	err := c.Download(ctx, "org/model", "main", "model.gguf", dest, DownloadOptions{Progress: stopAtStall})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st, err := os.Stat(dest + ".partial"); err != nil || st.Size() != int64(h.stallAt) {
		t.Fatalf("partial after cancel: %v, %v; want %d bytes", st, err, h.stallAt)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dest exists after cancel (stat: %v)", err)
	}

	if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, h.files["model.gguf"].data)
	if gets := h.seen("cdn", "GET"); gets[len(gets)-1].rangeHeader != "bytes=200000-" {
		t.Errorf("resume sent Range %q, want bytes=200000-", gets[len(gets)-1].rangeHeader)
	}
}

func TestConcurrentDownloadsShareOneTransfer(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.delay = 50 * time.Millisecond
	c, dest := h.client(""), filepath.Join(t.TempDir(), "model.gguf")
	downloadAtOnce(t, slices.Repeat([]*Client{c}, 20), dest)
	assertFile(t, dest, h.files["model.gguf"].data)
	if got := len(h.seen("cdn", "GET")); got != 1 {
		t.Errorf("CDN saw %d GETs, want exactly 1", got)
	}
	// Without sharing, the lock file would still prevent a second transfer,
	// but every caller would ask the hub about the file once it got the lock.
	if got := len(h.seen("hub", "HEAD")); got != 1 {
		t.Errorf("hub saw %d HEADs, want 1: the callers did not share the transfer", got)
	}
}

// Clients share no memory: a second client downloading the same dest waits
// on the lock file, then finds the file whole and verified.
func TestClientsDownloadingOneFileShareTheLock(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.delay = 50 * time.Millisecond
	dest := filepath.Join(t.TempDir(), "model.gguf")
	downloadAtOnce(t, []*Client{h.client(""), h.client("")}, dest)
	assertFile(t, dest, h.files["model.gguf"].data)
	assertNoLitter(t, dest)
	if got := len(h.seen("cdn", "GET")); got != 1 {
		t.Errorf("CDN saw %d GETs, want 1", got)
	}
}

// downloadAtOnce has each client download model.gguf to dest at the same
// time.
func downloadAtOnce(t *testing.T, clients []*Client, dest string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestLockFileExcludesOtherHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.lock")
	unlock, err := lockFile(testContext(t), path)
	if err != nil {
		t.Fatal(err)
	}
	// flock(2) locks belong to open files, so a second open in this process
	// is refused just like another process would be.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: err = %v, want a timeout", err)
	}
	unlock()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after unlock (stat: %v)", err)
	}
	unlock2, err := lockFile(testContext(t), path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d served", path, len(got), len(want))
	}
}

func assertNoLitter(t *testing.T, dest string) {
	t.Helper()
	for _, p := range []string{dest + ".partial", dest + ".lock"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (stat: %v)", filepath.Base(p), err)
		}
	}
}

// A file from outside the hub is verified against the digest given, and
// the hub token stays home.
func TestDownloadURL(t *testing.T) {
	data := []byte("a dictionary archive")
	var auth []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.ServeContent(w, r, "x.tar.gz", time.Unix(0, 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	c := NewClient("", "hf_secret", nil)
	dest := filepath.Join(t.TempDir(), "x.tar.gz")
	sum := sha256.Sum256(data)
	if err := c.DownloadURL(testContext(t), srv.URL+"/x.tar.gz", dest, DownloadOptions{SHA256: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, data)
	assertNoLitter(t, dest)
	for _, a := range auth {
		if a != "" {
			t.Errorf("the hub token went to %s: %q", srv.URL, a)
		}
	}

	other := filepath.Join(t.TempDir(), "y.tar.gz")
	err := c.DownloadURL(testContext(t), srv.URL+"/x.tar.gz", other, DownloadOptions{SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrCorrupted) {
		t.Errorf("wrong digest: %v, want ErrCorrupted", err)
	}
	if _, err := os.Stat(other); err == nil {
		t.Error("a file with the wrong digest was kept")
	}
	if err := c.DownloadURL(testContext(t), srv.URL+"/x.tar.gz", other, DownloadOptions{}); err == nil {
		t.Error("no digest: no error")
	}
}
