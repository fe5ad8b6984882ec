package clients

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// github.com/openai/openai-go/v3: client.Embeddings.New with
// option.WithBaseURL pointing at rerank-api, as its README shows.
func TestOpenAIGo(t *testing.T) {
	url, e := setup(t)
	client := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey("unused"))
	ctx := context.Background()
	for model := range e.Embeddings {
		res, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: model,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: e.Texts},
		})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		var got [][]float64
		for i, d := range res.Data {
			if d.Index != int64(i) {
				t.Errorf("%s: data[%d] has index %d", model, i, d.Index)
			}
			got = append(got, d.Embedding)
		}
		checkVectors(t, e, "Embeddings.New "+model, model, got)
		if res.Model != model || res.Usage.PromptTokens != int64(e.tokens(model, 0, len(e.Texts))) {
			t.Errorf("%s: model %q, usage %+v", model, res.Model, res.Usage)
		}
	}

	res, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "tiny-cls",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: e.TokenIDs["tiny-cls"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float64
	for _, d := range res.Data {
		got = append(got, d.Embedding)
	}
	checkVectors(t, e, "Embeddings.New token ids", "tiny-cls", got)

	d := e.Dimensions
	res, err = client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model:      d.Model,
		Input:      openai.EmbeddingNewParamsInputUnion{OfString: openai.String(d.Text)},
		Dimensions: openai.Int(int64(d.Size)),
	})
	if err != nil {
		t.Fatal(err)
	}
	checkVector(t, e, "dimensions", res.Data[0].Embedding, d.Vector)

	_, err = client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "no-such-model", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
	if apiErr, ok := err.(*openai.Error); !ok || apiErr.StatusCode != 404 || apiErr.Message == "" {
		t.Errorf("unknown model: %v; want a 404 openai.Error with a message", err)
	}
}
