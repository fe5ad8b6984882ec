package clients

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ollama/ollama/api"
)

// github.com/ollama/ollama/api: ClientFromEnvironment with OLLAMA_HOST set
// to rerank-api, as Ollama's own examples make their client, then Embed and
// the legacy Embeddings.
func TestOllamaAPI(t *testing.T) {
	url, e := setup(t)
	t.Setenv("OLLAMA_HOST", url)
	client, err := api.ClientFromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := client.Embed(ctx, &api.EmbedRequest{Model: "tiny-cls", Input: e.Texts})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, e, "Embed", "tiny-cls", res.Embeddings)
	if res.PromptEvalCount != e.tokens("tiny-cls", 0, len(e.Texts)) {
		t.Errorf("prompt_eval_count %d, want %d", res.PromptEvalCount, e.tokens("tiny-cls", 0, len(e.Texts)))
	}

	d := e.Dimensions
	res, err = client.Embed(ctx, &api.EmbedRequest{Model: d.Model + ":latest", Input: d.Text, Dimensions: d.Size})
	if err != nil {
		t.Fatal(err)
	}
	checkVector(t, e, "Embed dimensions", res.Embeddings[0], d.Vector)

	legacy, err := client.Embeddings(ctx, &api.EmbeddingRequest{Model: "tiny-mean", Prompt: e.Texts[2]})
	if err != nil {
		t.Fatal(err)
	}
	checkVector(t, e, "Embeddings", legacy.Embedding, e.Embeddings["tiny-mean"][2])

	// What tools that speak Ollama's API ask first: which models there are.
	list, err := client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range list.Models {
		listed[m.Name] = true
	}
	for model := range e.Embeddings {
		if !listed[model+":latest"] {
			t.Errorf("List: %+v lacks %s:latest", list.Models, model)
		}
	}
	show, err := client.Show(ctx, &api.ShowRequest{Model: "tiny-cls"})
	if err != nil || len(show.Capabilities) != 1 || show.Capabilities[0] != "embedding" {
		t.Errorf("Show: %+v, %v", show, err)
	}
	if v, err := client.Version(ctx); err != nil || v == "" {
		t.Errorf("Version: %q, %v", v, err)
	}

	_, err = client.Embed(ctx, &api.EmbedRequest{Model: "no-such-model", Input: "hello"})
	var status api.StatusError
	if !errors.As(err, &status) || status.StatusCode != http.StatusNotFound || status.ErrorMessage == "" {
		t.Errorf("unknown model: %v; want a 404 StatusError with Ollama's message", err)
	}
}
