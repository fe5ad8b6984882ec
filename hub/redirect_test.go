package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestCheckRedirect(t *testing.T) {
	tests := []struct {
		first, next string
		ok          bool
	}{
		{"https://huggingface.co/o/m/resolve/main/x", "https://huggingface.co/api/resolve-cache/x", true},
		{"https://huggingface.co/o/m/resolve/main/x", "https://cas-bridge.xethub.hf.co/xet-bridge-us/x", true},
		{"https://huggingface.co/o/m/resolve/main/x", "https://cdn-lfs-us-1.hf.co/repos/x", true},
		{"https://huggingface.co/o/m/resolve/main/x", "https://us.aws.cdn.hf.co/x", true},
		{"https://huggingface.co/o/m/resolve/main/x", "https://cdn-lfs.huggingface.co/repos/x", true},
		{"https://hf.co/o/m/resolve/main/x", "https://HF.CO/o/m/resolve/main/x", true},
		{"https://hf-mirror.example/o/m/resolve/main/x", "https://cdn.hf-mirror.example/x", true},
		{"https://hf-mirror.example/o/m/resolve/main/x", "https://cdn-lfs.hf.co/x", true},
		{"http://127.0.0.1:8080/o/m/resolve/main/x", "http://127.0.0.1:9090/blobs/x", true},
		{"https://files.pythonhosted.org/packages/x.tar.gz", "https://files.pythonhosted.org/packages/y.tar.gz", true},

		{"https://huggingface.co/o/m/resolve/main/x", "http://cdn-lfs.hf.co/x", false}, // HTTPS downgraded
		{"https://huggingface.co/o/m/resolve/main/x", "https://evil.example/x", false},
		{"https://huggingface.co/o/m/resolve/main/x", "https://hf.co.evil.example/x", false},
		{"https://huggingface.co/o/m/resolve/main/x", "https://evilhf.co/x", false},
		{"https://huggingface.co/o/m/resolve/main/x", "https://huggingface.co.evil.example/x", false},
		{"https://huggingface.co/o/m/resolve/main/x", "https://169.254.169.254/latest/meta-data/", false},
		{"https://huggingface.co/o/m/resolve/main/x", "https://localhost/x", false},
		{"https://hf-mirror.example/o/m/resolve/main/x", "https://example/x", false}, // a parent is not a subdomain
		{"http://127.0.0.1:8080/o/m/resolve/main/x", "http://evil.127.0.0.1/x", false},
		{"http://127.0.0.1:8080/o/m/resolve/main/x", "http://10.0.0.1/x", false},
		{"https://files.pythonhosted.org/packages/x.tar.gz", "https://evil.example/x.tar.gz", false},
	}
	for _, tt := range tests {
		first, _ := url.Parse(tt.first)
		next, _ := url.Parse(tt.next)
		err := checkRedirect(first, next)
		if tt.ok && err != nil {
			t.Errorf("%s -> %s: %v, want it followed", tt.first, tt.next, err)
		}
		if !tt.ok && !errors.Is(err, ErrForeignRedirect) {
			t.Errorf("%s -> %s: %v, want ErrForeignRedirect", tt.first, tt.next, err)
		}
	}
}

// redirectingHub is a hub at 127.0.0.1 whose one file redirects to
// location, and a CDN that serves the file's bytes at any path. Every host
// name the client dials reaches the CDN, so a redirect that is followed
// would succeed, whatever host it names.
type redirectingHub struct {
	hub, cdn *httptest.Server
	data     []byte

	mu      sync.Mutex
	cdnAuth []string // the Authorization of each request the CDN saw
}

func newRedirectingHub(t *testing.T, location string) *redirectingHub {
	t.Helper()
	h := &redirectingHub{data: bytes.Repeat([]byte("weights "), 1000)}
	h.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.cdnAuth = append(h.cdnAuth, r.Header.Get("Authorization"))
		h.mu.Unlock()
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.data))
	}))
	t.Cleanup(h.cdn.Close)
	h.hub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer hf_secret" {
			http.Error(w, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Linked-Etag", `"`+h.sha256()+`"`)
		http.Redirect(w, r, location, http.StatusFound)
	}))
	t.Cleanup(h.hub.Close)
	return h
}

func (h *redirectingHub) sha256() string {
	sum := sha256.Sum256(h.data)
	return hex.EncodeToString(sum[:])
}

// client dials the hub for its own address and the CDN for any other.
func (h *redirectingHub) client() *Client {
	c := NewClient(h.hub.URL, "hf_secret", nil)
	hubAddr := h.hub.Listener.Addr().String()
	c.HTTP.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != hubAddr {
			addr = h.cdn.Listener.Addr().String()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return c
}

// A download follows the hub's redirect to a Hugging Face CDN host, without
// the token; a redirect to any other host is refused before it is dialled,
// and nothing is left on disk.
func TestDownloadFollowsRedirectsOnlyToHubHosts(t *testing.T) {
	t.Run("hub CDN", func(t *testing.T) {
		h := newRedirectingHub(t, "http://cdn-lfs-us-1.hf.co/repos/blob")
		dest := filepath.Join(t.TempDir(), "model.gguf")
		if err := h.client().Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
			t.Fatal(err)
		}
		assertFile(t, dest, h.data)
		if len(h.cdnAuth) == 0 {
			t.Fatal("the CDN was not used")
		}
		for _, a := range h.cdnAuth {
			if a != "" {
				t.Errorf("the token went to the CDN: %q", a)
			}
		}
	})
	for _, location := range []string{"http://evil.example/blob", "http://169.254.169.254/latest/meta-data/"} {
		t.Run(location, func(t *testing.T) {
			h := newRedirectingHub(t, location)
			dir := t.TempDir()
			dest := filepath.Join(dir, "model.gguf")
			err := h.client().Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{})
			if !errors.Is(err, ErrForeignRedirect) {
				t.Fatalf("err = %v, want ErrForeignRedirect", err)
			}
			if len(h.cdnAuth) != 0 {
				t.Errorf("the foreign host was reached %d times", len(h.cdnAuth))
			}
			if _, err := os.Stat(dest); err == nil {
				t.Error("a file was written")
			}
			assertNoLitter(t, dest)
		})
	}
}
