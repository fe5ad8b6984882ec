package clients

import (
	"context"
	"errors"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
)

// github.com/sashabaranov/go-openai: CreateEmbeddings on a client made from
// DefaultConfig with BaseURL set, as its README shows; float and base64.
func TestGoOpenAI(t *testing.T) {
	url, e := setup(t)
	config := goopenai.DefaultConfig("unused")
	config.BaseURL = url + "/v1"
	client := goopenai.NewClientWithConfig(config)
	ctx := context.Background()
	for model := range e.Embeddings {
		for _, format := range []goopenai.EmbeddingEncodingFormat{"", goopenai.EmbeddingEncodingFormatBase64} {
			res, err := client.CreateEmbeddings(ctx, goopenai.EmbeddingRequest{
				Input:          e.Texts,
				Model:          goopenai.EmbeddingModel(model),
				EncodingFormat: format,
			})
			if err != nil {
				t.Fatalf("%s %q: %v", model, format, err)
			}
			var got [][]float32
			for _, d := range res.Data {
				got = append(got, d.Embedding)
			}
			checkVectors(t, e, "CreateEmbeddings "+model+" "+string(format), model, got)
			if res.Usage.PromptTokens != e.tokens(model, 0, len(e.Texts)) {
				t.Errorf("%s %q: usage %+v", model, format, res.Usage)
			}
		}
	}

	d := e.Dimensions
	res, err := client.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{
		Input:      []string{d.Text},
		Model:      goopenai.EmbeddingModel(d.Model),
		Dimensions: d.Size,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkVector(t, e, "dimensions", res.Data[0].Embedding, d.Vector)

	_, err = client.CreateEmbeddings(ctx, goopenai.EmbeddingRequest{Input: "hello", Model: "no-such-model"})
	var apiErr *goopenai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Message == "" {
		t.Errorf("unknown model: %v; want a 404 APIError with a message", err)
	}
}
