package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeCommit = "0123456789abcdef0123456789abcdef01234567"

// fakeFile is one file of the fake repo "org/model".
type fakeFile struct {
	data []byte
	lfs  bool   // served by a redirect to the CDN, with X-Linked-Etag
	etag string // X-Linked-Etag override, to simulate a corrupted transfer
}

func (f *fakeFile) sha256() string {
	sum := sha256.Sum256(f.data)
	return hex.EncodeToString(sum[:])
}

// request is what a fake server saw.
type request struct {
	server, method, path, rangeHeader, auth string
}

// fakeHub is a hub with a repo "org/model" and a CDN for its LFS files, both
// on 127.0.0.1.
type fakeHub struct {
	files map[string]*fakeFile
	hub   *httptest.Server
	cdn   *httptest.Server

	// requireToken makes the hub answer 401 without it; gated makes it 403.
	requireToken string
	gated        bool
	// cutAt makes the CDN's first GET of a blob drop the connection after
	// that many bytes; stallAt makes it stop sending after that many bytes
	// until the client goes away. ignoreRange makes it always answer 200.
	// delay holds every CDN answer back a little, so concurrent callers
	// overlap.
	cutAt, stallAt int
	ignoreRange    bool
	delay          time.Duration

	mu       sync.Mutex
	requests []request
	cut      bool
}

func newFakeHub(t *testing.T, files map[string]*fakeFile) *fakeHub {
	t.Helper()
	h := &fakeHub{files: files}
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.cdn.Close)
	h.hub = httptest.NewServer(h.hubHandler())
	t.Cleanup(h.hub.Close)
	return h
}

// standardFiles is a repo with a 1 MiB LFS file and two small git files.
func standardFiles(t *testing.T) map[string]*fakeFile {
	t.Helper()
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	return map[string]*fakeFile{
		"model.gguf":          {data: big, lfs: true},
		"config.json":         {data: []byte(`{"model_type":"bert"}`)},
		"README.md":           {data: []byte("# model\n")},
		"onnx/tokenizer.json": {data: []byte(`{"version":"1.0"}`)},
	}
}

func (h *fakeHub) client(token string) *Client {
	return NewClient(h.hub.URL, token, nil)
}

func (h *fakeHub) record(server string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, request{server, r.Method, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")})
}

// all returns every request seen so far.
func (h *fakeHub) all() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]request(nil), h.requests...)
}

// seen returns the requests a server ("hub" or "cdn") saw with that method.
func (h *fakeHub) seen(server, method string) []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []request
	for _, r := range h.requests {
		if r.server == server && r.method == method {
			out = append(out, r)
		}
	}
	return out
}

func (h *fakeHub) hubHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/org/model/revision/{rev}", func(w http.ResponseWriter, r *http.Request) {
		if !h.admit(w, r) {
			return
		}
		type lfs struct {
			SHA256 string `json:"sha256"`
			Size   int    `json:"size"`
		}
		type sibling struct {
			RFilename string `json:"rfilename"`
			Size      int    `json:"size,omitempty"`
			LFS       *lfs   `json:"lfs,omitempty"`
		}
		blobs := r.URL.Query().Get("blobs") == "true"
		var siblings []sibling
		for path, f := range h.files {
			s := sibling{RFilename: path}
			if blobs {
				s.Size = len(f.data)
				if f.lfs {
					s.LFS = &lfs{SHA256: f.sha256(), Size: len(f.data)}
				}
			}
			siblings = append(siblings, s)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "org/model", "sha": fakeCommit, "siblings": siblings})
	})
	mux.HandleFunc("/org/model/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if !h.admit(w, r) {
			return
		}
		f, ok := h.files[r.PathValue("path")]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", fakeCommit)
		if !f.lfs {
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(f.data)))
			return
		}
		etag := f.etag
		if etag == "" {
			etag = f.sha256()
		}
		w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(f.data)))
		http.Redirect(w, r, h.cdn.URL+"/blobs/"+f.sha256(), http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.record("hub", r)
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "Repository not found", http.StatusNotFound)
	})
	return mux
}

// admit records the request and answers 401 or 403 the way the hub does.
func (h *fakeHub) admit(w http.ResponseWriter, r *http.Request) bool {
	h.record("hub", r)
	if h.requireToken != "" && r.Header.Get("Authorization") != "Bearer "+h.requireToken {
		http.Error(w, "Invalid credentials", http.StatusUnauthorized)
		return false
	}
	if h.gated {
		w.Header().Set("X-Error-Code", "GatedRepo")
		http.Error(w, "Access to model org/model is restricted", http.StatusForbidden)
		return false
	}
	return true
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record("cdn", r)
	var f *fakeFile
	for _, c := range h.files {
		if r.URL.Path == "/blobs/"+c.sha256() {
			f = c
		}
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	h.mu.Lock()
	cut := h.cutAt > 0 && !h.cut
	h.cut = h.cut || cut
	h.mu.Unlock()
	switch {
	case cut:
		h.sendPart(w, f, h.cutAt)
		panic(http.ErrAbortHandler) // drops the connection mid-body
	case h.stallAt > 0 && r.Header.Get("Range") == "":
		h.sendPart(w, f, h.stallAt)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	case h.ignoreRange:
		w.Write(f.data)
	default:
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(f.data)))
	}
}

func (h *fakeHub) sendPart(w http.ResponseWriter, f *fakeFile, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(f.data)))
	w.Write(f.data[:n])
	w.(http.Flusher).Flush()
}

// testContext bounds a test: nothing here should take seconds.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
