package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/eval"
)

// evalCommand scores a model on the embedded benchmark sets in this
// process, through the same engine serve uses (tokenizer, pooling,
// batching), so the numbers describe what the server answers, with no
// server to start and no API family to pick.
func evalCommand() *cli.Command {
	flags := append(catalogFlags(), engineFlags()...)
	flags = append(flags, logFlags(true)...)
	flags = append(flags,
		&cli.StringFlag{Name: "model", Usage: "catalog name or Hugging Face id (default: --embedding-model for jsts, jsick and stsb, --reranker-model for jsquad-rerank)"},
		&cli.StringFlag{Name: "task", Value: "all", Usage: "jsts, jsick, stsb, jsquad-rerank, a comma-separated list, or all (with --model: the tasks of its kind)"},
		&cli.IntFlag{Name: "limit", Usage: "score a seeded random sample of N pairs or queries per task (default: the whole set)"},
		&cli.Uint64Flag{Name: "seed", Value: eval.DefaultSeed, Usage: "seed of the --limit sample and of the reranking set's negatives"},
		&cli.StringFlag{Name: "input-type", Value: "query", Usage: "prefix the STS sentences as query, document, or none (as the model card's evaluation did)"},
		&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
	)
	return &cli.Command{
		Name:  "eval",
		Usage: "score a model on JSTS, JSICK and STS-B (Spearman) or a JSQuAD reranking set (nDCG@10, MRR@10) beside its published numbers",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("eval takes no arguments (got %q); choose sets with --task", c.Args().First())
			}
			if c.Int("limit") < 0 {
				return fmt.Errorf("--limit %d: want a positive number of pairs or queries, or 0 for all", c.Int("limit"))
			}
			cat, err := loadCatalog(c)
			if err != nil {
				return err
			}
			plan, err := evalPlan(c, cat)
			if err != nil {
				return err
			}
			var inputType backend.InputType
			switch t := c.String("input-type"); t {
			case "query", "document":
				inputType = backend.InputType(t)
			case "none":
			default:
				return fmt.Errorf("--input-type %q: want query, document or none", t)
			}
			// Every request names its model: the defaults are neither
			// resolved nor loaded.
			if err := c.Set(envconfig.RerankerModel.Flag, ""); err != nil {
				return err
			}
			engine, err := oneShotEngine(c, envconfig.EmbeddingModel.Flag)
			if err != nil {
				return err
			}
			defer engine.Close()
			fi, err := os.Stderr.Stat()
			terminal := err == nil && fi.Mode()&os.ModeCharDevice != 0
			var report eval.Report
			for _, step := range plan {
				opt := eval.Options{Limit: c.Int("limit"), Seed: c.Uint64("seed")}
				label := step.model.Name + " " + string(step.task)
				var res eval.Result
				if step.task.Reranking() {
					opt.Progress = eval.NewProgress(os.Stderr, terminal, label, "queries").Update
					res, err = eval.RunRerank(c.Context, engineReranker{engine, step.model.Name}, opt)
				} else {
					opt.Progress = eval.NewProgress(os.Stderr, terminal, label, "sentences").Update
					res, err = eval.RunSTS(c.Context, engineEmbedder{engine, step.model.Name, inputType}, step.task, opt)
				}
				if err != nil {
					return err
				}
				res.Model = step.model.Name
				res.AttachPublished(step.model.Repo)
				report.Results = append(report.Results, res)
			}
			if c.Bool("json") {
				return report.WriteJSON(os.Stdout)
			}
			return report.WriteTable(os.Stdout)
		},
	}
}

// evalStep is one task on one model.
type evalStep struct {
	task  eval.Task
	model catalog.Entry
}

// evalPlan pairs each requested task with its model: --model for all of
// them (refusing a task of the other kind when named), or else the default
// model of each task's kind.
func evalPlan(c *cli.Context, cat *catalog.Catalog) ([]evalStep, error) {
	all := c.String("task") == "all"
	var tasks []eval.Task
	if all {
		tasks = eval.Tasks
	} else {
		for _, name := range strings.Split(c.String("task"), ",") {
			t, err := eval.ParseTask(strings.TrimSpace(name))
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
	}
	var plan []evalStep
	for _, t := range tasks {
		name := c.String("model")
		if name == "" && t.Reranking() {
			name = c.String(envconfig.RerankerModel.Flag)
		} else if name == "" {
			name = c.String(envconfig.EmbeddingModel.Flag)
		}
		entry, err := cat.Lookup(name)
		if err != nil {
			return nil, err
		}
		if wantRerank := t.Reranking(); wantRerank != (entry.Kind == catalog.KindRerank) {
			if all {
				continue // all means the tasks this model can run
			}
			need := "an embedding model"
			if wantRerank {
				need = "a rerank model"
			}
			return nil, fmt.Errorf("task %s needs %s; %s is a %s model", t, need, entry.Name, entry.Kind)
		}
		plan = append(plan, evalStep{t, entry})
	}
	return plan, nil
}

// engineEmbedder embeds STS sentences with one input type for both
// sentences, keeping the pair symmetric: by default as queries, so the
// model's query prefix, where it has one, goes on each. Long texts are cut
// as sentence-transformers cuts them.
type engineEmbedder struct {
	engine    *backend.Engine
	model     string
	inputType backend.InputType
}

func (a engineEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	inputs := make([]backend.Input, len(texts))
	for i, t := range texts {
		inputs[i] = backend.Input{Text: t}
	}
	res, err := a.engine.Embed(ctx, backend.EmbedRequest{Model: a.model, Inputs: inputs, Truncate: true, InputType: a.inputType})
	if err != nil {
		return nil, err
	}
	return res.Vectors, nil
}

// engineReranker scores passages with the cross-encoder, cutting a passage
// that does not fit beside the question (as sentence-transformers'
// CrossEncoder does) rather than scoring it in chunks.
type engineReranker struct {
	engine *backend.Engine
	model  string
}

func (a engineReranker) Rerank(ctx context.Context, query string, passages []string) ([]float64, error) {
	res, err := a.engine.Rerank(ctx, backend.RerankRequest{Model: a.model, Query: query, Documents: passages, Truncate: true})
	if err != nil {
		return nil, err
	}
	scores := make([]float64, len(passages))
	for _, d := range res.Results {
		scores[d.Index] = d.Score
	}
	return scores, nil
}
