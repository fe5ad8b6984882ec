package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/envconfig"
)

func modelsCommand() *cli.Command {
	return &cli.Command{
		Name:  "models",
		Usage: "list the catalog with local availability",
		Flags: append(catalogFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}),
		Action: func(c *cli.Context) error {
			cat, err := loadCatalog(c)
			if err != nil {
				return err
			}
			type row struct {
				Name, Kind, Status, Repo, Description string
				Dimensions                            int
				Downloaded                            bool
				Path                                  string
			}
			var rows []row
			for _, e := range cat.Entries() {
				status := "supported"
				if !e.Supported() {
					status = "unsupported: " + e.Reason
				}
				path := e.ModelPath(c.String(envconfig.ModelsDir.Flag))
				_, statErr := os.Stat(path)
				rows = append(rows, row{e.Name, string(e.Kind), status, e.Repo, e.Description, e.Dimensions, statErr == nil, path})
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tDIMS\tDOWNLOADED\tREPO\tSTATUS")
			for _, r := range rows {
				dims := "-"
				if r.Dimensions > 0 {
					dims = strconv.Itoa(r.Dimensions)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\n", r.Name, r.Kind, dims, r.Downloaded, r.Repo, r.Status)
			}
			return w.Flush()
		},
	}
}
