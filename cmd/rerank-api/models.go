package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/server"
)

func modelsCommand() *cli.Command {
	return &cli.Command{
		Name:  "models",
		Usage: "list the catalog with local availability",
		Flags: append(catalogFlags(), &cli.BoolFlag{Name: "json", Usage: "print what GET /models answers instead of a table"}),
		Action: func(c *cli.Context) error {
			cat, err := loadCatalog(c)
			if err != nil {
				return err
			}
			// An engine that loads nothing tells what is on disk, as GET
			// /models does.
			engine := backend.New(backend.Config{ModelsDir: c.String(envconfig.ModelsDir.Flag)}, cat, zerolog.Nop())
			defer engine.Close()
			list := server.CatalogModelList(engine.Models())
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tDIMS\tDOWNLOADED\tREPO\tSTATUS")
			for _, m := range list.Data {
				dims, status := "-", "supported"
				if m.Dimensions > 0 {
					dims = strconv.Itoa(m.Dimensions)
				}
				if !m.Supported() {
					status = "unsupported: " + m.Reason
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\n", m.Name, m.Kind, dims, m.Downloaded, m.Repo, status)
			}
			return w.Flush()
		},
	}
}
