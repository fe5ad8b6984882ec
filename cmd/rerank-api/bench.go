package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/bench"
)

// benchCommand is `rerank-api bench`, a load generator for any server that
// speaks one of our API families. Its flags are a load's description, as
// hey's, oha's and wrk's are, not server configuration: they have no
// environment variables.
func benchCommand() *cli.Command {
	apis := make([]string, len(bench.APIs))
	for i, a := range bench.APIs {
		apis[i] = fmt.Sprintf("%s (%s)", a, a.Route())
	}
	return &cli.Command{
		Name:  "bench",
		Usage: "send a fixed load to an embedding or rerank server and print throughput and latency",
		Description: "Speaks OpenAI, Cohere/Jina, TEI and Ollama, so rerank-api, llama-server, TEI and Ollama get the same load.\n" +
			"Texts are common English words, about one token each, drawn from --seed: the same seed sends the same requests.\n" +
			"`make bench` is another thing: the engine alone, in process.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Value: "http://localhost:7987", Usage: "server's base URL, or the endpoint itself when it has a path (http://localhost:7987/v2/rerank)"},
			&cli.StringFlag{Name: "api", Value: string(bench.OpenAI), Usage: "wire format: " + strings.Join(apis, ", ")},
			&cli.StringFlag{Name: "model", Usage: "model named in each request (default: none, the server's default; Ollama needs one)"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Value: 1, Usage: "clients, each with one request in flight"},
			&cli.IntFlag{Name: "inputs", Value: 1, Usage: "texts per embedding request"},
			&cli.IntFlag{Name: "tokens", Value: 128, Usage: "words per input or document, about one token each"},
			&cli.IntFlag{Name: "documents", Value: 100, Usage: "documents per rerank request"},
			&cli.IntFlag{Name: "query-tokens", Value: 16, Usage: "words per rerank query"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"z"}, Value: 30 * time.Second, Usage: "how long to send requests (those in flight at the end finish and count)"},
			&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Usage: "send this many requests (without --duration: however long they take)"},
			&cli.IntFlag{Name: "warmup", Value: 1, Usage: "requests sent first and not measured (model loads, connections)"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "the texts' seed: the same seed sends the same requests"},
			&cli.StringFlag{Name: "api-key", Usage: "sent as Authorization: Bearer"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "longest a request may take before it counts as failed (0: no limit)"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout (progress stays on stderr)"},
		},
		Action: runBench,
	}
}

func runBench(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments (got %q): give the server with --url", c.Args().First())
	}
	api, err := bench.ParseAPI(c.String("api"))
	if err != nil {
		return fmt.Errorf("--api: %w", err)
	}
	cfg := bench.Config{
		URL: c.String("url"), API: api, Model: c.String("model"),
		Concurrency: c.Int("concurrency"), Inputs: c.Int("inputs"), Tokens: c.Int("tokens"),
		Documents: c.Int("documents"), QueryTokens: c.Int("query-tokens"),
		Duration: c.Duration("duration"), Requests: c.Int("requests"), Warmup: c.Int("warmup"),
		Seed: c.Int64("seed"), APIKey: c.String("api-key"), Timeout: c.Duration("timeout"),
		Progress: os.Stderr, ProgressEvery: 5 * time.Second,
	}
	// --requests alone means all of them, not as many as 30 s allow.
	if c.IsSet("requests") && !c.IsSet("duration") {
		cfg.Duration = 0
	}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.ProgressEvery, cfg.ProgressInPlace = time.Second, true
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, runErr := bench.Run(ctx, cfg)
	if report != nil {
		if c.Bool("json") {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			err = enc.Encode(report)
		} else {
			err = report.WriteText(os.Stdout)
		}
		if err != nil {
			return err
		}
	}
	return runErr
}
