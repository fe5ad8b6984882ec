// Command rerank-api serves text embeddings and reranking from GGUF models
// over HTTP, and manages the model catalog from the command line.
//
// This package only wires things together: flags and environment variables,
// each defined once in envconfig, become configuration for server/,
// backend/ and the leaves.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// version is the release or commit this binary was built from; the Makefile
// sets it (-X main.version=...), a plain `go build` leaves "dev".
var version = "dev"

func main() {
	app := &cli.App{
		Name:    "rerank-api",
		Version: version,
		Usage:   "embeddings and reranking from GGUF models, OpenAI/Cohere/Jina/TEI compatible",
		Commands: []*cli.Command{
			serveCommand(),
			modelsCommand(),
			embedCommand(),
			rerankCommand(),
			pullCommand(),
			convertCommand(),
			quantizeCommand(),
			evalCommand(),
			benchCommand(),
		},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
