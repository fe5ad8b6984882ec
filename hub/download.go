package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ProgressFunc is told how far the download of file has got. total is -1 when
// the server did not say. It may be called often; NewProgressBar throttles.
type ProgressFunc func(file string, done, total int64)

// DownloadOptions tune one Download.
type DownloadOptions struct {
	// SHA256 is the expected hex digest. When empty, the hub's X-Linked-Etag
	// (present for LFS files) is used; small files kept in git are then
	// checked only for length.
	SHA256 string
	// Progress, if set, is called as bytes arrive.
	Progress ProgressFunc
}

// A cut connection is resumed at most this many times within one Download, and
// only while each attempt moves forward; after that the partial file waits for
// the next pull.
const maxResumes = 5

// errStalePartial says the partial file does not fit the remote file (the
// server refused the range, or answered a different one): start it over.
var errStalePartial = errors.New("partial download does not match the remote file")

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Download fetches path from repo at revision into dest. If dest already has
// the expected sha256 it does nothing. Bytes go to dest+".partial", which a
// later call resumes after an error or a cancelled ctx; dest appears, fsynced
// and renamed into place, only once complete and verified.
//
// Concurrent calls on one Client for the same dest share one transfer (the
// first caller's options win); other clients and processes wait on
// dest+".lock".
func (c *Client) Download(ctx context.Context, repo, revision, path, dest string, opts DownloadOptions) error {
	dest, err := filepath.Abs(dest)
	if err != nil {
		return err
	}
	return c.inflight.do(ctx, dest, func() error {
		return c.download(ctx, repo, revision, path, dest, opts)
	})
}

func (c *Client) download(ctx context.Context, repo, revision, path, dest string, opts DownloadOptions) error {
	revision = orDefault(revision)
	if opts.SHA256 != "" && !sha256Hex.MatchString(strings.ToLower(opts.SHA256)) {
		return fmt.Errorf("expected sha256 %q for %s is not 64 hex digits", opts.SHA256, path)
	}
	t := &transfer{
		client:   c,
		url:      c.fileURL(repo, revision, path),
		repo:     repo,
		what:     repo + " " + path + " at " + revision,
		name:     path,
		want:     strings.ToLower(opts.SHA256),
		progress: opts.Progress,
	}
	return t.save(ctx, dest)
}

// DownloadURL fetches a file from outside the hub (a MeCab dictionary from
// PyPI) into dest with Download's guarantees: resumed after a cut, verified,
// renamed into place only once whole. opts.SHA256 is required, since only
// the hub tells a file's digest; the hub token is not sent.
func (c *Client) DownloadURL(ctx context.Context, rawURL, dest string, opts DownloadOptions) error {
	if !sha256Hex.MatchString(strings.ToLower(opts.SHA256)) {
		return fmt.Errorf("expected sha256 %q for %s is not 64 hex digits", opts.SHA256, rawURL)
	}
	dest, err := filepath.Abs(dest)
	if err != nil {
		return err
	}
	t := &transfer{
		client: c, url: rawURL, what: rawURL, name: filepath.Base(dest),
		want: strings.ToLower(opts.SHA256), progress: opts.Progress,
	}
	return c.inflight.do(ctx, dest, func() error { return t.save(ctx, dest) })
}

// save runs the transfer into dest under dest's lock file, unless dest
// already holds the expected bytes. A hub file without a known digest is
// asked for the one the hub keeps.
func (t *transfer) save(ctx context.Context, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, dest+".lock")
	if err != nil {
		return fmt.Errorf("waiting for another download of %s: %w", dest, err)
	}
	defer unlock()
	if t.want == "" {
		if t.want, err = t.linkedSHA256(ctx); err != nil {
			return err
		}
	}
	if t.want != "" {
		if size, ok := hasSHA256(dest, t.want); ok {
			t.report(size, size)
			return nil
		}
	}
	return t.run(ctx, dest)
}

type transfer struct {
	client   *Client
	url      string
	repo     string
	what     string // "org/name file at revision", for errors
	name     string // for progress
	want     string // expected sha256, or ""
	progress ProgressFunc
}

// linkedSHA256 asks the hub (HEAD, not following the CDN redirect) for the
// sha256 of an LFS file. The hub sends it quoted in X-Linked-Etag; small git
// files have only a git ETag, which is not a sha256.
func (t *transfer) linkedSHA256(ctx context.Context) (string, error) {
	u := t.url
	for range 10 {
		resp, err := t.client.send(ctx, http.MethodHead, u, nil, false)
		if err != nil {
			return "", fmt.Errorf("asking the hub about %s: %w", t.what, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return "", t.client.statusError(resp, t.repo, t.what)
		}
		etag := strings.ToLower(strings.Trim(strings.TrimPrefix(resp.Header.Get("X-Linked-Etag"), "W/"), `"`))
		if sha256Hex.MatchString(etag) {
			return etag, nil
		}
		// A renamed repo redirects to its new name on the hub itself.
		loc, err := resp.Location()
		if resp.StatusCode/100 != 3 || err != nil || loc.Host != resp.Request.URL.Host {
			return "", nil
		}
		u = loc.String()
	}
	return "", fmt.Errorf("asking the hub about %s: too many redirects", t.what)
}

// run downloads into dest+".partial", resuming what is there, then verifies
// it and renames it to dest.
func (t *transfer) run(ctx context.Context, dest string) (err error) {
	partial := dest + ".partial"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if f == nil {
			return
		}
		// Keep a partial worth resuming; don't litter with an empty one.
		if st, serr := f.Stat(); serr == nil && st.Size() == 0 {
			os.Remove(partial)
		}
		f.Close()
	}()

	h := sha256.New()
	restarted := false
	for attempt := 0; ; attempt++ {
		added, err := t.fetch(ctx, f, h)
		if err == nil {
			break
		}
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("download of %s stopped; run the pull again to resume: %w", t.what, ctx.Err())
		case errors.Is(err, errStalePartial) && !restarted:
			restarted = true
			if err := f.Truncate(0); err != nil {
				return err
			}
		case added == 0 || attempt == maxResumes:
			return err
		}
	}

	if got := hex.EncodeToString(h.Sum(nil)); t.want != "" && got != t.want {
		f.Close()
		f = nil
		os.Remove(partial)
		return fmt.Errorf("%s was %w (sha256 %s, expected %s); the download was deleted, run the pull again",
			t.what, ErrCorrupted, got, t.want)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	f = nil
	if err := os.Rename(partial, dest); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}

// fetch makes one GET that continues f from its current size, feeding h with
// the whole file's bytes. It returns how many bytes it added.
func (t *transfer) fetch(ctx context.Context, f *os.File, h hash.Hash) (int64, error) {
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	header := http.Header{}
	if off > 0 {
		header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	stalls := t.client.watchStalls(ctx)
	defer stalls.stop()
	resp, err := t.client.send(stalls.ctx, http.MethodGet, t.url, header, true)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", t.what, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			return 0, errStalePartial
		}
		total = size
	case resp.StatusCode == http.StatusOK:
		// The server ignored the range: start over.
		if off > 0 {
			if err := f.Truncate(0); err != nil {
				return 0, err
			}
			off = 0
		}
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		// The partial is already whole (a previous run stopped after the
		// last byte) or longer than the file: only the hash can tell.
		h.Reset()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, off)); err != nil {
			return 0, err
		}
		if t.want != "" && hex.EncodeToString(h.Sum(nil)) == t.want {
			t.report(off, off)
			return 0, nil
		}
		return 0, errStalePartial
	default:
		return 0, t.client.statusError(resp, t.repo, t.what)
	}

	h.Reset()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, off)); err != nil {
		return 0, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	counter := &progressWriter{t: t, done: off, total: total}
	t.report(off, total)
	var dst io.Writer = f
	if t.client.wrapFile != nil {
		dst = t.client.wrapFile(f)
	}
	added, err := io.Copy(io.MultiWriter(dst, h, counter), stalls.body(resp.Body))
	err = stalls.explain(err)
	if err == nil && total >= 0 && off+added != total {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return added, fmt.Errorf("downloading %s: %w", t.what, err)
	}
	return added, nil
}

func (t *transfer) report(done, total int64) {
	if t.progress != nil {
		t.progress(t.name, done, total)
	}
}

type progressWriter struct {
	t           *transfer
	done, total int64
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.done += int64(len(p))
	w.t.report(w.done, w.total)
	return len(p), nil
}

// parseContentRange reads "bytes START-END/SIZE"; SIZE may be "*" (-1).
func parseContentRange(v string) (start, size int64, ok bool) {
	rng, total, found := strings.Cut(strings.TrimPrefix(v, "bytes "), "/")
	first, _, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if total == "*" {
		return start, -1, true
	}
	size, err = strconv.ParseInt(total, 10, 64)
	return start, size, err == nil
}

// hasSHA256 reports whether the file at path exists with that digest, and its size.
func hasSHA256(path, want string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, err == nil && hex.EncodeToString(h.Sum(nil)) == want
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
