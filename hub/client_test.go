package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http/httpproxy"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		name, endpoint, wantEndpoint string
	}{
		{"default", "", DefaultEndpoint},
		{"mirror", "http://mirror.example/", "http://mirror.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(tt.endpoint, "hf_a", nil)
			if c.Endpoint != tt.wantEndpoint || c.Token != "hf_a" {
				t.Errorf("got endpoint %q token %q, want %q hf_a", c.Endpoint, c.Token, tt.wantEndpoint)
			}
		})
	}
}

// The token reaches the hub but not the CDN, although both are 127.0.0.1
// (Go's own redirect policy would forward it to the same host name).
func TestTokenStaysWithTheHub(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	h.requireToken = "hf_secret"
	dest := filepath.Join(t.TempDir(), "model.gguf")
	if err := NewClient(h.hub.URL, "hf_secret", nil).Download(testContext(t), "org/model", "main", "model.gguf", dest, DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.all() {
		want := map[string]string{"hub": "Bearer hf_secret", "cdn": ""}[r.server]
		if r.auth != want {
			t.Errorf("%s %s %s carried Authorization %q, want %q", r.server, r.method, r.path, r.auth, want)
		}
	}
	if len(h.seen("cdn", "GET")) != 1 {
		t.Errorf("the CDN was not used: %+v", h.all())
	}
}

func TestHubErrors(t *testing.T) {
	tests := []struct {
		name, token, repo, path string
		requireToken            string
		gated                   bool
		want                    error
		wantMsg                 string
		wantList                error // from listing the repo
	}{
		{"no token", "", "org/model", "model.gguf", "hf_x", false, ErrUnauthorized,
			"authentication required: set HF_TOKEN (the repo may be gated or private): org/model model.gguf at main", ErrUnauthorized},
		{"rejected token", "hf_bad", "org/model", "model.gguf", "hf_x", false, ErrUnauthorized, "the hub rejected the token", ErrUnauthorized},
		{"gated", "hf_x", "org/model", "model.gguf", "", true, ErrGated, "accept its terms at", ErrGated},
		{"missing file", "", "org/model", "nope.gguf", "", false, ErrNotFound,
			"repository or file not found: org/model nope.gguf at main", nil},
		{"missing repo", "", "org/other", "model.gguf", "", false, ErrNotFound,
			"repository or file not found: org/other model.gguf at main", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHub(t, standardFiles(t))
			h.requireToken, h.gated = tt.requireToken, tt.gated
			c := h.client(tt.token)
			dest := filepath.Join(t.TempDir(), "f")
			for _, sha := range []string{"", h.files["model.gguf"].sha256()} { // with and without asking the hub first
				err := c.Download(testContext(t), tt.repo, "", tt.path, dest, DownloadOptions{SHA256: sha})
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("Download (sha %.8q): err = %v, want %v containing %q", sha, err, tt.want, tt.wantMsg)
				}
				assertNoLitter(t, dest)
			}
			if _, err := c.ListFiles(testContext(t), tt.repo, ""); !errors.Is(err, tt.wantList) {
				t.Errorf("ListFiles: err = %v, want %v", err, tt.wantList)
			}
		})
	}
}

func TestListFiles(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	files, err := h.client("").ListFiles(testContext(t), "org/model", "")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(files, func(a, b RemoteFile) int { return strings.Compare(a.Path, b.Path) })
	var want []RemoteFile
	for _, path := range []string{"README.md", "config.json", "model.gguf", "onnx/tokenizer.json"} {
		f := h.files[path]
		rf := RemoteFile{Path: path, Size: int64(len(f.data))}
		if f.lfs {
			rf.SHA256 = f.sha256()
		}
		want = append(want, rf)
	}
	if !slices.Equal(files, want) {
		t.Errorf("ListFiles = %+v\nwant %+v", files, want)
	}
	if got := h.seen("hub", "GET")[0].path; got != "/api/models/org/model/revision/main" {
		t.Errorf("listing path %q", got)
	}
}

func TestDownloadRepo(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	c, dir := h.client(""), t.TempDir()
	notReadme := func(path string) bool { return path != "README.md" }
	var mu sync.Mutex
	final := map[string]int64{}
	progress := func(file string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if done == total {
			final[file] = total
		}
	}
	for range 2 {
		if err := c.DownloadRepo(testContext(t), "org/model", "", dir, notReadme, progress); err != nil {
			t.Fatal(err)
		}
	}
	for path, f := range h.files {
		dest := filepath.Join(dir, filepath.FromSlash(path))
		if path == "README.md" {
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("README.md was downloaded though excluded")
			}
			continue
		}
		assertFile(t, dest, f.data)
		if final[path] != int64(len(f.data)) {
			t.Errorf("progress for %s ended at %d, want %d", path, final[path], len(f.data))
		}
	}
	if got := len(h.seen("cdn", "GET")); got != 1 {
		t.Errorf("CDN saw %d GETs over two runs, want 1 (the second run finds model.gguf verified)", got)
	}
	for _, r := range h.seen("hub", "GET") {
		if strings.Contains(r.path, "/resolve/") && !strings.Contains(r.path, "/resolve/"+fakeCommit+"/") {
			t.Errorf("%s: files should come from the listed commit", r.path)
		}
	}

	err := c.DownloadRepo(testContext(t), "org/model", "", dir, func(string) bool { return false }, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("nothing included: err = %v, want ErrNotFound", err)
	}
}

// Requests go through the proxy the client was made with, and the hosts it
// exempts go direct. The hub is called hub.invalid so the proxy applies at
// all (loopback addresses never use one); a test dialer connects that name
// to the fake hub, and refuses anything that is not 127.0.0.1.
func TestProxy(t *testing.T) {
	h := newFakeHub(t, standardFiles(t))
	var mu sync.Mutex
	var proxied []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied = append(proxied, r.URL.String())
		mu.Unlock()
		h.hub.Config.Handler.ServeHTTP(w, r) // a forward proxy that is also the hub
	}))
	defer proxy.Close()

	tests := []struct {
		name, noProxy string
		wantProxied   bool
	}{
		{"proxied", "", true},
		{"NO_PROXY host", "localhost,hub.invalid", false},
		{"NO_PROXY domain", ".invalid", false},
		{"NO_PROXY other", "example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route := (&httpproxy.Config{HTTPProxy: proxy.URL, NoProxy: tt.noProxy}).ProxyFunc()
			mu.Lock()
			proxied = nil
			mu.Unlock()
			before := len(h.seen("hub", "GET"))

			c := NewClient("http://hub.invalid", "", func(r *http.Request) (*url.URL, error) { return route(r.URL) })
			c.HTTP.Transport.(*http.Transport).DialContext = loopbackDialer(t, "hub.invalid:80", h.hub.Listener.Addr().String())
			if _, err := c.ListFiles(testContext(t), "org/model", ""); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			direct := len(h.seen("hub", "GET")) - before - len(proxied)
			want := []string{"http://hub.invalid/api/models/org/model/revision/main?blobs=true"}
			if !tt.wantProxied {
				want = nil
			}
			if !slices.Equal(proxied, want) || direct != 1-len(want) {
				t.Errorf("proxy saw %q and %d requests went direct; want proxied=%v", proxied, direct, tt.wantProxied)
			}
		})
	}
}

func loopbackDialer(t *testing.T, name, addr string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, a string) (net.Conn, error) {
		if a == name {
			a = addr
		}
		if host, _, _ := net.SplitHostPort(a); host != "127.0.0.1" {
			t.Errorf("refused to dial %s", a)
			return nil, fmt.Errorf("test refuses to dial %s", a)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}
}
