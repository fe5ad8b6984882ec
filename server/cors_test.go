package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const appOrigin = "https://app.example.com"

func corsServer(origins ...string) http.Handler {
	return New(&fakeEngine{}, Config{CORSAllowOrigins: origins, APIKeys: NewAPIKeys([]string{testKey})}, zerolog.Nop())
}

func preflight(t *testing.T, h http.Handler, origin string) *http.Response {
	t.Helper()
	rec := do(t, h, http.MethodOptions, "/v1/embeddings", "",
		"Origin", origin,
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os")
	return rec.Result()
}

// A preflight from an allowed origin passes without a key and allows the
// method, the credential headers and what the client's SDK asked for.
func TestCORSPreflight(t *testing.T) {
	resp := preflight(t, corsServer(appOrigin, "http://localhost:3000"), appOrigin)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight status %d, want 204", resp.StatusCode)
	}
	h := resp.Header
	if got := h.Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want the origin echoed", got)
	}
	if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("Access-Control-Allow-Methods = %q", h.Get("Access-Control-Allow-Methods"))
	}
	allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"authorization", "content-type", "x-api-key", "x-request-id", "x-stainless-os"} {
		if !strings.Contains(allowed, want) {
			t.Errorf("Access-Control-Allow-Headers = %q lacks %s", allowed, want)
		}
	}
	if h.Get("Access-Control-Max-Age") == "" {
		t.Error("no Access-Control-Max-Age")
	}
	if !slices.Contains(h.Values("Vary"), "Origin") {
		t.Errorf("Vary = %q, want Origin", h.Values("Vary"))
	}
}

// Replies to an allowed origin are readable by the page, a 401 included
// (so it can tell the user the key is wrong), and expose X-Request-Id.
func TestCORSActualRequest(t *testing.T) {
	h := corsServer(appOrigin + "/") // a trailing slash in the flag is forgiven
	for _, c := range []struct {
		key  string
		want int
	}{{testKey, http.StatusOK}, {"", http.StatusUnauthorized}} {
		rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, "Origin", appOrigin, "X-Api-Key", c.key)
		if rec.Code != c.want {
			t.Fatalf("status %d, want %d", rec.Code, c.want)
		}
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != appOrigin {
			t.Errorf("status %d: Access-Control-Allow-Origin = %q, want %q", c.want, got, appOrigin)
		}
		if !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-Id") {
			t.Errorf("Access-Control-Expose-Headers = %q, want X-Request-Id", rec.Header().Get("Access-Control-Expose-Headers"))
		}
		if !slices.Contains(rec.Header().Values("Vary"), "Origin") {
			t.Errorf("Vary = %q, want Origin", rec.Header().Values("Vary"))
		}
	}
}

// Another origin gets no CORS header: its preflight fails, and the page
// cannot read the reply to a simple request.
func TestCORSDisallowedOrigin(t *testing.T) {
	h := corsServer(appOrigin)
	resp := preflight(t, h, "https://evil.example.com")
	if resp.StatusCode/100 == 2 {
		t.Errorf("preflight from another origin: status %d, want a failure", resp.StatusCode)
	}
	for name := range resp.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("preflight from another origin got %s", name)
		}
	}
	rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, "Origin", "https://evil.example.com", "X-Api-Key", testKey)
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("request from another origin: status %d, Access-Control-Allow-Origin %q; want 200 and none",
			rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	resp := preflight(t, corsServer("*"), "https://anywhere.example.org")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight with *: status %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// With CORS off, OPTIONS stays what it was: a 405 naming the methods.
func TestCORSOffKeepsOptionsA405(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	resp := preflight(t, h, appOrigin)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Errorf("OPTIONS with CORS off: status %d, Allow %q; want 405 with Allow", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS is off, yet the reply has Access-Control-Allow-Origin")
	}
}

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins(" https://App.example.com/ , http://localhost:3000,")
	if err != nil || !slices.Equal(got, []string{"https://app.example.com", "http://localhost:3000"}) {
		t.Errorf("ParseCORSOrigins = %q, %v", got, err)
	}
	for _, bad := range []string{"app.example.com", "https://app.example.com/path", "https://user@app.example.com"} {
		if _, err := ParseCORSOrigins(bad); err == nil {
			t.Errorf("ParseCORSOrigins(%q) accepted a non-origin", bad)
		}
	}
}
