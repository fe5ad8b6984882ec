package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rerank-api/rerank-api/eval"
)

// evalArgs runs `rerank-api eval` on the shared tiny models.
func evalArgs(args ...string) []string {
	return append([]string{"eval", "--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--offline", "--threads", "2", "--log-format", "json"}, args...)
}

// eval runs end to end on the tiny random models: their scores mean
// nothing, but each task reads its set, scores the sample asked for, shows
// progress on stderr and prints JSON that decodes into eval.Report.
func TestEvalEmbeddingJSON(t *testing.T) {
	res := runCLI(t, evalArgs("--model", "tiny-mean", "--task", "jsts,jsick,stsb", "--limit", "40", "--json")...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, tail(res.stderr))
	}
	var rep eval.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a report: %v\n%s", err, res.stdout)
	}
	want := []struct {
		task eval.Task
		of   int
	}{{eval.TaskJSTS, 1457}, {eval.TaskJSICK, 4927}, {eval.TaskSTSB, 1379}}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d:\n%s", len(rep.Results), len(want), res.stdout)
	}
	for i, w := range want {
		r := rep.Results[i]
		if r.Task != w.task || r.Model != "tiny-mean" || r.N != 40 || r.Of != w.of || len(r.Scores) != 1 {
			t.Errorf("result %d: %+v", i, r)
			continue
		}
		if s := r.Scores[0]; s.Metric != eval.MetricSpearman || s.Value < -1 || s.Value > 1 || s.Value == 0 || s.Published != nil {
			t.Errorf("%s: score %+v", r.Task, s)
		}
		if r.Dataset.License != "CC-BY-SA-4.0" || r.Dataset.URL == "" {
			t.Errorf("%s: dataset %+v", r.Task, r.Dataset)
		}
		// Progress is on stderr, a line per tenth when it is not a
		// terminal, ending at 100%.
		if !strings.Contains(res.stderr, "tiny-mean "+string(r.Task)+" ") || !strings.Contains(res.stderr, "sentences (100%)") {
			t.Errorf("no progress for %s on stderr:\n%s", r.Task, tail(res.stderr))
		}
	}
}

// A reranker runs the JSQuAD set under --task all (the STS tasks need an
// embedding model, so all means only the tasks of its kind) and prints the
// table with both metrics and the data's attribution.
func TestEvalRerankTable(t *testing.T) {
	res := runCLI(t, evalArgs("--model", "tiny-rank", "--limit", "12")...)
	if res.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", res.code, tail(res.stderr))
	}
	for _, want := range []string{"MEASURED", "PUBLISHED", "tiny-rank", "jsquad-rerank", "ndcg@10", "mrr@10", "12/4442",
		"Data: JSQuAD v1.3 (JGLUE)", "CC-BY-SA-4.0"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "jsts") || !strings.Contains(res.stderr, "tiny-rank jsquad-rerank 12/12 queries (100%)") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", res.stdout, tail(res.stderr))
	}
}

// A catalog model whose card publishes a score gets it beside the
// measured one: here the built-in ruri-base entry (with its prefixes
// クエリ: and 文章: ) pointed at a tiny model file. The numbers differ, the
// mechanics are the point; --input-type changes the prefix the sentences
// get, and so the score.
func TestEvalPublishedColumn(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "models.yaml")
	entry := "models:\n  - {name: ruri-base, file: " + filepath.Join(shared.dir, "tiny-mean.gguf") + "}\n"
	if err := os.WriteFile(config, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(inputType string) eval.Score {
		t.Helper()
		res := runCLI(t, "eval", "--models-dir", dir, "--models-config", config, "--offline", "--threads", "2",
			"--model", "ruri-base", "--task", "jsts", "--limit", "20", "--input-type", inputType)
		if res.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", res.code, tail(res.stderr))
		}
		for _, want := range []string{"0.8343", "[1] https://github.com/sbintuitions/JMTEB/", "ruri-base/summary.json", "20/1457"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, res.stdout)
			}
		}
		var measured float64
		for _, line := range strings.Split(res.stdout, "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[0] == "ruri-base" {
				measured, _ = strconv.ParseFloat(f[4], 64)
			}
		}
		return eval.Score{Metric: inputType, Value: measured}
	}
	query, none := run("query"), run("none")
	if query.Value == 0 || query.Value == none.Value {
		t.Errorf("with the query prefix %v, without %v: --input-type changed nothing", query.Value, none.Value)
	}
}

func TestEvalRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		args     []string
		inStderr string
	}{
		{evalArgs("--model", "tiny-rank", "--task", "jsts"), "needs an embedding model"},
		{evalArgs("--model", "tiny-cls", "--task", "jsquad-rerank"), "needs a rerank model"},
		{evalArgs("--model", "tiny-cls", "--task", "mteb"), "unknown task"},
		{evalArgs("--model", "tiny-cls", "--limit", "-3"), "--limit"},
		{evalArgs("--model", "no-such-model"), "no-such-model"},
		{evalArgs("--model", "tiny-missing", "--task", "stsb", "--limit", "5"), "not-there.gguf"},
		{evalArgs("--model", "tiny-cls", "stray"), "no arguments"},
		{evalArgs("--model", "tiny-cls", "--input-type", "passage"), "--input-type"},
	} {
		res := runCLI(t, c.args...)
		if res.code != 1 || !strings.Contains(res.stderr, "error: ") || !strings.Contains(res.stderr, c.inStderr) {
			t.Errorf("%v: exit %d, stderr does not say %q:\n%s", c.args[len(c.args)-2:], res.code, c.inStderr, tail(res.stderr))
		}
	}
}
