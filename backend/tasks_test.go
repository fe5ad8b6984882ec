package backend

import (
	"errors"
	"testing"

	"github.com/rerank-api/rerank-api/catalog"
)

// A request's task decides both the adapter (the batcher) and the text put
// before each input, so both come from one resolution: these are its rules.
func TestRequestTaskAndPrefix(t *testing.T) {
	jina := &loadedModel{entry: catalog.Entry{Name: "jina"}, tasks: &taskAdapters{
		tasks:       []string{"retrieval.query", "retrieval.passage", "text-matching"},
		prompts:     map[string]string{"retrieval.query": "Q: ", "retrieval.passage": "P: ", "text-matching": ""},
		byInputType: map[InputType]string{InputQuery: "retrieval.query", InputDocument: "retrieval.passage", InputClustering: "text-matching"},
	}}
	plain := &loadedModel{entry: catalog.Entry{Name: "plain", QueryPrefix: "query: "}}
	for _, c := range []struct {
		name       string
		m          *loadedModel
		req        EmbedRequest
		task, pref string
		invalid    bool
	}{
		{"explicit task", jina, EmbedRequest{Task: "text-matching"}, "text-matching", "", false},
		{"task wins over input type", jina, EmbedRequest{Task: "retrieval.passage", InputType: InputQuery}, "retrieval.passage", "P: ", false},
		{"query input type", jina, EmbedRequest{InputType: InputQuery}, "retrieval.query", "Q: ", false},
		{"document input type", jina, EmbedRequest{InputType: InputDocument}, "retrieval.passage", "P: ", false},
		{"clustering input type", jina, EmbedRequest{InputType: InputClustering}, "text-matching", "", false},
		{"input type without a task", jina, EmbedRequest{InputType: InputClassification}, "", "", false},
		{"neither: base weights", jina, EmbedRequest{}, "", "", false},
		{"unknown task", jina, EmbedRequest{Task: "retrieval"}, "", "", true},
		{"instruction", jina, EmbedRequest{Task: "text-matching", Instruction: "x"}, "text-matching", "", true},
		{"task to a model without tasks", plain, EmbedRequest{Task: "text-matching"}, "", "", true},
		{"plain model keeps its prefixes", plain, EmbedRequest{InputType: InputQuery}, "", "query: ", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.adapted = true
			prefix, err := c.m.requestPrefix(c.req)
			if c.invalid {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("prefix %q, error %v; want ErrInvalidInput", prefix, err)
				}
				return
			}
			task, terr := c.m.task(c.req)
			if err != nil || terr != nil || task != c.task || prefix != c.pref {
				t.Errorf("task %q prefix %q (errors %v, %v); want %q %q", task, prefix, terr, err, c.task, c.pref)
			}
		})
	}
	// Token vectors and other outputs encode with the base weights: a task
	// there is refused, not paired with them.
	if _, err := jina.requestPrefix(EmbedRequest{InputType: InputQuery}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a task outside Embed: error %v, want ErrInvalidInput", err)
	}
	if p, err := jina.requestPrefix(EmbedRequest{}); err != nil || p != "" {
		t.Errorf("no task outside Embed: %q, %v", p, err)
	}
}
