package eval

import (
	"context"
	"fmt"
	"time"
)

// Embedder embeds texts: one vector per text, in order. The command
// adapts the backend engine to it; the tests use a fake.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Reranker scores passages against a query: one score per passage, in
// passage order, higher meaning more relevant.
type Reranker interface {
	Rerank(ctx context.Context, query string, passages []string) ([]float64, error)
}

// Task is one benchmark.
type Task string

const (
	TaskJSTS   Task = "jsts"
	TaskJSICK  Task = "jsick"
	TaskSTSB   Task = "stsb"
	TaskJSQuAD Task = "jsquad-rerank"
)

// Tasks lists every task, in the order `--task all` runs them.
var Tasks = []Task{TaskJSTS, TaskJSICK, TaskSTSB, TaskJSQuAD}

// Reranking reports whether the task needs a reranker rather than an
// embedding model.
func (t Task) Reranking() bool { return t == TaskJSQuAD }

// Dataset is the embedded set the task reads.
func (t Task) Dataset() Dataset {
	switch t {
	case TaskJSTS:
		return JSTSData
	case TaskJSICK:
		return JSICKData
	case TaskSTSB:
		return STSBData
	default:
		return JSQuADData
	}
}

// ParseTask reads a task name.
func ParseTask(s string) (Task, error) {
	for _, t := range Tasks {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown task %q: want jsts, jsick, stsb, jsquad-rerank or all", s)
}

// Metric names, as the published tables name them.
const (
	MetricSpearman = "spearman"
	MetricNDCG10   = "ndcg@10"
	MetricMRR10    = "mrr@10"
)

// Options of a run.
type Options struct {
	// Limit scores a seeded random subset of this many pairs or queries;
	// 0 scores the whole set.
	Limit int
	// Seed fixes the subset and the reranking set's negatives.
	Seed uint64
	// BatchSize is the number of texts per Embed call; 0 means 64.
	BatchSize int
	// Progress, when set, is told how much of the task is done: texts
	// embedded, or queries reranked.
	Progress func(done, total int)
}

// Score is one metric of a result, with the model card's number for it
// when one is known.
type Score struct {
	Metric    string     `json:"metric"`
	Value     float64    `json:"value"`
	Published *Published `json:"published,omitempty"`
}

// Result is what one task measured on one model.
type Result struct {
	Task    Task    `json:"task"`
	Model   string  `json:"model"`
	N       int     `json:"n"`  // pairs or queries scored
	Of      int     `json:"of"` // pairs or queries in the set
	Seconds float64 `json:"seconds"`
	Scores  []Score `json:"scores"`
	Dataset Dataset `json:"dataset"`
}

// RunSTS embeds both sentences of every pair (each distinct sentence once,
// in batches) and reports Spearman's correlation between the pairs' cosine
// similarities and the human scores, as MTEB and JMTEB do.
func RunSTS(ctx context.Context, e Embedder, task Task, opt Options) (Result, error) {
	start := time.Now()
	all, err := LoadPairs(task.Dataset())
	if err != nil {
		return Result{}, err
	}
	pick := Subsample(len(all), opt.Limit, opt.Seed)
	// JSICK in particular repeats sentences across pairs.
	index := map[string]int{}
	var texts []string
	for _, i := range pick {
		for _, s := range []string{all[i].A, all[i].B} {
			if _, ok := index[s]; !ok {
				index[s] = len(texts)
				texts = append(texts, s)
			}
		}
	}
	batch := opt.BatchSize
	if batch <= 0 {
		batch = 64
	}
	vecs := make([][]float32, 0, len(texts))
	for lo := 0; lo < len(texts); lo += batch {
		got, err := e.Embed(ctx, texts[lo:min(lo+batch, len(texts))])
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", task, err)
		}
		if want := min(lo+batch, len(texts)) - lo; len(got) != want {
			return Result{}, fmt.Errorf("%s: %d vectors for %d texts", task, len(got), want)
		}
		vecs = append(vecs, got...)
		if opt.Progress != nil {
			opt.Progress(len(vecs), len(texts))
		}
	}
	sims := make([]float64, len(pick))
	gold := make([]float64, len(pick))
	for k, i := range pick {
		sims[k] = Cosine(vecs[index[all[i].A]], vecs[index[all[i].B]])
		gold[k] = all[i].Score
	}
	rho, err := Spearman(sims, gold)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", task, err)
	}
	return Result{
		Task: task, N: len(pick), Of: len(all), Seconds: time.Since(start).Seconds(),
		Scores:  []Score{{Metric: MetricSpearman, Value: rho}},
		Dataset: task.Dataset(),
	}, nil
}

// RunRerank scores each query's candidates and reports the mean nDCG@10
// and MRR@10 over the queries.
func RunRerank(ctx context.Context, r Reranker, opt Options) (Result, error) {
	start := time.Now()
	all, err := LoadJSQuADRerank(opt.Seed)
	if err != nil {
		return Result{}, err
	}
	pick := Subsample(len(all), opt.Limit, opt.Seed)
	var ndcg, mrr float64
	for k, i := range pick {
		q := all[i]
		scores, err := r.Rerank(ctx, q.Text, q.Passages)
		if err != nil {
			return Result{}, fmt.Errorf("%s, question %s: %w", TaskJSQuAD, q.ID, err)
		}
		if len(scores) != len(q.Passages) {
			return Result{}, fmt.Errorf("%s: %d scores for %d passages", TaskJSQuAD, len(scores), len(q.Passages))
		}
		ranking := Ranking(scores)
		ndcg += NDCG(ranking, q.Relevant, 10)
		mrr += MRR(ranking, q.Relevant, 10)
		if opt.Progress != nil {
			opt.Progress(k+1, len(pick))
		}
	}
	n := float64(len(pick))
	return Result{
		Task: TaskJSQuAD, N: len(pick), Of: len(all), Seconds: time.Since(start).Seconds(),
		Scores:  []Score{{Metric: MetricNDCG10, Value: ndcg / n}, {Metric: MetricMRR10, Value: mrr / n}},
		Dataset: JSQuADData,
	}, nil
}
