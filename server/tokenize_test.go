package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

func TestOpenAIInputType(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  backend.InputType
	}{
		{`"query"`, backend.InputQuery}, {`"search_query"`, backend.InputQuery},
		{`"document"`, backend.InputDocument}, {`"search_document"`, backend.InputDocument},
	} {
		engine := &fakeEngine{}
		rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/v1/embeddings", `{"input":"a","input_type":`+tc.value+`}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("input_type %s: status %d: %s", tc.value, rec.Code, rec.Body)
		}
		if got := engine.lastRequest(t).InputType; got != tc.want {
			t.Errorf("input_type %s: engine got %q, want %q", tc.value, got, tc.want)
		}
	}
	engine := &fakeEngine{}
	if rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/v1/embeddings", `{"input":"a"}`); rec.Code != http.StatusOK || engine.lastRequest(t).InputType != "" {
		t.Errorf("absent input_type: status %d, engine got %q; want no prefix", rec.Code, engine.lastRequest(t).InputType)
	}

	rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/v1/embeddings", `{"input":"a","input_type":"classification"}`)
	body := decode[openAIErrorBody](t, rec)
	if rec.Code != http.StatusBadRequest || string(body.Error.Param) != `"input_type"` {
		t.Fatalf("unknown input_type: status %d: %s", rec.Code, rec.Body)
	}
	for _, allowed := range []string{`"query"`, `"document"`, `"search_query"`, `"search_document"`} {
		if !strings.Contains(body.Error.Message, allowed) {
			t.Errorf("message %q does not name %s", body.Error.Message, allowed)
		}
	}
}

func TestTEITokenize(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       backend.TokenizeRequest
	}{
		{"string, defaults", `{"inputs":"ab"}`, backend.TokenizeRequest{Inputs: []string{"ab"}, AddSpecial: true}},
		{"batch without specials", `{"inputs":["a","b"],"add_special_tokens":false,"model":"m"}`,
			backend.TokenizeRequest{Model: "m", Inputs: []string{"a", "b"}}},
		{"prompt", `{"inputs":"a","prompt_name":"query"}`,
			backend.TokenizeRequest{Inputs: []string{"a"}, AddSpecial: true, InputType: backend.InputQuery}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{}
			rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/tokenize", tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if len(engine.tokenizeRequests) != 1 || !reflect.DeepEqual(engine.tokenizeRequests[0], tc.want) {
				t.Errorf("engine got %+v, want %+v", engine.tokenizeRequests, tc.want)
			}
		})
	}

	// Specials added around a text have null offsets; other tokens carry
	// their bytes of the input.
	rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/tokenize", `{"inputs":"ab"}`)
	want := `[[{"id":101,"text":"[CLS]","special":true,"start":null,"stop":null},` +
		`{"id":97,"text":"a","special":false,"start":0,"stop":1},{"id":98,"text":"b","special":false,"start":1,"stop":2}]]`
	var got, wantJSON any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(want), &wantJSON)
	if !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("body %s\nwant %s", rec.Body, want)
	}

	for _, tc := range []struct{ name, body, errorType string }{
		{"token ids", `{"inputs":[1,2]}`, "Validation"},
		{"empty", `{"inputs":[]}`, "Empty"},
		{"bad prompt", `{"inputs":"a","prompt_name":"x"}`, "Validation"},
	} {
		rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/tokenize", tc.body)
		if e := decode[api.TEIError](t, rec); rec.Code != http.StatusBadRequest || e.ErrorType != tc.errorType {
			t.Errorf("%s: status %d, %+v", tc.name, rec.Code, e)
		}
	}
}

func TestTEIDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		req              backend.DecodeRequest
	}{
		{"one list, defaults", `{"ids":[1,2]}`, `["1-2"]`, backend.DecodeRequest{Inputs: [][]int32{{1, 2}}, SkipSpecial: true}},
		{"batch with specials", `{"ids":[[1],[2,3]],"skip_special_tokens":false,"model":"m"}`, `["1","2-3"]`,
			backend.DecodeRequest{Model: "m", Inputs: [][]int32{{1}, {2, 3}}}},
	} {
		engine := &fakeEngine{}
		rec := do(t, newTestServer(engine, Config{}), http.MethodPost, "/decode", tc.body)
		if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != tc.want {
			t.Errorf("%s: status %d: %s, want %s", tc.name, rec.Code, rec.Body, tc.want)
		}
		if len(engine.decodeRequests) != 1 || !reflect.DeepEqual(engine.decodeRequests[0], tc.req) {
			t.Errorf("%s: engine got %+v, want %+v", tc.name, engine.decodeRequests, tc.req)
		}
	}

	for _, tc := range []struct {
		name, body, errorType, mentions string
	}{
		{"missing", `{}`, "Validation", `"ids"`},
		{"text", `{"ids":"hello"}`, "Validation", "/tokenize"},
		{"texts", `{"ids":["hello"]}`, "Validation", "/tokenize"},
		{"not integers", `{"ids":[1.5]}`, "Validation", "integer"},
		{"empty", `{"ids":[]}`, "Empty", "empty"},
		{"outside the vocabulary", `{"ids":[[1],[5,1000]]}`, "Validation", "token id 1000"},
	} {
		rec := do(t, newTestServer(&fakeEngine{}, Config{}), http.MethodPost, "/decode", tc.body)
		e := decode[api.TEIError](t, rec)
		if rec.Code != http.StatusBadRequest || e.ErrorType != tc.errorType || !strings.Contains(e.Error, tc.mentions) {
			t.Errorf("%s: status %d, %+v; want 400 %s mentioning %s", tc.name, rec.Code, e, tc.errorType, tc.mentions)
		}
	}
}
