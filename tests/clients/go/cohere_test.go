package clients

import (
	"context"
	"errors"
	"testing"

	cohere "github.com/cohere-ai/cohere-go/v2"
	cohereclient "github.com/cohere-ai/cohere-go/v2/client"
)

// github.com/cohere-ai/cohere-go/v2: Embed and Rerank of the v1 API
// (client.Embed, client.Rerank) and of v2 (client.V2.Embed,
// client.V2.Rerank), on a client made as its README shows with
// WithBaseURL pointing at rerank-api.
func TestCohereGo(t *testing.T) {
	url, e := setup(t)
	client := cohereclient.NewClient(cohereclient.WithToken("unused"), cohereclient.WithBaseURL(url))
	ctx := context.Background()
	all := e.tokens("tiny-cls", 0, len(e.Texts))

	t.Run("v1 embed", func(t *testing.T) {
		res, err := client.Embed(ctx, &cohere.EmbedRequest{
			Texts:     e.Texts,
			Model:     cohere.String("tiny-cls"),
			InputType: cohere.EmbedInputTypeSearchDocument.Ptr(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.EmbeddingsFloats == nil {
			t.Fatalf("response type %q, want embeddings_floats", res.ResponseType)
		}
		checkVectors(t, e, "v1 embed", "tiny-cls", res.EmbeddingsFloats.Embeddings)
		if m := res.EmbeddingsFloats.Meta; m == nil || m.BilledUnits == nil || m.BilledUnits.InputTokens == nil || int(*m.BilledUnits.InputTokens) != all {
			t.Errorf("meta %+v, want %d input tokens billed", m, all)
		}

		res, err = client.Embed(ctx, &cohere.EmbedRequest{
			Texts:          e.Texts,
			Model:          cohere.String("tiny-mean"),
			InputType:      cohere.EmbedInputTypeSearchQuery.Ptr(),
			EmbeddingTypes: []cohere.EmbeddingType{cohere.EmbeddingTypeFloat},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.EmbeddingsByType == nil {
			t.Fatalf("response type %q, want embeddings_by_type", res.ResponseType)
		}
		checkVectors(t, e, "v1 embed by type", "tiny-mean", res.EmbeddingsByType.Embeddings.Float)
	})

	t.Run("v2 embed", func(t *testing.T) {
		res, err := client.V2.Embed(ctx, &cohere.V2EmbedRequest{
			Texts:          e.Texts,
			Model:          "tiny-cls",
			InputType:      cohere.EmbedInputTypeClassification,
			EmbeddingTypes: []cohere.EmbeddingType{cohere.EmbeddingTypeFloat},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkVectors(t, e, "v2 embed", "tiny-cls", res.Embeddings.Float)

		var inputs []*cohere.EmbedInput
		for _, text := range e.Texts {
			inputs = append(inputs, &cohere.EmbedInput{Content: []*cohere.EmbedContent{{Type: "text", Text: &cohere.EmbedText{Text: cohere.String(text)}}}})
		}
		res, err = client.V2.Embed(ctx, &cohere.V2EmbedRequest{
			Inputs:         inputs,
			Model:          "tiny-mean",
			InputType:      cohere.EmbedInputTypeSearchQuery,
			EmbeddingTypes: []cohere.EmbeddingType{cohere.EmbeddingTypeFloat},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkVectors(t, e, "v2 embed inputs", "tiny-mean", res.Embeddings.Float)

		d := e.Dimensions
		res, err = client.V2.Embed(ctx, &cohere.V2EmbedRequest{
			Texts:           []string{d.Text},
			Model:           d.Model,
			InputType:       cohere.EmbedInputTypeSearchDocument,
			EmbeddingTypes:  []cohere.EmbeddingType{cohere.EmbeddingTypeFloat},
			OutputDimension: cohere.Int(d.Size),
		})
		if err != nil {
			t.Fatal(err)
		}
		checkVector(t, e, "v2 embed output_dimension", res.Embeddings.Float[0], d.Vector)
	})

	r := e.Rerank
	t.Run("v1 rerank", func(t *testing.T) {
		// Documents as strings, and as {"text": ...} objects as the API
		// reference's example sends them.
		var strs, objects []*cohere.RerankRequestDocumentsItem
		for _, d := range r.Documents {
			strs = append(strs, &cohere.RerankRequestDocumentsItem{String: d})
			objects = append(objects, &cohere.RerankRequestDocumentsItem{RerankDocument: cohere.RerankDocument{"text": d}})
		}
		for _, docs := range [][]*cohere.RerankRequestDocumentsItem{strs, objects} {
			res, err := client.Rerank(ctx, &cohere.RerankRequest{
				Model:           cohere.String(r.Model),
				Query:           r.Query,
				Documents:       docs,
				TopN:            cohere.Int(3),
				ReturnDocuments: cohere.Bool(true),
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []ranked
			for _, res := range res.Results {
				got = append(got, ranked{res.Index, res.RelevanceScore})
				if res.Document == nil || res.Document.Text != r.Documents[res.Index] {
					t.Errorf("result %d does not echo its document: %+v", res.Index, res.Document)
				}
			}
			checkRanking(t, e, "v1 rerank", got, 3, r.Scores)
		}
	})

	t.Run("v2 rerank", func(t *testing.T) {
		res, err := client.V2.Rerank(ctx, &cohere.V2RerankRequest{Model: r.Model, Query: r.Query, Documents: r.Documents})
		if err != nil {
			t.Fatal(err)
		}
		var got []ranked
		for _, res := range res.Results {
			got = append(got, ranked{res.Index, res.RelevanceScore})
		}
		checkRanking(t, e, "v2 rerank", got, len(r.Documents), r.Scores)

		res, err = client.V2.Rerank(ctx, &cohere.V2RerankRequest{Model: r.Model, Query: r.Query, Documents: r.Documents,
			TopN: cohere.Int(2), MaxTokensPerDoc: cohere.Int(r.MaxTokensPerDoc)})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, res := range res.Results {
			got = append(got, ranked{res.Index, res.RelevanceScore})
		}
		checkRanking(t, e, "v2 rerank max_tokens_per_doc", got, 2, r.CutScores)
	})

	t.Run("unknown model", func(t *testing.T) {
		_, err := client.V2.Rerank(ctx, &cohere.V2RerankRequest{Model: "no-such-model", Query: r.Query, Documents: r.Documents})
		var notFound *cohere.NotFoundError
		if !errors.As(err, &notFound) {
			t.Errorf("unknown model: %v (%T); want a NotFoundError", err, err)
		}
	})
}
