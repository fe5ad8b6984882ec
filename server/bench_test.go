package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/backend"
)

// The server's share of a request, without the engine: decode, validate,
// call an engine that answers at once with ready results, encode. Run with
// -benchmem: allocations per request are the figure that holds on a busy
// machine, where times do not (see the README's performance section).

// benchWidth is BERT-base's embedding size.
const benchWidth = 768

// benchText is an input of ~128 BERT tokens.
var benchText = strings.Repeat("The quick brown fox jumps over the lazy dog near the river bank. ", 10)

// discard is a ResponseWriter that keeps nothing but its header, so a
// benchmark counts the handler's allocations, not a recorder's.
type discard struct {
	header http.Header
	n      int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// serveBench posts body to path on h b.N times.
func serveBench(b *testing.B, h http.Handler, path string, body []byte) {
	b.Helper()
	w := &discard{header: http.Header{}}
	req, err := http.NewRequest(http.MethodPost, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	reader := bytes.NewReader(body)
	// Check the answer once, outside the measured loop.
	rec := &bodyRecorder{discard: discard{header: http.Header{}}}
	req.Body = io.NopCloser(bytes.NewReader(body))
	h.ServeHTTP(rec, req)
	if rec.status != 0 && rec.status != http.StatusOK {
		b.Fatalf("%s: %d %s", path, rec.status, rec.body.String())
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		reader.Reset(body)
		req.Body = io.NopCloser(reader)
		clear(w.header)
		h.ServeHTTP(w, req)
	}
}

type bodyRecorder struct {
	discard
	status int
	body   bytes.Buffer
}

func (r *bodyRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *bodyRecorder) WriteHeader(status int)      { r.status = status }

// benchEngine answers embed and rerank requests with results made once.
func benchEngine(inputs int) *fakeEngine {
	vecs := make([][]float32, inputs)
	for i := range vecs {
		vecs[i] = vectorFor(i, benchWidth)
	}
	embedded := &backend.EmbedResult{Model: "bench", Vectors: vecs, PromptTokens: 128 * inputs}
	ranked := &backend.RerankResult{Model: "bench", Tokens: 200 * inputs, Pairs: inputs}
	for i := range inputs {
		ranked.Results = append(ranked.Results, backend.RankedDocument{Index: i, Score: 1 / float64(i+3)})
	}
	return &fakeEngine{
		embed:  func(context.Context, backend.EmbedRequest) (*backend.EmbedResult, error) { return embedded, nil },
		rerank: func(context.Context, backend.RerankRequest) (*backend.RerankResult, error) { return ranked, nil },
	}
}

func BenchmarkOpenAIEmbeddings(b *testing.B) {
	for _, inputs := range []int{1, 32} {
		for _, format := range []string{"float", "base64"} {
			b.Run(fmt.Sprintf("inputs=%d/%s", inputs, format), func(b *testing.B) {
				body, _ := json.Marshal(map[string]any{"model": "bench", "input": repeat(benchText, inputs), "encoding_format": format})
				serveBench(b, newTestServer(benchEngine(inputs), Config{}), "/v1/embeddings", body)
			})
		}
	}
}

func BenchmarkRerank(b *testing.B) {
	for _, docs := range []int{1, 100} {
		for _, returnDocs := range []bool{false, true} {
			b.Run(fmt.Sprintf("documents=%d/return_documents=%v", docs, returnDocs), func(b *testing.B) {
				body, _ := json.Marshal(map[string]any{"model": "bench", "query": "what does the fox jump over?", "documents": repeat(benchText, docs), "return_documents": returnDocs})
				serveBench(b, newTestServer(benchEngine(docs), Config{}), "/v1/rerank", body)
			})
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
