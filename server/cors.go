package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// CORS lets browser apps on other origins call the API. It is off unless
// --cors-allow-origin names origins: a server that answers browsers from
// anywhere should be a choice, not a default.

// corsAllowHeaders are the request headers a preflight always allows: the
// credentials (a browser never sends Authorization on its own, so it must
// be allowed by name: a "*" would not cover it), the JSON body's type, the
// request id and W3C trace context. Headers a client's SDK adds on top
// (OpenAI's x-stainless-*, Cohere's x-fern-*) are allowed as the preflight
// asks for them, as FastAPI's CORSMiddleware does with allow_headers=["*"].
var corsAllowHeaders = []string{"Authorization", "Content-Type", "X-Api-Key", "X-Request-Id", "Traceparent", "Tracestate"}

const (
	corsAllowMethods = "GET, HEAD, POST, OPTIONS"
	// corsExposeHeaders are the response headers a page may read besides
	// the CORS-safelisted ones: the id to quote in a bug report, and how
	// long to back off after a 429 or 503.
	corsExposeHeaders = "X-Request-Id, Retry-After"
	// corsMaxAge is how long, in seconds, a browser may cache a preflight:
	// two hours, the most Chromium honours.
	corsMaxAge = 7200
	// maxRequestedHeaders bounds the headers a preflight may ask for, so
	// its answer stays small.
	maxRequestedHeaders = 64
)

// ParseCORSOrigins reads --cors-allow-origin: "*" (any origin) or origins
// separated by commas, each scheme://host[:port] as a browser sends it in
// the Origin header (a trailing slash is dropped; case does not matter).
func ParseCORSOrigins(list string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
				return nil, fmt.Errorf("CORS origin %q is not an origin; write it as scheme://host[:port], e.g. https://app.example.com, or * for any", o)
			}
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// allowCORS answers preflights (OPTIONS with Access-Control-Request-Method)
// itself, before the API key check, since browsers send them without
// credentials; and marks the replies to allowed origins as readable by
// their pages. A request from any other origin gets no CORS header, so the
// browser keeps the reply from the page. With CORS off, it is not in the
// chain at all and OPTIONS stays a 405.
func (s *server) allowCORS(next http.Handler) http.Handler {
	if len(s.cfg.CORSAllowOrigins) == 0 {
		return next
	}
	anyOrigin := false
	allowed := map[string]bool{}
	for _, o := range s.cfg.CORSAllowOrigins {
		anyOrigin = anyOrigin || o == "*"
		allowed[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if !anyOrigin {
			// The reply depends on Origin: a cache must not give one
			// origin's reply to another.
			h.Add("Vary", "Origin")
		}
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r) // not from a browser's cross-origin fetch
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !anyOrigin && !allowed[strings.ToLower(origin)] {
			if preflight {
				// The browser only needs a non-2xx; the message is for
				// whoever replays the preflight with curl.
				writeError(w, r, &apiError{
					status:  http.StatusForbidden,
					code:    "cors_origin_not_allowed",
					message: fmt.Sprintf("origin %q is not allowed; add it to --cors-allow-origin (CORS_ALLOW_ORIGIN)", clipPath(origin)),
				})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if !preflight {
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			next.ServeHTTP(w, r)
			return
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders(r.Header.Get("Access-Control-Request-Headers")))
		h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
		w.WriteHeader(http.StatusNoContent)
	})
}

// corsHeaders is the Access-Control-Allow-Headers value: the headers always
// allowed, then those the preflight asks for that are valid header names.
func corsHeaders(requested string) string {
	out := append([]string(nil), corsAllowHeaders...)
	seen := map[string]bool{}
	for _, h := range out {
		seen[strings.ToLower(h)] = true
	}
	for i, h := range strings.Split(requested, ",") {
		if i >= maxRequestedHeaders {
			break
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || seen[h] || !httpguts.ValidHeaderFieldName(h) {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return strings.Join(out, ", ")
}
