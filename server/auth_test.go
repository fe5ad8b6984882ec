package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/api"
)

const (
	testKey      = "sk-test-0123456789abcdef0123456789"
	otherTestKey = "sk-other-aaaaaaaaaaaaaaaaaaaaaaaaa"
)

func keyedServer(logs *bytes.Buffer, cfg Config) http.Handler {
	cfg.APIKeys = NewAPIKeys([]string{testKey, otherTestKey})
	return New(&fakeEngine{}, cfg, zerolog.New(logs))
}

// Without a key, every API family's route answers 401 in its own envelope
// with the Bearer challenge; the message never holds what was sent.
func TestMissingOrWrongKeyIs401InTheRoutesEnvelope(t *testing.T) {
	var logs bytes.Buffer
	h := keyedServer(&logs, Config{})
	const wrong = "sk-wrong-zzzzzzzzzzzzzzzzzzzzzzzzzz"
	for _, c := range []struct {
		path, body string
		message    func(t *testing.T, body []byte) string // decodes the envelope, returns its message
	}{
		{"/v1/embeddings", `{"input":"a"}`, func(t *testing.T, b []byte) string {
			var e openAIErrorBody
			mustUnmarshal(t, b, &e)
			if e.Error.Type != "invalid_request_error" || len(e.Error.Code) == 0 {
				t.Errorf("OpenAI error %s: want type invalid_request_error and a code", b)
			}
			return e.Error.Message
		}},
		{"/v1/rerank", `{"query":"q","documents":["a"]}`, cohereMessage},
		{"/v2/embed", `{"texts":["a"]}`, cohereMessage},
		{"/api/embed", `{"model":"m","input":"a"}`, func(t *testing.T, b []byte) string {
			var e api.OllamaError
			mustUnmarshal(t, b, &e)
			return e.Error
		}},
		{"/embed", `{"inputs":"a"}`, func(t *testing.T, b []byte) string {
			var e api.TEIError
			mustUnmarshal(t, b, &e)
			if e.ErrorType == "" {
				t.Errorf("TEI error %s has no error_type", b)
			}
			return e.Error
		}},
	} {
		for _, headers := range [][]string{
			nil,
			{"Authorization", "Bearer " + wrong},
			{"X-Api-Key", wrong},
			{"Authorization", "Basic " + testKey}, // the right key in the wrong scheme
		} {
			rec := do(t, h, http.MethodPost, c.path, c.body, headers...)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("POST %s with %v: status %d, want 401: %s", c.path, headers, rec.Code, rec.Body)
				continue
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("POST %s: WWW-Authenticate = %q, want a Bearer challenge", c.path, got)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("POST %s: the 401 has no X-Request-Id", c.path)
			}
			msg := c.message(t, rec.Body.Bytes())
			if !strings.Contains(msg, "API key") {
				t.Errorf("POST %s: message %q does not say an API key is needed", c.path, msg)
			}
		}
	}
	for _, secret := range []string{wrong, testKey} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a presented key:\n%s", logs.String())
		}
	}
}

func cohereMessage(t *testing.T, b []byte) string {
	var e api.CohereError
	mustUnmarshal(t, b, &e)
	if e.ID == "" {
		t.Errorf("Cohere error %s has no id", b)
	}
	return e.Message
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// Either header carries the key, with either key of the set; a rejected
// request is logged with its id and status but without the key.
func TestValidKeyIsServed(t *testing.T) {
	var logs bytes.Buffer
	h := keyedServer(&logs, Config{})
	for _, headers := range [][]string{
		{"Authorization", "Bearer " + testKey},
		{"Authorization", "bearer  " + otherTestKey}, // the scheme is case-insensitive
		{"X-Api-Key", testKey},
		{"Authorization", "Bearer not-a-key", "X-Api-Key", otherTestKey},
	} {
		rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, headers...)
		if rec.Code != http.StatusOK {
			t.Errorf("with %v: status %d, want 200: %s", headers, rec.Code, rec.Body)
		}
	}
	logs.Reset()
	rec := do(t, h, http.MethodPost, "/embed", `{"inputs":"a"}`, "X-Request-Id", "auth-1", "Authorization", "Bearer "+testKey+"x")
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	var line map[string]any
	mustUnmarshal(t, logs.Bytes(), &line)
	if line["id"] != "auth-1" || line["status"] != 401.0 {
		t.Errorf("the 401's log line = %s, want id auth-1 and status 401", logs.String())
	}
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("the log holds the presented key: %s", logs.String())
	}
}

// The probes and /metrics are open by default; --public-routes changes
// which paths are, and an empty list closes them all.
func TestPublicRoutes(t *testing.T) {
	var logs bytes.Buffer
	for _, c := range []struct {
		public     []string
		path       string
		wantStatus int
	}{
		{nil, "/health", http.StatusOK},
		{nil, "/ready", http.StatusOK},
		{nil, "/health/", http.StatusOK}, // cleaned before the check
		{nil, "/info", http.StatusUnauthorized},
		{nil, "/v1/models", http.StatusUnauthorized},
		{nil, "/no-such-route", http.StatusUnauthorized}, // no route list for strangers
		{[]string{}, "/health", http.StatusUnauthorized},
		{[]string{"/v1/models"}, "/v1/models", http.StatusOK},
		{[]string{"/v1/models"}, "/health", http.StatusUnauthorized},
	} {
		h := keyedServer(&logs, Config{PublicRoutes: c.public})
		if rec := do(t, h, http.MethodGet, c.path, ""); rec.Code != c.wantStatus {
			t.Errorf("public %q: GET %s = %d, want %d", c.public, c.path, rec.Code, c.wantStatus)
		}
	}
}

// No keys configured is today's open server; Set swaps the keys at once.
func TestNoKeysMeansNoAuthAndSetReplacesKeys(t *testing.T) {
	if rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/v1/embeddings", `{"input":"a"}`); rec.Code != http.StatusOK {
		t.Fatalf("without keys: status %d, want 200", rec.Code)
	}
	keys := NewAPIKeys([]string{"old-key"})
	h := New(&fakeEngine{}, Config{APIKeys: keys}, zerolog.Nop())
	keys.Set([]string{"new-key"})
	for key, want := range map[string]int{"old-key": http.StatusUnauthorized, "new-key": http.StatusOK} {
		if rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, "X-Api-Key", key); rec.Code != want {
			t.Errorf("after Set, key %s: status %d, want %d", key, rec.Code, want)
		}
	}
	keys.Set(nil)
	if rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, "X-Api-Key", "new-key"); rec.Code != http.StatusUnauthorized {
		t.Errorf("an emptied key set must refuse everyone, got %d", rec.Code)
	}
}

func TestParseAPIKeys(t *testing.T) {
	keys, err := ParseAPIKeys(" k1, ,k2 ,")
	if err != nil || !slices.Equal(keys, []string{"k1", "k2"}) {
		t.Errorf("ParseAPIKeys = %q, %v", keys, err)
	}
	keys, err = ParseAPIKeyFile("# team a\nk1\r\n\n  k2  \n#k3\n")
	if err != nil || !slices.Equal(keys, []string{"k1", "k2"}) {
		t.Errorf("ParseAPIKeyFile = %q, %v", keys, err)
	}
	for _, bad := range []string{"two words", "caf\u00e9-key", "tab\there"} {
		_, err := ParseAPIKeyFile("ok\n" + bad)
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseAPIKeyFile(%q) = %v, want an error naming line 2", bad, err)
			continue
		}
		if strings.Contains(err.Error(), bad) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
	if routes, err := ParsePublicRoutes(""); err != nil || routes == nil || len(routes) != 0 {
		t.Errorf("ParsePublicRoutes(\"\") = %#v, %v; want an empty, non-nil list", routes, err)
	}
	if _, err := ParsePublicRoutes("health"); err == nil {
		t.Error("a route that is not a path was accepted")
	}
}

// Structural check of constant time: whatever is presented (the right key,
// the last key, a wrong key of the same length, one wrong in its first
// byte, a short one, an empty one, a long one), Valid compares a 32-byte
// digest with every key. A loop that stopped at the first match, or that
// compared the raw keys, fails here.
func TestKeyComparisonDoesTheSameWorkForAnyInput(t *testing.T) {
	configured := []string{testKey, otherTestKey, "third-key-cccccccccccccccccccccccc"}
	keys := NewAPIKeys(configured)
	var calls int
	var lengths []int
	saved := constantTimeCompare
	t.Cleanup(func() { constantTimeCompare = saved })
	constantTimeCompare = func(a, b []byte) int {
		calls++
		lengths = append(lengths, len(a), len(b))
		return saved(a, b)
	}
	firstByte := "X" + testKey[1:]
	for _, c := range []struct {
		presented string
		want      bool
	}{
		{testKey, true}, {configured[2], true}, {firstByte, false}, {testKey[:len(testKey)-1] + "X", false},
		{"short", false}, {"", false}, {strings.Repeat(testKey, 50), false},
	} {
		calls, lengths = 0, nil
		if got := keys.Valid(c.presented); got != c.want {
			t.Errorf("Valid(%.12q…) = %v, want %v", c.presented, got, c.want)
		}
		if calls != len(configured) {
			t.Errorf("Valid(%.12q…) compared %d keys, want all %d", c.presented, calls, len(configured))
		}
		for _, n := range lengths {
			if n != 32 {
				t.Errorf("Valid(%.12q…) compared %d bytes, want SHA-256 digests of 32", c.presented, n)
			}
		}
	}
}

// Timing check, tolerant by design: the fastest of many rounds of each
// input (the minimum shrugs off a busy machine's noise) must agree within
// a factor of two. A comparison that leaks does so by nanoseconds this
// cannot see; the structural test above is the real guard. This one
// catches a gross difference, such as work skipped for a short key.
func TestKeyComparisonTiming(t *testing.T) {
	keys := NewAPIKeys([]string{testKey, otherTestKey, "third-key-cccccccccccccccccccccccc"})
	inputs := map[string]string{
		"right key":                    testKey,
		"right length, all wrong":      strings.Repeat("z", len(testKey)),
		"wrong in the first byte":      "X" + testKey[1:],
		"wrong in the last byte":       testKey[:len(testKey)-1] + "X",
		"short key":                    "k",
		"right length, other key's 31": otherTestKey[:len(otherTestKey)-1] + "y",
	}
	names := make([]string, 0, len(inputs))
	for name := range inputs {
		names = append(names, name)
	}
	const rounds, perRound = 40, 500
	fastest := map[string]time.Duration{}
	for range rounds {
		for _, name := range names { // map order: a different order each round
			key := inputs[name]
			start := time.Now()
			for range perRound {
				keys.Valid(key)
			}
			if d := time.Since(start); fastest[name] == 0 || d < fastest[name] {
				fastest[name] = d
			}
		}
	}
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for _, d := range fastest {
		lo, hi = min(lo, d), max(hi, d)
	}
	t.Logf("fastest of %d rounds of %d comparisons: %v", rounds, perRound, fastest)
	if hi > 2*lo {
		t.Errorf("comparison time depends on the key: %v", fastest)
	}
}
