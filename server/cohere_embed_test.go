package server

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// quantizeExample is a worked example for the quantizers, by hand:
//
//	x            0.5    -0.25   0     1     -1     0.1    -0.1    0.9    0.3
//	x·127        63.5   -31.75  0     127   -127   12.7   -12.7   114.3  38.1
//	int8         64     -32     0     127   -127   13     -13     114    38
//	(x+1)·127.5  191.25 95.625  127.5 255   0      140.25 114.75  242.25 165.75
//	uint8        191    96      128   255   0      140    115     242    166
//	x > 0        1      0       0     1     0      1      0       1    | 1 (+7 zero bits)
//
// ubinary: 0b10010101 = 149, 0b10000000 = 128; binary: 149-128 = 21, 0.
// math.Round rounds halves away from zero (63.5 → 64, 127.5 → 128).
var quantizeExample = []float32{0.5, -0.25, 0, 1, -1, 0.1, -0.1, 0.9, 0.3}

func TestQuantizeInt8(t *testing.T) {
	want := []int8{64, -32, 0, 127, -127, 13, -13, 114, 38}
	if got := quantizeInt8(quantizeExample); !reflect.DeepEqual(got, want) {
		t.Errorf("quantizeInt8 = %v, want %v", got, want)
	}
	// Outside [-1, 1] (an unnormalized model) clamps.
	if got := quantizeInt8([]float32{2, -2}); !reflect.DeepEqual(got, []int8{127, -128}) {
		t.Errorf("quantizeInt8 out of range = %v, want [127 -128]", got)
	}
}

func TestQuantizeUint8(t *testing.T) {
	want := []int{191, 96, 128, 255, 0, 140, 115, 242, 166}
	if got := quantizeUint8(quantizeExample); !reflect.DeepEqual(got, want) {
		t.Errorf("quantizeUint8 = %v, want %v", got, want)
	}
	if got := quantizeUint8([]float32{2, -2}); !reflect.DeepEqual(got, []int{255, 0}) {
		t.Errorf("quantizeUint8 out of range = %v, want [255 0]", got)
	}
}

func TestQuantizeBinary(t *testing.T) {
	if got := quantizeUbinary(quantizeExample); !reflect.DeepEqual(got, []int{149, 128}) {
		t.Errorf("quantizeUbinary = %v, want [149 128]", got)
	}
	if got := quantizeBinary(quantizeExample); !reflect.DeepEqual(got, []int8{21, 0}) {
		t.Errorf("quantizeBinary = %v, want [21 0]", got)
	}
	// A multiple of 8 has no padding byte; all negative is -128 signed.
	if got := quantizeBinary(make([]float32, 8)); !reflect.DeepEqual(got, []int8{-128}) {
		t.Errorf("quantizeBinary(zeros) = %v, want [-128]", got)
	}
}

// cohereEmbedBody decodes an embed response with embeddings left raw.
type cohereEmbedBody struct {
	ID           string              `json:"id"`
	ResponseType *string             `json:"response_type"`
	Embeddings   json.RawMessage     `json:"embeddings"`
	Texts        []string            `json:"texts"`
	Meta         api.CohereEmbedMeta `json:"meta"`
}

func TestCohereEmbedV1Floats(t *testing.T) {
	engine := &fakeEngine{}
	h := newTestServer(engine, Config{})
	rec := do(t, h, http.MethodPost, "/v1/embed", `{"texts": ["a", "bb"], "model": "m", "input_type": "search_document"}`,
		"X-Request-Id", "r-1")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decode[cohereEmbedBody](t, rec)
	if got.ID != "r-1" || got.ResponseType == nil || *got.ResponseType != "embeddings_floats" ||
		!reflect.DeepEqual(got.Texts, []string{"a", "bb"}) ||
		got.Meta != (api.CohereEmbedMeta{APIVersion: api.CohereAPIVersion{Version: "1"}, BilledUnits: api.CohereEmbedBilledUnits{InputTokens: 14}}) {
		t.Errorf("response = %s", rec.Body)
	}
	var vecs [][]float32
	if err := json.Unmarshal(got.Embeddings, &vecs); err != nil || !reflect.DeepEqual(vecs, [][]float32{vectorFor(0, fakeDims), vectorFor(1, fakeDims)}) {
		t.Errorf("embeddings = %s (%v)", got.Embeddings, err)
	}
	req := engine.lastRequest(t)
	want := backend.EmbedRequest{Model: "m", Inputs: []backend.Input{{Text: "a"}, {Text: "bb"}}, Truncate: true, InputType: backend.InputDocument}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("engine request = %+v, want %+v", req, want)
	}
}

func TestCohereEmbedByType(t *testing.T) {
	vec := vectorFor(0, fakeDims)
	all := api.CohereEmbeddings{
		Float:   [][]float32{vec},
		Int8:    [][]int8{quantizeInt8(vec)},
		Uint8:   [][]int{quantizeUint8(vec)},
		Binary:  [][]int8{quantizeBinary(vec)},
		Ubinary: [][]int{quantizeUbinary(vec)},
		Base64:  []string{encodeBase64(vec)},
	}
	for _, tc := range []struct {
		name, path, types string
		responseType      string // "" for none
		want              api.CohereEmbeddings
	}{
		{"v1 int8", "/v1/embed", `["int8"]`, "embeddings_by_type", api.CohereEmbeddings{Int8: all.Int8}},
		{"v1 all", "/v1/embed", `["float", "int8", "uint8", "binary", "ubinary", "base64"]`, "embeddings_by_type", all},
		{"v2 default", "/v2/embed", ``, "", api.CohereEmbeddings{Float: all.Float}},
		{"v2 binary", "/v2/embed", `["binary", "ubinary"]`, "", api.CohereEmbeddings{Binary: all.Binary, Ubinary: all.Ubinary}},
		{"v2 all", "/v2/embed", `["base64", "uint8", "float", "int8", "binary", "ubinary"]`, "", all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"texts": ["a"], "input_type": "search_query"`
			if tc.types != "" {
				body += `, "embedding_types": ` + tc.types
			}
			rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, tc.path, body+"}")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decode[cohereEmbedBody](t, rec)
			if (got.ResponseType == nil) != (tc.responseType == "") || got.ResponseType != nil && *got.ResponseType != tc.responseType {
				t.Errorf("response_type in %s, want %q", rec.Body, tc.responseType)
			}
			if want := tc.path[2:3]; got.Meta.APIVersion.Version != want {
				t.Errorf("api_version = %q on %s, want %q", got.Meta.APIVersion.Version, tc.path, want)
			}
			var emb api.CohereEmbeddings
			if err := json.Unmarshal(got.Embeddings, &emb); err != nil || !reflect.DeepEqual(emb, tc.want) {
				t.Errorf("embeddings = %s (%v), want %+v", got.Embeddings, err, tc.want)
			}
		})
	}
}

func TestCohereEmbedRequestFields(t *testing.T) {
	for _, tc := range []struct {
		name, path, fields string
		want               backend.EmbedRequest // Inputs left out: always [{Text: "a"}]
	}{
		{"v1 no input type", "/v1/embed", `"texts": ["a"]`, backend.EmbedRequest{Truncate: true}},
		{"query", "/v1/embed", `"texts": ["a"], "input_type": "search_query"`, backend.EmbedRequest{Truncate: true, InputType: backend.InputQuery}},
		{"document", "/v2/embed", `"texts": ["a"], "input_type": "search_document"`, backend.EmbedRequest{Truncate: true, InputType: backend.InputDocument}},
		{"classification", "/v2/embed", `"texts": ["a"], "input_type": "classification"`, backend.EmbedRequest{Truncate: true, InputType: backend.InputClassification}},
		{"clustering", "/v1/embed", `"texts": ["a"], "input_type": "clustering"`, backend.EmbedRequest{Truncate: true, InputType: backend.InputClustering}},
		{"truncate none", "/v1/embed", `"texts": ["a"], "truncate": "NONE"`, backend.EmbedRequest{}},
		{"truncate start", "/v2/embed", `"texts": ["a"], "input_type": "clustering", "truncate": "START"`,
			backend.EmbedRequest{Truncate: true, TruncateStart: true, InputType: backend.InputClustering}},
		{"truncate end", "/v1/embed", `"texts": ["a"], "truncate": "END"`, backend.EmbedRequest{Truncate: true}},
		{"v2 inputs", "/v2/embed", `"inputs": [{"content": [{"type": "text", "text": "a"}]}], "input_type": "search_query"`,
			backend.EmbedRequest{Truncate: true, InputType: backend.InputQuery}},
		{"output_dimension and max_tokens", "/v2/embed", `"texts": ["a"], "input_type": "search_query", "output_dimension": 2, "max_tokens": 5`,
			backend.EmbedRequest{Truncate: true, InputType: backend.InputQuery, Dimensions: 2, MaxTokens: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			rec := do(t, newTestServer(engine, Config{}), http.MethodPost, tc.path, `{`+tc.fields+`}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			tc.want.Inputs = []backend.Input{{Text: "a"}}
			if got := engine.lastRequest(t); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("engine request = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCohereEmbedErrors(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		engine           func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error)
		status           int
		inMessage        string
	}{
		{"v2 without input_type", "/v2/embed", `{"texts": ["a"]}`, nil, 400, "input_type"},
		{"unknown input_type", "/v1/embed", `{"texts": ["a"], "input_type": "image"}`, nil, 400, `"search_query"`},
		{"no texts", "/v1/embed", `{}`, nil, 400, "texts"},
		{"empty texts", "/v1/embed", `{"texts": []}`, nil, 400, "texts"},
		{"empty text", "/v1/embed", `{"texts": ["a", ""]}`, nil, 400, "texts[1]"},
		{"texts and inputs", "/v2/embed", `{"texts": ["a"], "inputs": [{"content": [{"type": "text", "text": "b"}]}], "input_type": "clustering"}`, nil, 400, "not both"},
		{"image input", "/v2/embed", `{"inputs": [{"content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}], "input_type": "clustering"}`, nil, 400, "images are not supported"},
		{"images", "/v1/embed", `{"images": ["data:image/png;base64,AA=="]}`, nil, 400, "images are not supported"},
		{"unknown embedding type", "/v2/embed", `{"texts": ["a"], "input_type": "clustering", "embedding_types": ["float", "int4"]}`, nil, 400, `"int4"; the types are "float", "int8", "uint8", "binary", "ubinary", "base64"`},
		{"bad truncate", "/v1/embed", `{"texts": ["a"], "truncate": "MIDDLE"}`, nil, 400, `"NONE", "START" or "END"`},
		{"bad output_dimension", "/v2/embed", `{"texts": ["a"], "input_type": "clustering", "output_dimension": 0}`, nil, 400, "output_dimension"},
		{"bad max_tokens", "/v2/embed", `{"texts": ["a"], "input_type": "clustering", "max_tokens": 0}`, nil, 400, "max_tokens"},
		{"too many", "/v1/embed", `{"texts": ["a", "b", "c"]}`, nil, 413, "limit of 2"},
		{"truncate none too long", "/v1/embed", `{"texts": ["a"], "truncate": "NONE"}`,
			func(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error) {
				if req.Truncate {
					return &backend.EmbedResult{Vectors: [][]float32{{1}}}, nil
				}
				return engineError(backend.ErrInputTooLong, "input 0 has 9000 tokens")(ctx, req)
			}, 400, "9000 tokens"},
		{"unknown model", "/v2/embed", `{"texts": ["a"], "input_type": "clustering", "model": "nope"}`,
			engineError(backend.ErrUnknownModel, `unknown model "nope"`), 404, `unknown model "nope"`},
		{"wrong method", "/v2/embed", ``, nil, 405, "POST"},
		{"unknown v2 route", "/v2/chat", `{}`, nil, 404, "no route POST /v2/chat"},
		{"unknown embed route", "/v1/embed-jobs", `{}`, nil, 404, "no route POST /v1/embed-jobs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestServer(&fakeEngine{embed: tc.engine}, Config{MaxClientBatchSize: 2})
			method := http.MethodPost
			if tc.status == http.StatusMethodNotAllowed {
				method = http.MethodGet
			}
			rec := do(t, h, method, tc.path, tc.body, "X-Request-Id", "e-1")
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := decode[api.CohereError](t, rec)
			if got.ID != "e-1" || !strings.Contains(got.Message, tc.inMessage) {
				t.Errorf("error = %s, want Cohere's envelope with id e-1 and a message mentioning %q", rec.Body, tc.inMessage)
			}
		})
	}
}

func TestOpenAIEnvelopeBesideCohereEmbed(t *testing.T) {
	h := newTestServer(&fakeEngine{}, Config{})
	for _, path := range []string{"/v1/embeddings/x", "/v1/chat"} {
		rec := do(t, h, http.MethodPost, path, `{}`)
		if got := decode[api.OpenAIErrorResponse](t, rec); rec.Code != http.StatusNotFound || got.Error.Message == "" {
			t.Errorf("POST %s = %d %s, want a 404 in OpenAI's envelope", path, rec.Code, rec.Body)
		}
	}
}
