package tests

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// robustRoute describes one POST route for the hostile-request table.
type robustRoute struct {
	name, path string
	valid      map[string]any // a small request that succeeds
	// text puts s everywhere the route reads text: the input, or the query
	// and the first document.
	text func(s string) map[string]any
	// blank is the status for whitespace-only text: embeddings embed it
	// ([CLS] [SEP]), rerank refuses a blank query.
	blank int
	// empty is the status for an empty text when it is not 400: Ollama
	// answers an empty input with no embeddings (a client preloading a
	// model).
	empty int
	// many is a request with n inputs or documents, and limit the most
	// the shared server takes.
	many  func(n int) map[string]any
	limit int
	// fields maps each request field to the kind of JSON it takes, for
	// the wrong-type cases.
	fields map[string]string
	// extra are the route's own edge cases.
	extra []robustCase
}

// robustCase is one hostile request and the status it must get.
type robustCase struct {
	name        string
	method      string // POST when ""
	path        string // the route's when ""
	contentType string // application/json when ""; "-" sends none
	body        []byte
	want        int
	inMessage   string                          // what the error message must name
	check       func(t *testing.T, body []byte) // more checks on a success
}

// wrongValues are JSON values of the wrong type (or out of range) for each
// field kind; every one must get a 400 naming the field.
var wrongValues = map[string][]string{
	"string":  {`1`, `true`, `[]`, `{}`, `["a"]`},
	"bool":    {`"yes"`, `1`, `[]`, `{}`},
	"int":     {`"5"`, `1.5`, `1e30`, `9223372036854775808`, `-9223372036854775809`, `-1`, `0`, `true`, `[]`},
	"strings": {`"x"`, `5`, `{}`, `[1]`, `[["x"]]`, `[true]`},
	"inputs": {`{}`, `true`, `5`, `[true]`, `[null]`, `[[[1]]]`, `[[["x"]]]`, `[1.5]`, `[[1.5]]`, `[-1]`, `[99999]`,
		`[2147483648]`, `[1e400]`, `[]`, `[[]]`, `[{"text":"x"}]`, `[1,"a"]`, `[""]`},
	// Ollama's input is a string or a list of strings; its dimensions 0
	// means all of them, as in Ollama.
	"ollamaInput":      {`{}`, `true`, `5`, `[true]`, `[null]`, `[[["x"]]]`, `[1.5]`, `[{"text":"x"}]`},
	"ollamaDimensions": {`"5"`, `1.5`, `1e30`, `9223372036854775808`, `-1`, `true`, `[]`},
	"documents":        {`"x"`, `5`, `{}`, `[]`, `[1]`, `[null]`, `[true]`, `[[["x"]]]`, `[{"title":"x"}]`, `[{"text":5}]`},
}

// hostileTexts are texts every route must answer 200 for: the JSON decoder
// turns invalid UTF-8 and lone surrogates into U+FFFD, and the tokenizers
// take anything else. Entries with raw set are written into the body
// verbatim: bytes or escapes no JSON encoder produces.
var hostileTexts = []struct {
	name, text string
	raw        bool
}{
	{"invalid UTF-8 bytes", "a \xff\xfe b", true},
	{"truncated UTF-8 sequence", "hello \xe6\x97", true},
	{"5-byte-range UTF-8", "x \xf7\xbf\xbf\xbf y", true},
	{"UTF-8 encoded surrogate", "\xed\xa0\x80 dog", true},
	{"overlong UTF-8", "\xc0\xaf\xe0\x80\xaf", true},
	{"lone surrogate escape", `\ud800`, true},
	{"reversed surrogate escapes", `the \udfff\ud800 dog`, true},
	{"NUL and control characters", "a\x00b\x01\x1f\x7f\u0085c\u200b\ufeff", false},
	{"only control characters", "\x00\x01\x02", false},
	{"BERT special-token text", "[CLS][SEP]", false},
	{"SentencePiece special-token text", "<s></s>", false},
	{"every special token", "[PAD][UNK][CLS][SEP][MASK]<s></s><pad><unk><mask>", false},
	{"emoji", "🦀 the 👩‍👩‍👧 dog 🇯🇵🏳️‍🌈", false},
	{"right-to-left", "مرحبا بالعالم \u200fשלום עולם", false},
	{"combining marks", "e\u0301\u0301\u0301 Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d", false},
	{"CJK", "東京都に住む 北京 서울 ｶﾀｶﾅ", false},
	{"one very long word", strings.Repeat("x", 5000), false},
}

func (rt robustRoute) cases() []robustCase {
	post := func(name string, v any, want int, raw ...string) robustCase {
		return robustCase{name: name, body: mustJSON(v, raw...), want: want}
	}
	var cs []robustCase
	for _, body := range []string{``, `{`, `{"input": `, `{"a":}`, `{'a': 1}`, `{"a": 1}}`, `{"a": 1} {"b": 2}`,
		`{"a": 1} x`, "\x00\xff\xfe", `{"a": "\u00"}`, `{"a": tru}`} {
		cs = append(cs, robustCase{name: fmt.Sprintf("malformed JSON %q", body), body: []byte(body), want: 400})
	}
	deep := `{"input": ` + strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000) + `}` // past encoding/json's depth limit
	cs = append(cs, robustCase{name: "nested 20,000 deep", body: []byte(deep), want: 400})
	for _, body := range []string{`[]`, `[{"input": "x"}]`, `"hello"`, `42`, `true`, `null`} {
		cs = append(cs, robustCase{name: "not an object " + body, body: []byte(body), want: 400})
	}
	for field, kind := range rt.fields {
		for _, v := range wrongValues[kind] {
			c := post(fmt.Sprintf("%s=%s", field, v), with(rt.valid, field, json.RawMessage(v)), 400)
			c.inMessage = field
			switch kind {
			case "inputs":
				c.inMessage = "input" // the engine names token ids' input by index: "input 0"
			case "ids":
				c.inMessage = "id" // "ids", or the engine's "token id N"
			}
			cs = append(cs, c)
		}
	}
	cs = append(cs, rt.textCases(post)...)
	valid := mustJSON(rt.valid)
	// JSON only, as TEI and OpenAI: curl -d without -H sends a form.
	for _, ct := range []string{"-", "text/plain", "application/x-www-form-urlencoded", "text/html", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", ";;;", "application/json; charset"} {
		cs = append(cs, robustCase{name: "Content-Type " + ct, contentType: ct, body: valid, want: 415})
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.api+json"} {
		cs = append(cs, robustCase{name: "Content-Type " + ct, contentType: ct, body: valid, want: 200})
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		cs = append(cs, robustCase{name: m, method: m, body: valid, want: 405})
	}
	cs = append(cs,
		robustCase{name: "long path", path: rt.path + "/" + strings.Repeat("x", 64<<10), body: valid, want: 404},
		robustCase{name: "long path of slashes", path: strings.Repeat("/", 8<<10) + rt.path, body: valid, want: 200},
		robustCase{name: "trailing slash", path: rt.path + "/", body: valid, want: 200},
		robustCase{name: "dot segments", path: "/x/.." + rt.path + "/.", body: valid, want: 200},
		robustCase{name: "long query string", path: rt.path + "?" + strings.Repeat("a=b&", 8<<10), body: valid, want: 200},
		robustCase{name: "escapes in path", path: rt.path + "%00%ff%2e%2e%2f", body: valid, want: 404},
	)
	return append(cs, rt.extra...)
}

// edgeCase returns a maker of cases that post base with some fields set.
func edgeCase(base map[string]any) func(name string, want int, kv ...any) robustCase {
	return func(name string, want int, kv ...any) robustCase {
		return robustCase{name: name, body: mustJSON(with(base, kv...)), want: want}
	}
}

func inputs(n int, text string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = text
	}
	return out
}

func embeddingsRoute(name, path, field, model string) robustRoute {
	valid := map[string]any{"model": model, field: "hello"}
	rt := robustRoute{
		name: name, path: path, valid: valid, blank: 200, limit: 100,
		text: func(s string) map[string]any { return with(valid, field, s) },
		many: func(n int) map[string]any { return with(valid, field, inputs(n, "a")) },
		fields: map[string]string{field: "inputs", "model": "string", "dimensions": "int",
			"truncate": "bool"},
	}
	if field == "input" {
		rt.fields["encoding_format"], rt.fields["input_type"] = "string", "string"
	} else {
		rt.fields["normalize"], rt.fields["truncation_direction"], rt.fields["prompt_name"] = "bool", "string", "string"
	}
	post := edgeCase(valid)
	rt.extra = []robustCase{
		post("at the maximum length", 200, field, nWords(62)),
		post("one token over", 400, field, nWords(63)),
		post("one token over, truncate", 200, field, nWords(63), "truncate", true),
		post("token ids at the maximum length", 200, field, tokenIDs(64)),
		post("token ids one over", 400, field, tokenIDs(65)),
		post("token ids one over, truncate", 200, field, tokenIDs(65), "truncate", true),
		post("a batch of long inputs", 200, field, inputs(100, nWords(300)), "truncate", true),
		post("dimensions 2^62", 400, "dimensions", 1<<62),
		post("dimensions over the model's", 400, "dimensions", 65),
		post("dimensions the model's", 200, "dimensions", 64),
		post("missing input", 400, field, nil),
	}
	return rt
}

func cohereRoute(name, path, model string) robustRoute {
	valid := map[string]any{"model": model, "query": "hello", "documents": []string{"the dog", "the cat"}}
	post := edgeCase(valid)
	rt := robustRoute{
		name: name, path: path, valid: valid, blank: 400, limit: 60,
		text: func(s string) map[string]any { return with(valid, "query", s, "documents", []string{s, "the dog"}) },
		many: func(n int) map[string]any { return with(valid, "documents", inputs(n, "a")) },
		fields: map[string]string{"model": "string", "query": "string", "documents": "documents", "top_n": "int",
			"return_documents": "bool", "rank_fields": "strings", "max_chunks_per_doc": "int",
			"max_tokens_per_doc": "int", "raw_scores": "bool", "truncate": "bool"},
	}
	objects := []map[string]any{{"text": rawPlaceholder(0), "title": rawPlaceholder(0), "n": 1}}
	rt.extra = []robustCase{
		post("top_n over the document count", 200, "top_n", 1000),
		post("top_n 2^62", 200, "top_n", 1<<62),
		post("long query", 400, "query", nWords(70)),
		post("long document", 200, "documents", []string{nWords(300), "dog"}),
		post("long document, truncate", 200, "documents", []string{nWords(300)}, "truncate", true),
		post("max_tokens_per_doc 1", 200, "max_tokens_per_doc", 1),
		post("max_chunks_per_doc 2^62", 200, "max_chunks_per_doc", 1<<62, "documents", []string{nWords(300)}),
		post("rank_fields names a missing field", 400, "rank_fields", []string{"title"},
			"documents", []map[string]string{{"text": "the dog"}}),
		post("missing query", 400, "query", nil),
		post("missing documents", 400, "documents", nil),
		{name: "object documents with invalid UTF-8 echoed", body: mustJSON(
			with(valid, "documents", objects, "return_documents", true), "\xff\xfeabc\xc3"), want: 200},
		{name: "object documents with invalid UTF-8 by rank_fields", body: mustJSON(
			with(valid, "documents", objects, "rank_fields", []string{"title", "n"}, "return_documents", true), "\xff"), want: 200},
	}
	rt.extra[0].check = func(t *testing.T, body []byte) {
		var r api.CohereRerankResponse
		if err := json.Unmarshal(body, &r); err != nil || len(r.Results) != 2 {
			t.Errorf("top_n 1000 over 2 documents: %d results, want 2 (%v)", len(r.Results), err)
		}
	}
	return rt
}

func teiRerankRoute(model string) robustRoute {
	valid := map[string]any{"model": model, "query": "hello", "texts": []string{"the dog", "the cat"}}
	post := edgeCase(valid)
	return robustRoute{
		name: "TEI rerank", path: "/rerank", valid: valid, blank: 400, limit: 60,
		text: func(s string) map[string]any { return with(valid, "query", s, "texts", []string{s, "the dog"}) },
		many: func(n int) map[string]any { return with(valid, "texts", inputs(n, "a")) },
		fields: map[string]string{"model": "string", "query": "string", "texts": "strings", "raw_scores": "bool",
			"return_text": "bool", "truncate": "bool", "truncation_direction": "string"},
		extra: []robustCase{
			post("long query", 400, "query", nWords(70)),
			post("long text", 200, "texts", []string{nWords(300)}),
			post("long text, truncate", 200, "texts", []string{nWords(300)}, "truncate", true),
			post("empty texts", 400, "texts", []string{}),
			post("missing query", 400, "query", nil),
			{name: "invalid UTF-8 returned as text", body: mustJSON(
				with(valid, "texts", []string{rawPlaceholder(0)}, "return_text", true), "\xff\xfe"), want: 200},
		},
	}
}

func tokenizeRoute(model string) robustRoute {
	valid := map[string]any{"model": model, "inputs": "hello"}
	return robustRoute{
		name: "TEI tokenize", path: "/tokenize", valid: valid, blank: 200, limit: 100,
		text:   func(s string) map[string]any { return with(valid, "inputs", s) },
		many:   func(n int) map[string]any { return with(valid, "inputs", inputs(n, "a")) },
		fields: map[string]string{"model": "string", "inputs": "inputs", "add_special_tokens": "bool", "prompt_name": "string"},
		extra: []robustCase{
			{name: "a long text", body: mustJSON(with(valid, "inputs", nWords(5000))), want: 200},
			{name: "token ids", body: mustJSON(with(valid, "inputs", []int{2, 3})), want: 400},
		},
	}
}

func cohereEmbedRoute(name, path, model string) robustRoute {
	valid := map[string]any{"model": model, "texts": []string{"hello"}, "input_type": "search_document"}
	post := edgeCase(valid)
	return robustRoute{
		name: name, path: path, valid: valid, blank: 200, limit: 100,
		text: func(s string) map[string]any { return with(valid, "texts", []string{s}) },
		many: func(n int) map[string]any { return with(valid, "texts", inputs(n, "a")) },
		fields: map[string]string{"model": "string", "texts": "strings", "input_type": "string",
			"embedding_types": "strings", "truncate": "string", "output_dimension": "int", "max_tokens": "int"},
		extra: []robustCase{
			post("long text, truncate END by default", 200, "texts", []string{nWords(300)}),
			post("long text, truncate NONE", 400, "texts", []string{nWords(300)}, "truncate", "NONE"),
			post("long text, truncate START", 200, "texts", []string{nWords(300)}, "truncate", "START"),
			post("every embedding type", 200, "embedding_types", []string{"float", "int8", "uint8", "binary", "ubinary", "base64"}),
			post("an unknown embedding type", 400, "embedding_types", []string{"int4"}),
			post("an unknown input_type", 400, "input_type", "image"),
			post("an unknown truncate", 400, "truncate", "MIDDLE"),
			post("output_dimension over the model's", 400, "output_dimension", 65),
			post("max_tokens 1", 200, "max_tokens", 1),
			post("missing texts", 400, "texts", nil),
		},
	}
}

func ollamaEmbedRoute(model string) robustRoute {
	valid := map[string]any{"model": model, "input": "hello"}
	post := edgeCase(valid)
	return robustRoute{
		name: "Ollama embed", path: "/api/embed", valid: valid, blank: 200, empty: 200, limit: 100,
		text:   func(s string) map[string]any { return with(valid, "input", s) },
		many:   func(n int) map[string]any { return with(valid, "input", inputs(n, "a")) },
		fields: map[string]string{"model": "string", "input": "ollamaInput", "truncate": "bool", "dimensions": "ollamaDimensions"},
		extra: []robustCase{
			post("long input, truncated by default", 200, "input", nWords(300)),
			post("long input, truncate false", 400, "input", nWords(300), "truncate", false),
			post("a tag other than latest", 404, "model", model+":v2"),
			post("dimensions over the model's", 400, "dimensions", 65),
		},
	}
}

// robustRoutes are every POST route, spread over the shared server's
// models so each tokenizer (WordPiece, SentencePiece) and head sees the
// hostile texts.
func robustRoutes() []robustRoute {
	return []robustRoute{
		embeddingsRoute("OpenAI embeddings", "/v1/embeddings", "input", "tiny-cls"),
		embeddingsRoute("OpenAI embeddings without /v1", "/embeddings", "input", "tiny-mean"),
		embeddingsRoute("TEI embed", "/embed", "inputs", "tiny-cls"),
		cohereRoute("Cohere v1 rerank", "/v1/rerank", "tiny-rank"),
		cohereRoute("Cohere v2 rerank", "/v2/rerank", "tiny-xlmr-rank"),
		cohereRoute("Cohere rerank on /rerank", "/rerank", "tiny-rank"),
		teiRerankRoute("tiny-nli-rank"),
		tokenizeRoute("tiny-xlmr-rank"),
		cohereEmbedRoute("Cohere v1 embed", "/v1/embed", "tiny-cls"),
		cohereEmbedRoute("Cohere v2 embed", "/v2/embed", "tiny-mean"),
		ollamaEmbedRoute("tiny-cls"),
		embedAllRoute("tiny-mean"),
		decodeRoute("tiny-cls"),
		similarityRoute("tiny-cls"),
		ollamaLegacyRoute("tiny-mean"),
	}
}

// TestRobustHostileRequests sends every route malformed, mistyped,
// oversized and strange requests: each must get its documented status in
// the route's envelope, and the server must serve correct vectors after.
func TestRobustHostileRequests(t *testing.T) {
	total := 0
	for _, rt := range robustRoutes() {
		t.Run(rt.name, func(t *testing.T) {
			for _, c := range rt.cases() {
				total++
				t.Run(c.name, func(t *testing.T) {
					method, path, ct := c.method, c.path, c.contentType
					method, path = cmp.Or(method, http.MethodPost), cmp.Or(path, rt.path)
					switch ct {
					case "":
						ct = "application/json"
					case "-":
						ct = ""
					}
					r := shared.srv.send(t, method, path, ct, c.body)
					if r.status != c.want {
						t.Errorf("status %d, want %d; body %s", r.status, c.want, clip(r.body))
					}
					env := envelopeOf(rt.path, c.body)
					if r.status == http.StatusNotFound && c.path != "" {
						env = notFoundEnvelope(rt.path) // a path no route serves
					}
					// /rerank reads the body to tell Cohere's request from
					// TEI's; what it refuses before that (the method, the
					// Content-Type, a body over the shared server's
					// 200,000-byte limit) is in TEI's envelope.
					if rt.path == "/rerank" && (r.status == 405 || r.status == 415 || len(c.body) > 200_000) {
						env = teiEnvelope
					}
					if r.status == 405 && r.header.Get("Allow") != http.MethodPost {
						t.Errorf("405 with Allow %q, want POST", r.header.Get("Allow"))
					}
					checkReply(t, env, r)
					if !strings.Contains(string(r.body), c.inMessage) {
						t.Errorf("the error does not name %q: %s", c.inMessage, clip(r.body))
					}
					if c.check != nil && r.status == 200 {
						c.check(t, r.body)
					}
				})
			}
		})
	}
	t.Logf("%d hostile requests", total)
	checkServesCorrectly(t)
}

// checkServesCorrectly fails unless the shared server is healthy and
// still embeds as the reference does.
func checkServesCorrectly(t *testing.T) {
	t.Helper()
	if r := shared.srv.get(t, "/health", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("/health: %d", r.StatusCode)
	}
	checkReferenceVectors(t, shared.srv.send(t, http.MethodPost, "/v1/embeddings", "application/json",
		mustJSON(map[string]any{"model": "tiny-cls", "input": texts})))
}

// checkReferenceVectors checks the answer to embedding texts with tiny-cls.
func checkReferenceVectors(t *testing.T, r reply) {
	t.Helper()
	var resp api.OpenAIEmbeddingResponse
	if err := json.Unmarshal(r.body, &resp); err != nil || r.status != 200 || len(resp.Data) != len(texts) {
		t.Fatalf("normal request: status %d, %d vectors, %v", r.status, len(resp.Data), err)
	}
	m := shared.models["tiny-cls"]
	for i, text := range texts {
		if diff := maxAbsDiff(t, floats(t, resp.Data[i].Embedding), m.expectedEmbedding(m.ids(text), 0)); diff > tolerance {
			t.Errorf("input %d (%q) off the reference by %.2e", i, text, diff)
		}
	}
}
