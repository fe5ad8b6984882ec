package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/api"
)

// decodeBody must answer every body as the streaming decoder does: the same
// value, or the same error (status, field and message).
func TestDecodeBodyMatchesStreamingDecoder(t *testing.T) {
	bodies := []string{
		`{"model":"m","input":["a","b"],"dimensions":3}`,
		"  \n{\"input\":\"x\"}\t\n",
		``, `   `, `null`, ` null `, `nul`, `[1,2]`, `"text"`, `12`,
		`{"input":"x"`, `{"input":"x"} {"input":"y"}`, `{"input":"x"} x`, `{"input":"x"}}`,
		`{"dimensions":"three"}`, `{"dimensions":1.5}`, `{"dimensions":"three"} trailing`,
		`{"input":"bad \x00 char"}`, "{\"input\":\"\xff\xfe\"}", `{"input":"\ud800"}`,
		`{"model":"m","model":"n"}`, `{"Input":"case"}`, `{"unknown":{"deep":[1,2,{"x":null}]}}`,
	}
	for _, body := range bodies {
		for _, limit := range []int64{1 << 20, 10} {
			t.Run(fmt.Sprintf("%q/limit=%d", body, limit), func(t *testing.T) {
				read := func() ([]byte, error) {
					return io.ReadAll(http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), limit))
				}
				var want api.OpenAIEmbeddingRequest
				stream := bufio.NewReader(http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), limit))
				wantErr := decodeStream(stream, &want)
				var got api.OpenAIEmbeddingRequest
				buf, readErr := read()
				gotErr := decodeBody(buf, readErr, &got)
				if describe(gotErr) != describe(wantErr) {
					t.Fatalf("error %s, want %s", describe(gotErr), describe(wantErr))
				}
				if wantErr == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("decoded %+v, want %+v", got, want)
				}
			})
		}
	}
}

// describe is what a client sees of err.
func describe(err error) string {
	var apiErr *apiError
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &apiErr):
		return fmt.Sprintf("%d %s %s: %s", apiErr.status, apiErr.code, apiErr.param, apiErr.message)
	case errors.As(err, &tooLarge):
		return "too large"
	}
	return "other: " + err.Error()
}

// writeJSON's body must be json.Marshal's and a newline, whatever buffer
// the pool hands it.
func TestEncodeJSONMatchesMarshal(t *testing.T) {
	values := []any{
		map[string]any{"html": "<a href=\"x\">&</a>", "line": "\u2028", "bad": "\xff"},
		[]float32{0.1, -1e-7, 3e20, 1},
		api.OpenAIEmbedding{Object: "embedding", Index: 2, Embedding: []float32{0.5}},
		strings.Repeat("x", 100_000), // grows the pooled buffer, then small values reuse it
		"short",
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), append(want, '\n')) {
			t.Errorf("encodeJSON(%.40v) = %.80q, want %.80q", v, got.Bytes(), want)
		}
		putBuffer(got)
	}
}

func TestEncodeBase64(t *testing.T) {
	// 1.0 is 0x3f800000: little-endian 00 00 80 3f.
	if got := encodeBase64([]float32{1, -2}); got != "AACAPwAAAMA=" {
		t.Errorf("got %s", got)
	}
	long := encodeBase64(make([]float32, 768))
	if short := encodeBase64([]float32{1}); short != "AACAPw==" || len(long) != 4096 {
		t.Errorf("a pooled scratch buffer leaked between calls: %q, %d", short, len(long))
	}
}

func TestElementName(t *testing.T) {
	if got := fmt.Sprintf("%s, %s", elementName{"input", 3}, elementName{"input", -1}); got != "input[3], input" {
		t.Errorf("got %q", got)
	}
}
