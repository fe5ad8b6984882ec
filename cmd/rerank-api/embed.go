package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/envconfig"
)

func embedCommand() *cli.Command {
	flags := append(catalogFlags(), engineFlags()...)
	flags = append(flags, logFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "model", Usage: "catalog name or Hugging Face id (default: --embedding-model)"},
		&cli.BoolFlag{Name: "truncate", Value: true, Usage: "truncate texts longer than the model's maximum"},
	)
	return &cli.Command{
		Name:      "embed",
		Usage:     "embed texts and print OpenAI-style JSON",
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
			type item struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			}
			out := struct {
				Model  string `json:"model"`
				Data   []item `json:"data"`
				Tokens int    `json:"prompt_tokens"`
			}{Model: res.Model, Tokens: res.PromptTokens}
			for i, v := range res.Vectors {
				out.Data = append(out.Data, item{i, v})
			}
			return json.NewEncoder(os.Stdout).Encode(out)
		},
	}
}
