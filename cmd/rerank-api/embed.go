package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/server"
)

func embedCommand() *cli.Command {
	flags := append(catalogFlags(), engineFlags()...)
	flags = append(flags, logFlags(true)...)
	flags = append(flags,
		&cli.StringFlag{Name: "model", Usage: "catalog name or Hugging Face id (default: --embedding-model)"},
		&cli.BoolFlag{Name: "truncate", Value: true, Usage: "truncate texts longer than the model's maximum"},
	)
	return &cli.Command{
		Name:      "embed",
		Usage:     "embed texts and print what POST /v1/embeddings answers",
		ArgsUsage: "TEXT...",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("give at least one text: rerank-api embed [--model M] TEXT...")
			}
			engine, err := oneShotEngine(c, envconfig.RerankerModel.Flag)
			if err != nil {
				return err
			}
			defer engine.Close()
			inputs := make([]backend.Input, c.NArg())
			for i, t := range c.Args().Slice() {
				inputs[i] = backend.Input{Text: t}
			}
			res, err := engine.Embed(c.Context, backend.EmbedRequest{Model: c.String("model"), Inputs: inputs, Truncate: c.Bool("truncate")})
			if err != nil {
				return err
			}
			return json.NewEncoder(os.Stdout).Encode(server.OpenAIEmbeddingResponse(res, false))
		},
	}
}
