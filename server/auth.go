package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
)

// APIKeys is the set of keys a request must present one of. It is safe for
// concurrent use, and Set replaces the whole set at once, so a reload (the
// key file on SIGHUP) never leaves a request checked against half of it.
//
// Only SHA-256 digests are kept: every comparison is then between two
// 32-byte values, so its time cannot tell how long a key is, and a memory
// dump of the server holds no key.
type APIKeys struct {
	digests atomic.Pointer[[][sha256.Size]byte]
}

// NewAPIKeys returns the set holding keys.
func NewAPIKeys(keys []string) *APIKeys {
	k := &APIKeys{}
	k.Set(keys)
	return k
}

// Set replaces the keys.
func (k *APIKeys) Set(keys []string) {
	digests := make([][sha256.Size]byte, len(keys))
	for i, key := range keys {
		digests[i] = sha256.Sum256([]byte(key))
	}
	k.digests.Store(&digests)
}

// Len is how many keys the set holds.
func (k *APIKeys) Len() int { return len(*k.digests.Load()) }

// constantTimeCompare is subtle.ConstantTimeCompare; a test counts its calls
// to check that every key is compared, whatever the outcome.
var constantTimeCompare = subtle.ConstantTimeCompare

// Valid reports whether presented is one of the keys. It does the same work
// for any input of a given length: one digest, then a comparison with every
// key, with no early exit on a match, so its time says neither which key
// matched nor how much of a wrong key was right.
func (k *APIKeys) Valid(presented string) bool {
	digest := sha256.Sum256([]byte(presented))
	match := 0
	for _, want := range *k.digests.Load() {
		match |= constantTimeCompare(digest[:], want[:])
	}
	return match == 1
}

// ParseAPIKeys reads keys as --api-key and API_KEY give them: separated by
// commas, spaces around each ignored.
func ParseAPIKeys(list string) ([]string, error) {
	var keys []string
	for i, key := range strings.Split(list, ",") {
		key = strings.TrimSpace(key)
		if key == "" {
			continue
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("API key %d of the list: %w", i+1, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// ParseAPIKeyFile reads the text of an --api-key-file: one key per line;
// blank lines and lines starting with # are ignored, so keys can be
// annotated with whom they were given to.
func ParseAPIKeyFile(text string) ([]string, error) {
	var keys []string
	for i, line := range strings.Split(text, "\n") {
		key := strings.TrimSpace(line)
		if key == "" || strings.HasPrefix(key, "#") {
			continue
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// checkKey refuses a key no client could send in a header. Its message
// never holds the key: it goes to the log.
func checkKey(key string) error {
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return fmt.Errorf("the key holds a space, a control character or a non-ASCII byte at position %d; keys must be printable ASCII, as HTTP headers carry them", i+1)
		}
	}
	return nil
}

// presentedKeys are the credentials a request carries: the token of
// "Authorization: Bearer <key>" (OpenAI's, Cohere's, Jina's and TEI's
// clients, and Ollama's when a key is set) and "x-api-key: <key>"
// (Anthropic's convention, which llama-server accepts too).
func presentedKeys(r *http.Request) []string {
	var keys []string
	if scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if token = strings.TrimSpace(token); token != "" {
			keys = append(keys, token)
		}
	}
	if key := strings.TrimSpace(r.Header.Get("X-Api-Key")); key != "" {
		keys = append(keys, key)
	}
	return keys
}

// requireAPIKey answers 401 in the route's envelope to a request that
// presents no valid key, unless its path is public (the probes and
// /metrics by default). It runs inside logRequests, so the 401 is logged
// with the request's id, and inside the CORS handler, so a browser's
// preflight, which never carries credentials, passes.
func (s *server) requireAPIKey(next http.Handler) http.Handler {
	keys := s.cfg.APIKeys
	if keys == nil {
		return next
	}
	public := map[string]bool{}
	for _, p := range s.cfg.PublicRoutes {
		public[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		presented := presentedKeys(r)
		valid := false
		for _, key := range presented {
			// No short-circuit: both headers are checked when both are sent.
			valid = keys.Valid(key) || valid
		}
		if valid {
			next.ServeHTTP(w, r)
			return
		}
		// RFC 6750 §3: the challenge, with error="invalid_token" when a
		// key was sent but is not one of ours.
		challenge := `Bearer realm="rerank-api"`
		err := &apiError{
			status:  http.StatusUnauthorized,
			code:    "missing_api_key",
			message: "this server requires an API key: send it as Authorization: Bearer <key> (or x-api-key: <key>)",
		}
		if len(presented) > 0 {
			challenge += `, error="invalid_token"`
			err.code, err.message = "invalid_api_key", "the API key is not valid; ask the server's operator for one"
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, r, err)
	})
}

// ParsePublicRoutes reads --public-routes: paths separated by commas,
// served without a key. An empty list makes every route need one (a
// probe must then send a key too).
func ParsePublicRoutes(list string) ([]string, error) {
	routes := []string{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("public route %q is not a path; write it as /health", p)
		}
		routes = append(routes, path.Clean(p))
	}
	return routes, nil
}
