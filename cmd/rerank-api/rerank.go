package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/server"
)

func rerankCommand() *cli.Command {
	flags := append(catalogFlags(), engineFlags()...)
	flags = append(flags, logFlags(true)...)
	flags = append(flags,
		&cli.StringFlag{Name: "model", Usage: "catalog name or Hugging Face id (default: --reranker-model)"},
		&cli.StringFlag{Name: "query", Aliases: []string{"q"}, Required: true, Usage: "text to rank the documents against"},
		&cli.IntFlag{Name: "top-n", Usage: "print only the N most relevant documents (default: all)"},
		&cli.BoolFlag{Name: "raw-scores", Usage: "print the classifier's logits instead of probabilities"},
		&cli.BoolFlag{Name: "truncate", Usage: "cut long documents instead of scoring them in chunks"},
	)
	return &cli.Command{
		Name:      "rerank",
		Usage:     "rank documents by relevance to a query and print what POST /v1/rerank answers",
		ArgsUsage: "DOC...",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("give at least one document: rerank-api rerank [--model M] --query Q DOC...")
			}
			engine, err := oneShotEngine(c, envconfig.EmbeddingModel.Flag)
			if err != nil {
				return err
			}
			defer engine.Close()
			docs := c.Args().Slice()
			res, err := engine.Rerank(c.Context, backend.RerankRequest{
				Model: c.String("model"), Query: c.String("query"), Documents: docs,
				TopN: c.Int("top-n"), RawScores: c.Bool("raw-scores"), Truncate: c.Bool("truncate"),
			})
			if err != nil {
				return err
			}
			echoes := make([]json.RawMessage, len(docs))
			for i, d := range docs {
				if echoes[i], err = json.Marshal(api.CohereDocument{Text: d}); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(server.CohereRerankResponse("", "1", res, echoes))
		},
	}
}
