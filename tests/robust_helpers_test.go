package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// reply is what came back for a hand-made request.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// robustClient bounds every request, so a server that hangs fails the test
// instead of stalling it.
var robustClient = &http.Client{Timeout: 60 * time.Second}

// send makes a request with a verbatim body; contentType "" sends none. A
// transport error (a reset, a closed connection) fails the test: the
// server must always answer.
func (sp *serverProcess) send(t testing.TB, method, path, contentType string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, sp.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := robustClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", method, clip([]byte(path)), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, clip([]byte(path)), err)
	}
	return reply{resp.StatusCode, resp.Header, raw}
}

// envelope is the shape a route answers in, errors included.
type envelope int

const (
	openAIEnvelope envelope = iota // {"object": "list", ...}; {"error": {"message", "type"}}
	teiEnvelope                    // a bare array; {"error", "error_type"}
	cohereEnvelope                 // {"id", "results"} or {"id", "embeddings"}; {"id", "message"}
	ollamaEnvelope                 // {"model", "embeddings"}; {"error": "..."}
)

// envelopeOf is the envelope of a POST route. /rerank answers in Cohere's
// when the body carries "documents" and no "texts", in TEI's otherwise.
func envelopeOf(path string, body []byte) envelope {
	switch path {
	case "/embed", "/embed_all", "/tokenize", "/decode", "/similarity":
		return teiEnvelope
	case "/v1/rerank", "/v2/rerank", "/v1/embed", "/v2/embed":
		return cohereEnvelope
	case "/api/embed", "/api/embeddings":
		return ollamaEnvelope
	case "/rerank":
		var shape struct{ Texts, Documents json.RawMessage }
		present := func(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }
		if json.Unmarshal(body, &shape) == nil && present(shape.Documents) && !present(shape.Texts) {
			return cohereEnvelope
		}
		return teiEnvelope
	}
	return openAIEnvelope
}

// notFoundEnvelope is the envelope of a 404 for a path that extends path:
// Cohere's under Cohere's paths that OpenAI does not share (/v2/…,
// /v1/embed…), our own (OpenAI's) elsewhere.
func notFoundEnvelope(path string) envelope {
	if strings.HasPrefix(path, "/api/") {
		return ollamaEnvelope
	}
	if strings.HasPrefix(path, "/v2/") || strings.HasPrefix(path, "/v1/embed") && !strings.HasPrefix(path, "/v1/embeddings") {
		return cohereEnvelope
	}
	return openAIEnvelope
}

// documentedStatuses are the statuses README lists for requests a client
// got wrong (503 is for server states none of these tests create).
var documentedStatuses = map[int]bool{
	200: true, 400: true, 404: true, 405: true, 413: true, 415: true, 422: true,
}

// checkReply checks a reply is well-formed: a documented status, a JSON
// body that is valid UTF-8 (so no NaN or Inf either, which JSON cannot
// spell), in env's shape, and for errors a message saying what is wrong.
func checkReply(t testing.TB, env envelope, r reply) {
	t.Helper()
	if !documentedStatuses[r.status] {
		t.Errorf("status %d is not a documented answer; body %s", r.status, clip(r.body))
	}
	if !utf8.Valid(r.body) || !json.Valid(r.body) {
		t.Fatalf("status %d: the body is not valid UTF-8 JSON: %s", r.status, clip(r.body))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("status %d: Content-Type %q, want application/json", r.status, ct)
	}
	var fields map[string]json.RawMessage
	isObject := json.Unmarshal(r.body, &fields) == nil
	str := func(m map[string]json.RawMessage, key string) string {
		var s string
		_ = json.Unmarshal(m[key], &s)
		return s
	}
	if r.status >= 400 {
		var ok bool
		switch env {
		case openAIEnvelope:
			var inner map[string]json.RawMessage
			ok = isObject && json.Unmarshal(fields["error"], &inner) == nil &&
				str(inner, "message") != "" && str(inner, "type") != ""
		case teiEnvelope:
			ok = isObject && str(fields, "error") != "" && str(fields, "error_type") != ""
		case cohereEnvelope:
			ok = isObject && str(fields, "id") != "" && str(fields, "message") != ""
		case ollamaEnvelope:
			ok = isObject && str(fields, "error") != ""
		}
		if !ok {
			t.Errorf("status %d: error body is not the route's envelope with a message: %s", r.status, clip(r.body))
		}
		return
	}
	var ok bool
	switch env {
	case openAIEnvelope:
		var data []json.RawMessage
		ok = isObject && str(fields, "object") == "list" && json.Unmarshal(fields["data"], &data) == nil && len(data) > 0
	case teiEnvelope:
		var list []json.RawMessage
		ok = json.Unmarshal(r.body, &list) == nil && len(list) > 0
	case cohereEnvelope:
		var results []json.RawMessage
		ok = isObject && str(fields, "id") != "" && (json.Unmarshal(fields["results"], &results) == nil && len(results) > 0 ||
			len(fields["embeddings"]) > 2)
	case ollamaEnvelope:
		// An empty input (a client preloading the model) gets no vectors;
		// the legacy /api/embeddings answers one "embedding".
		var embeddings [][]float64
		var embedding []float64
		ok = isObject && (fields["embeddings"] != nil && json.Unmarshal(fields["embeddings"], &embeddings) == nil ||
			fields["embedding"] != nil && json.Unmarshal(fields["embedding"], &embedding) == nil)
	}
	if !ok {
		t.Errorf("status %d: body is not the route's success envelope: %s", r.status, clip(r.body))
	}
}

// clip shortens a body or path for a failure message.
func clip(b []byte) string {
	const limit = 300
	if len(b) > limit {
		return strings.ToValidUTF8(string(b[:limit]), "?") + "…"
	}
	return strings.ToValidUTF8(string(b), "?")
}

// mustJSON marshals v; raw JSON goes in as json.RawMessage. Each
// rawPlaceholder(i) in a string is then replaced by rawBytes[i], which lets
// a body carry bytes no JSON encoder writes (invalid UTF-8).
func mustJSON(v any, rawBytes ...string) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the test wrote a value JSON cannot hold
	}
	for i, raw := range rawBytes {
		b = bytes.ReplaceAll(b, []byte(rawPlaceholder(i)), []byte(raw))
	}
	return b
}

func rawPlaceholder(i int) string { return "@@raw" + string(rune('0'+i)) + "@@" }

// with returns a copy of base with the key/value pairs set.
func with(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// nWords returns n words of the test vocabulary, one token each.
func nWords(n int) string {
	return strings.TrimSpace(strings.Repeat("dog ", n))
}

// tokenIDs returns n valid token ids ([CLS], then words, then [SEP]).
func tokenIDs(n int) []int32 {
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = 10 + int32(i%100)
	}
	ids[0], ids[n-1] = 2, 3
	return ids
}
