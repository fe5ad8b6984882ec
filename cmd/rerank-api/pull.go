package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/hub"
	"github.com/rerank-api/rerank-api/pull"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "download a model (a catalog name, or ORG/REPO[:FILE] from the Hugging Face hub) into the models dir",
		ArgsUsage: "NAME|ORG/REPO[:FILE]",
		Flags: append(catalogFlags(),
			&cli.StringFlag{Name: "revision", Usage: "branch, tag or commit (default: the catalog's, else main)"},
			&cli.StringFlag{Name: "outtype", Usage: "conversion type for checkpoints (default: the catalog's, else " + convert.DefaultOutType + ")"},
			logLevelFlag(true),
		),
		Before: quietLogging,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("usage: rerank-api pull NAME|ORG/REPO[:FILE]")
			}
			cat, err := loadCatalog(c)
			if err != nil {
				return err
			}
			entry, err := pull.Target(cat, c.Args().First())
			if err != nil {
				return err
			}
			if r := c.String("revision"); r != "" {
				entry.Source.Revision = r
			}
			if t := c.String("outtype"); t != "" {
				entry.Source.Outtype = t
			}
			p := newPuller(c.String(envconfig.ModelsDir.Flag))
			if _, err := cat.Lookup(entry.Name); err != nil && entry.Source.File == "" {
				// An ad-hoc repo: serve its published GGUF if it has one.
				if entry.Source.File, err = p.ChooseGGUF(c.Context, entry.Source.Repo, entry.Source.Revision); err != nil {
					return err
				}
			}
			if err := p.Pull(c.Context, entry); err != nil {
				return err
			}
			path := entry.ModelPath(c.String(envconfig.ModelsDir.Flag))
			fmt.Fprintln(os.Stderr, "ready:", path)
			if _, err := cat.Lookup(entry.Name); err != nil {
				rel, _ := filepath.Rel(c.String(envconfig.ModelsDir.Flag), path)
				fmt.Fprintf(os.Stderr, "add it to your --models-config to serve it:\n  - {name: %s, kind: embedding, file: %s, repo: %s}   # kind: rerank for a cross-encoder\n", entry.Name, rel, entry.Source.Repo)
			}
			return nil
		},
	}
}

// newPuller downloads through the hub client configured by HF_ENDPOINT,
// HF_TOKEN and the proxy variables, with a progress bar on stderr.
func newPuller(modelsDir string) *pull.Puller {
	return &pull.Puller{
		Hub:       hub.NewClient(envconfig.HFEndpoint(), envconfig.HFToken(), envconfig.Proxy()),
		ModelsDir: modelsDir,
		Quantize: func(in, out, typ string) error {
			return quantize(in, out, typ, 0, newProgressLine(os.Stderr, "quantizing"))
		},
		Progress: hub.NewProgressBar(os.Stderr),
		Log:      func(msg string) { fmt.Fprintln(os.Stderr, msg) },
	}
}
