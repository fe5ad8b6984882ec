package hub

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/internal/faultio"
)

// A disk that fills during a download fails it with the cause named,
// nothing under the final name and the bytes so far kept to resume; once
// there is room, the next pull continues where it stopped. (A cut
// connection, a stalled hub and a wrong sha256 are covered by
// TestDownloadResumesCutConnection, TestDownloadCancelKeepsPartial and
// TestDownloadRejectsCorruptedFile.)
func TestDownloadDiskFull(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	c := h.client("")
	disk := &faultio.FullDisk{Left: 300_000} // one disk for every attempt to resume
	c.wrapFile = func(w io.Writer) io.Writer { disk.W = w; return disk }
	dest := filepath.Join(t.TempDir(), "model.gguf")
	err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("got %v, want the disk-full error", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file exists under the final name after a failed download (stat: %v)", err)
	}
	if st, err := os.Stat(dest + ".partial"); err != nil || st.Size() != 300_000 {
		t.Fatalf("partial: %v, %v; want the 300000 bytes written kept", st, err)
	}

	c.wrapFile = nil // room again
	if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, dest, h.files["model.gguf"].data)
	assertNoLitter(t, dest)
	gets := h.seen("cdn", "GET")
	if last := gets[len(gets)-1]; last.rangeHeader != "bytes=300000-" {
		t.Errorf("the retry asked for %q, want a resume from byte 300000", last.rangeHeader)
	}
}

// A hub that stops sending mid-file does not hang the pull: the attempt is
// given up after the stall timeout and the download resumes from the bytes
// it has.
func TestDownloadResumesStalledConnection(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.stallAt = 200_000 // the first GET stops after 200000 bytes, for 5 s
	c := h.client("")
	c.stallTimeout = 200 * time.Millisecond
	dest := filepath.Join(t.TempDir(), "model.gguf")
	start := time.Now()
	if err := c.Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the download took %s: it waited for the stalled connection", took)
	}
	assertFile(t, dest, h.files["model.gguf"].data)
	assertNoLitter(t, dest)
	if gets := h.seen("cdn", "GET"); len(gets) != 2 || gets[1].rangeHeader != "bytes=200000-" {
		t.Errorf("CDN GETs = %+v, want a stalled GET then Range: bytes=200000-", gets)
	}
}
