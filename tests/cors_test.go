package tests

import (
	"net/http"
	"strings"
	"testing"
)

// A browser's preflight from an allowed origin passes without a key, the
// actual request's reply is readable by the page, and another origin gets
// no CORS header.
func TestCORS(t *testing.T) {
	const origin = "http://localhost:5173"
	sp := serveSharedModels(t, "--cors-allow-origin", "https://app.example.com, "+origin, "--api-key", "browser-key")

	resp, raw := sp.requestWithHeaders(t, http.MethodOptions, "/v1/rerank", "",
		"Origin", origin,
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,x-fern-sdk-name")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight: %d %s, want 204", resp.StatusCode, raw)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("preflight Access-Control-Allow-Origin = %q, want %q", got, origin)
	}
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "x-api-key", "x-request-id", "x-fern-sdk-name"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
		}
	}
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || resp.Header.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight methods %q, max-age %q", resp.Header.Get("Access-Control-Allow-Methods"), resp.Header.Get("Access-Control-Max-Age"))
	}

	resp, raw = sp.requestWithHeaders(t, http.MethodPost, "/v1/rerank", `{"query": "q", "documents": ["a", "b"]}`,
		"Origin", origin, "Authorization", "Bearer browser-key", "X-Request-Id", "cors-1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/rerank from %s: %d %s", origin, resp.StatusCode, raw)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("reply: Access-Control-Allow-Origin %q, Vary %q", resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Vary"))
	}
	if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") || resp.Header.Get("X-Request-Id") != "cors-1" {
		t.Errorf("reply: Access-Control-Expose-Headers %q, X-Request-Id %q", resp.Header.Get("Access-Control-Expose-Headers"), resp.Header.Get("X-Request-Id"))
	}

	resp, _ = sp.requestWithHeaders(t, http.MethodOptions, "/v1/rerank", "",
		"Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST")
	if resp.StatusCode/100 == 2 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// CORS is off by default: OPTIONS is a 405 and no reply has CORS headers.
func TestCORSOffByDefault(t *testing.T) {
	resp, _ := shared.srv.requestWithHeaders(t, http.MethodOptions, "/v1/embeddings", "",
		"Origin", "http://localhost:5173", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS with CORS off: %d, Access-Control-Allow-Origin %q; want 405 and none", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
