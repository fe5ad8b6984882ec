package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// openAIResponse decodes a float-format embeddings response.
type openAIResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string          `json:"model"`
	Usage api.OpenAIUsage `json:"usage"`
}

func TestOpenAIEmbeddingsInputForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []backend.Input
	}{
		{"string", `"hello"`, []backend.Input{{Text: "hello"}}},
		{"strings", `["a", "b", "c"]`, []backend.Input{{Text: "a"}, {Text: "b"}, {Text: "c"}}},
		{"token ids", `[1, 2, 3]`, []backend.Input{{Tokens: []int32{1, 2, 3}}}},
		{"token id lists", `[[1, 2], [3]]`, []backend.Input{{Tokens: []int32{1, 2}}, {Tokens: []int32{3}}}},
		{"unicode", `["クエリ: 日本", "\u00e9"]`, []backend.Input{{Text: "クエリ: 日本"}, {Text: "é"}}},
	} {
		for _, path := range []string{"/v1/embeddings", "/embeddings"} {
			t.Run(tc.name+path, func(t *testing.T) {
				engine := &fakeEngine{}
				h := newTestServer(engine, Config{})
				rec := do(t, h, http.MethodPost, path, `{"model":"bge-m3","input":`+tc.input+`}`)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				req := engine.lastRequest(t)
				if !reflect.DeepEqual(req.Inputs, tc.want) {
					t.Errorf("engine inputs = %+v, want %+v", req.Inputs, tc.want)
				}
				if req.Model != "bge-m3" || req.Normalize != nil || req.Dimensions != 0 || req.Truncate {
					t.Errorf("engine request = %+v, want model bge-m3 and defaults", req)
				}

				got := decode[openAIResponse](t, rec)
				if got.Object != "list" || got.Model != "bge-m3" || len(got.Data) != len(tc.want) {
					t.Fatalf("response = %s", rec.Body)
				}
				n := 7 * len(tc.want)
				if got.Usage != (api.OpenAIUsage{PromptTokens: n, TotalTokens: n}) {
					t.Errorf("usage = %+v, want %d tokens", got.Usage, n)
				}
				for i, d := range got.Data {
					var vec []float32
					if err := json.Unmarshal(d.Embedding, &vec); err != nil {
						t.Fatalf("data[%d].embedding is not a float array: %s", i, d.Embedding)
					}
					if d.Object != "embedding" || d.Index != i || !reflect.DeepEqual(vec, vectorFor(i, fakeDims)) {
						t.Errorf("data[%d] = %+v %v, want embedding %d %v", i, d, vec, i, vectorFor(i, fakeDims))
					}
				}
			})
		}
	}
}

func TestOpenAIBase64MatchesFloat(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	body := `{"input":["a","b"],"encoding_format":"%s"}`
	floats := decode[openAIResponse](t, do(t, h, http.MethodPost, "/v1/embeddings", fmt.Sprintf(body, "float")))
	b64 := decode[openAIResponse](t, do(t, h, http.MethodPost, "/v1/embeddings", fmt.Sprintf(body, "base64")))
	if len(floats.Data) != 2 || len(b64.Data) != 2 {
		t.Fatalf("want 2 embeddings each, got %d and %d", len(floats.Data), len(b64.Data))
	}
	for i := range floats.Data {
		var want []float32
		if err := json.Unmarshal(floats.Data[i].Embedding, &want); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := json.Unmarshal(b64.Data[i].Embedding, &s); err != nil {
			t.Fatalf("base64 embedding is not a string: %s", b64.Data[i].Embedding)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != 4*len(want) {
			t.Fatalf("base64 %q: err %v, %d bytes for %d floats", s, err, len(raw), len(want))
		}
		for j := range want {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])); got != want[j] {
				t.Errorf("embedding %d[%d]: base64 gives %v, float gives %v", i, j, got, want[j])
			}
		}
	}
}

func TestOpenAIFieldsPassedThrough(t *testing.T) {
	for _, tc := range []struct {
		name         string
		autoTruncate bool
		fields       string
		wantTruncate bool
		wantDims     int
	}{
		{"defaults", false, ``, false, 0},
		{"auto-truncate", true, ``, true, 0},
		{"truncate overrides auto-truncate", true, `,"truncate":false`, false, 0},
		{"truncate requested", false, `,"truncate":true`, true, 0},
		{"dimensions", false, `,"dimensions":2`, false, 2},
		{"extra fields ignored", false, `,"user":"u1","dimensions":null,"something_new":{"x":[1]}`, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			h := newTestServer(engine, Config{AutoTruncate: tc.autoTruncate})
			rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"`+tc.fields+`}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			req := engine.lastRequest(t)
			if req.Truncate != tc.wantTruncate || req.Dimensions != tc.wantDims || req.Normalize != nil {
				t.Errorf("engine request = %+v, want truncate %v, dimensions %d, normalize nil",
					req, tc.wantTruncate, tc.wantDims)
			}
			if req.Model != "" {
				t.Errorf("model = %q, want \"\" for the default", req.Model)
			}
			if got := decode[openAIResponse](t, rec); got.Model != "default-embedder" {
				t.Errorf("response model = %q, want the engine's resolved name", got.Model)
			}
		})
	}
}

// Bodies are JSON or refused with a 415 in the route's envelope, as TEI
// and OpenAI do: a form (curl -d without -H), text/plain and a missing
// Content-Type too.
func TestContentTypes(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	for ct, want := range map[string]int{
		"application/json":                  http.StatusOK,
		"application/json; charset=utf-8":   http.StatusOK,
		"application/vnd.api+json":          http.StatusOK,
		"":                                  http.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType,
		"text/plain":                        http.StatusUnsupportedMediaType,
		"application/xml":                   http.StatusUnsupportedMediaType,
		"multipart/form-data; boundary=x":   http.StatusUnsupportedMediaType,
		"application/json; charset":         http.StatusUnsupportedMediaType, // unparsable
	} {
		rec := do(t, h, http.MethodPost, "/v1/embeddings", `{"input":"a"}`, "Content-Type", ct)
		if rec.Code != want {
			t.Errorf("Content-Type %q: status %d, want %d (%s)", ct, rec.Code, want, rec.Body)
		}
	}

	for path, check := range map[string]func(body []byte) bool{
		"/v1/embeddings": func(body []byte) bool {
			var e api.OpenAIErrorResponse
			return json.Unmarshal(body, &e) == nil && e.Error.Type == "invalid_request_error" &&
				e.Error.Code != nil && *e.Error.Code == "unsupported_media_type" && strings.Contains(e.Error.Message, "application/json")
		},
		"/embed": func(body []byte) bool {
			var e api.TEIError
			return json.Unmarshal(body, &e) == nil && e.ErrorType == "Validation" && strings.Contains(e.Error, "application/json")
		},
		"/v1/rerank": func(body []byte) bool {
			var e api.CohereError
			return json.Unmarshal(body, &e) == nil && e.ID != "" && strings.Contains(e.Message, "application/json")
		},
	} {
		rec := do(t, h, http.MethodPost, path, `{}`, "Content-Type", "text/plain")
		if rec.Code != http.StatusUnsupportedMediaType || !check(rec.Body.Bytes()) {
			t.Errorf("%s as text/plain: status %d, %s; want 415 in the route's envelope", path, rec.Code, rec.Body)
		}
	}
}

// engineError makes the fake engine fail the way the backend does: the
// sentinel wrapped with details.
func engineError(sentinel error, detail string) func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
	return func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		return nil, fmt.Errorf("%w: %s", sentinel, detail)
	}
}

func TestOpenAIErrors(t *testing.T) {
	nan := func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		return &backend.EmbedResult{Model: "m", Vectors: [][]float32{{1, float32(math.NaN())}}}, nil
	}
	short := func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) {
		return &backend.EmbedResult{Model: "m"}, nil
	}
	for _, tc := range []struct {
		name       string
		cfg        Config
		body       string
		engine     func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error)
		status     int
		typ        string
		param      string // "" = null
		retryAfter string
		inMessage  string
	}{
		{name: "bad JSON", body: `{"input":`, status: 400, typ: "invalid_request_error", inMessage: "not valid JSON"},
		{name: "syntax error", body: `{"input" "a"}`, status: 400, typ: "invalid_request_error", inMessage: "not valid JSON"},
		{name: "empty body", body: ``, status: 400, typ: "invalid_request_error", inMessage: "empty"},
		{name: "not an object", body: `["a"]`, status: 400, typ: "invalid_request_error", inMessage: "JSON object"},
		{name: "two objects", body: `{"input":"a"}{"input":"b"}`, status: 400, typ: "invalid_request_error"},
		{name: "missing input", body: `{"model":"m"}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "required"},
		{name: "null input", body: `{"input":null}`, status: 400, typ: "invalid_request_error", param: "input"},
		{name: "input number", body: `{"input":5}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "not a number"},
		{name: "input object", body: `{"input":{"text":"a"}}`, status: 400, typ: "invalid_request_error", param: "input"},
		{name: "element null", body: `{"input":["a",null]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "input[1]"},
		{name: "element number after string", body: `{"input":["a",5]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "input[1]"},
		{name: "element object", body: `{"input":[{"text":"a"}]}`, status: 400, typ: "invalid_request_error", param: "input"},
		{name: "string in token ids", body: `{"input":[1,"a"]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "token ids"},
		{name: "fractional token id", body: `{"input":[[1.5]]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "input[0]"},
		{name: "strings nested", body: `{"input":[["a"]]}`, status: 400, typ: "invalid_request_error", param: "input"},
		{name: "empty string", body: `{"input":""}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "empty"},
		{name: "empty array", body: `{"input":[]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "empty"},
		{name: "empty element", body: `{"input":["a",""]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "input[1]"},
		{name: "empty token list", body: `{"input":[[1],[]]}`, status: 400, typ: "invalid_request_error", param: "input", inMessage: "input[1]"},
		{name: "bad encoding_format", body: `{"input":"a","encoding_format":"int8"}`, status: 400, typ: "invalid_request_error", param: "encoding_format", inMessage: "base64"},
		{name: "zero dimensions", body: `{"input":"a","dimensions":0}`, status: 400, typ: "invalid_request_error", param: "dimensions"},
		{name: "negative dimensions", body: `{"input":"a","dimensions":-3}`, status: 400, typ: "invalid_request_error", param: "dimensions"},
		{name: "string dimensions", body: `{"input":"a","dimensions":"64"}`, status: 400, typ: "invalid_request_error", param: "dimensions", inMessage: "integer"},
		{name: "numeric model", body: `{"input":"a","model":5}`, status: 400, typ: "invalid_request_error", param: "model", inMessage: "string"},
		{name: "string truncate", body: `{"input":"a","truncate":"yes"}`, status: 400, typ: "invalid_request_error", param: "truncate"},
		{name: "body too large", cfg: Config{PayloadLimit: 64}, body: `{"input":"` + strings.Repeat("x", 100) + `"}`,
			status: 413, typ: "invalid_request_error", inMessage: "64-byte limit"},
		{name: "too many inputs", cfg: Config{MaxClientBatchSize: 2}, body: `{"input":["a","b","c"]}`,
			status: 413, typ: "invalid_request_error", param: "input", inMessage: "limit of 2"},
		{name: "unknown model", body: `{"input":"a","model":"nope"}`, engine: engineError(backend.ErrUnknownModel, `"nope"`),
			status: 404, typ: "not_found_error", param: "model", inMessage: "nope"},
		{name: "unsupported model", body: `{"input":"a"}`, engine: engineError(backend.ErrUnsupportedModel, "latent attention"),
			status: 422, typ: "invalid_request_error", param: "model", inMessage: "latent attention"},
		{name: "wrong kind", body: `{"input":"a"}`, engine: engineError(backend.ErrWrongKind, "bge-reranker is a rerank model"),
			status: 422, typ: "invalid_request_error", param: "model"},
		{name: "invalid input", body: `{"input":[99999999]}`, engine: engineError(backend.ErrInvalidInput, "token 99999999 is outside the vocabulary"),
			status: 400, typ: "invalid_request_error", inMessage: "vocabulary"},
		{name: "input too long", body: `{"input":"a"}`, engine: engineError(backend.ErrInputTooLong, "input 0 has 600 tokens"),
			status: 400, typ: "invalid_request_error", param: "input", inMessage: "600 tokens"},
		{name: "model unavailable", body: `{"input":"a"}`, engine: engineError(backend.ErrModelUnavailable, "not downloaded"),
			status: 503, typ: "server_error", retryAfter: "10"},
		{name: "overloaded", body: `{"input":"a"}`, engine: engineError(backend.ErrOverloaded, "queue full"),
			status: 429, typ: "server_error", retryAfter: "1"},
		{name: "other engine error", body: `{"input":"a"}`, engine: engineError(errors.New("llama_decode failed"), "-1"),
			status: 500, typ: "server_error", inMessage: "llama_decode failed"},
		{name: "NaN in a vector", body: `{"input":"a"}`, engine: nan, status: 500, typ: "server_error", inMessage: "NaN"},
		{name: "missing vectors", body: `{"input":"a"}`, engine: short, status: 500, typ: "server_error", inMessage: "0 vectors for 1 inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestServer(&fakeEngine{embed: tc.engine}, tc.cfg)
			rec := do(t, h, http.MethodPost, "/v1/embeddings", tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := decode[openAIErrorBody](t, rec)
			if got.Error.Type != tc.typ {
				t.Errorf("type = %q, want %q", got.Error.Type, tc.typ)
			}
			wantParam := "null"
			if tc.param != "" {
				wantParam = `"` + tc.param + `"`
			}
			if string(got.Error.Param) != wantParam {
				t.Errorf("param = %s, want %s", got.Error.Param, wantParam)
			}
			if len(got.Error.Code) == 0 {
				t.Error("code is missing; it must be present, null or a string")
			}
			if !strings.Contains(got.Error.Message, tc.inMessage) {
				t.Errorf("message %q does not mention %q", got.Error.Message, tc.inMessage)
			}
			if ra := rec.Header().Get("Retry-After"); ra != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", ra, tc.retryAfter)
			}
		})
	}
}

func TestTEIEmbed(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cfg           Config
		body          string
		wantInputs    []backend.Input
		wantNormalize bool
		wantTruncate  bool
		wantDims      int
		wantModel     string
		wantType      backend.InputType
	}{
		{name: "string, defaults", body: `{"inputs":"a"}`,
			wantInputs: []backend.Input{{Text: "a"}}, wantNormalize: true},
		{name: "batch", body: `{"inputs":["a","b"]}`,
			wantInputs: []backend.Input{{Text: "a"}, {Text: "b"}}, wantNormalize: true},
		{name: "token ids", body: `{"inputs":[[5,6],[7]]}`,
			wantInputs: []backend.Input{{Tokens: []int32{5, 6}}, {Tokens: []int32{7}}}, wantNormalize: true},
		{name: "normalize false", body: `{"inputs":"a","normalize":false}`,
			wantInputs: []backend.Input{{Text: "a"}}},
		{name: "auto-truncate default", cfg: Config{AutoTruncate: true}, body: `{"inputs":"a"}`,
			wantInputs: []backend.Input{{Text: "a"}}, wantNormalize: true, wantTruncate: true},
		{name: "truncate overrides", cfg: Config{AutoTruncate: true}, body: `{"inputs":"a","truncate":false}`,
			wantInputs: []backend.Input{{Text: "a"}}, wantNormalize: true},
		{name: "model and dimensions", body: `{"inputs":"a","model":"ruri-base","dimensions":3,"truncation_direction":"Right"}`,
			wantInputs: []backend.Input{{Text: "a"}}, wantNormalize: true, wantDims: 3, wantModel: "ruri-base"},
		{name: "prompt_name", body: `{"inputs":"a","prompt_name":"passage"}`,
			wantInputs: []backend.Input{{Text: "a"}}, wantNormalize: true, wantType: backend.InputDocument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			h := newTestServer(engine, tc.cfg)
			rec := do(t, h, http.MethodPost, "/embed", tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			req := engine.lastRequest(t)
			if !reflect.DeepEqual(req.Inputs, tc.wantInputs) || req.Normalize == nil || *req.Normalize != tc.wantNormalize ||
				req.Truncate != tc.wantTruncate || req.Dimensions != tc.wantDims || req.Model != tc.wantModel || req.InputType != tc.wantType {
				t.Errorf("engine request = %+v (normalize %v)", req, req.Normalize)
			}
			got := decode[[][]float32](t, rec)
			dims := fakeDims
			if tc.wantDims > 0 {
				dims = tc.wantDims
			}
			for i := range tc.wantInputs {
				if i >= len(got) || !reflect.DeepEqual(got[i], vectorFor(i, dims)) {
					t.Fatalf("response = %s, want vectorFor(0..%d)", rec.Body, len(tc.wantInputs)-1)
				}
			}
		})
	}
}

func TestTEIErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        Config
		body       string
		engine     func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error)
		status     int
		errorType  string
		retryAfter string
	}{
		{name: "bad JSON", body: `{`, status: 400, errorType: "Validation"},
		{name: "wrong type", body: `{"inputs":true}`, status: 400, errorType: "Validation"},
		{name: "empty", body: `{"inputs":[]}`, status: 400, errorType: "Empty"},
		{name: "empty string", body: `{"inputs":""}`, status: 400, errorType: "Empty"},
		{name: "left truncation", body: `{"inputs":"a","truncation_direction":"Left"}`, status: 400, errorType: "Validation"},
		{name: "unknown prompt_name", body: `{"inputs":"a","prompt_name":"classification"}`, status: 400, errorType: "Validation"},
		{name: "too many inputs", cfg: Config{MaxClientBatchSize: 1}, body: `{"inputs":["a","b"]}`, status: 413, errorType: "Validation"},
		{name: "unknown model", body: `{"inputs":"a","model":"x"}`, engine: engineError(backend.ErrUnknownModel, "x"), status: 404, errorType: "Validation"},
		{name: "overloaded", body: `{"inputs":"a"}`, engine: engineError(backend.ErrOverloaded, "queue full"), status: 429, errorType: "Overloaded", retryAfter: "1"},
		{name: "unavailable", body: `{"inputs":"a"}`, engine: engineError(backend.ErrModelUnavailable, "load failed"), status: 503, errorType: "Unhealthy", retryAfter: "10"},
		{name: "engine failure", body: `{"inputs":"a"}`, engine: engineError(errors.New("boom"), ""), status: 500, errorType: "Backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestServer(&fakeEngine{embed: tc.engine}, tc.cfg)
			rec := do(t, h, http.MethodPost, "/embed", tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := decode[api.TEIError](t, rec)
			if got.ErrorType != tc.errorType || got.Error == "" {
				t.Errorf("error = %+v, want error_type %s and a message", got, tc.errorType)
			}
			if ra := rec.Header().Get("Retry-After"); ra != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", ra, tc.retryAfter)
			}
		})
	}
}
