package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"strings"
	"testing"
	"time"
)

// hashEmbedder gives every text a fixed 2-D vector from its hash and
// records its calls.
type hashEmbedder struct {
	calls, texts int
	seen         map[string]int
	maxBatch     int
}

func hashVector(s string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(s))
	a := float64(h.Sum64()%10000) / 10000 * math.Pi
	return []float32{float32(math.Cos(a)), float32(math.Sin(a))}
}

func (e *hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.calls++
	e.maxBatch = max(e.maxBatch, len(texts))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		e.seen[t]++
		out[i] = hashVector(t)
	}
	e.texts += len(texts)
	return out, nil
}

// RunSTS pairs each pair's two vectors and correlates their cosine with the
// gold score: recomputed here from the loaded pairs, it must agree.
func TestRunSTSPairsVectorsWithScores(t *testing.T) {
	e := &hashEmbedder{seen: map[string]int{}}
	var progress [][2]int
	res, err := RunSTS(context.Background(), e, TaskJSICK, Options{Limit: 300, Seed: 5, BatchSize: 50,
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 300 || res.Of != JSICKData.Pairs || res.Task != TaskJSICK || len(res.Scores) != 1 || res.Scores[0].Metric != MetricSpearman {
		t.Fatalf("result %+v", res)
	}
	pairs, _ := LoadPairs(JSICKData)
	var sims, gold []float64
	for _, i := range Subsample(len(pairs), 300, 5) {
		sims = append(sims, Cosine(hashVector(pairs[i].A), hashVector(pairs[i].B)))
		gold = append(gold, pairs[i].Score)
	}
	want, _ := Spearman(sims, gold)
	near(t, "spearman", res.Scores[0].Value, want, 1e-12)
	for text, n := range e.seen {
		if n != 1 {
			t.Fatalf("%q embedded %d times", text, n)
		}
	}
	if e.maxBatch > 50 {
		t.Errorf("a batch of %d texts, limit 50", e.maxBatch)
	}
	last := progress[len(progress)-1]
	if len(progress) != e.calls || last[0] != last[1] || last[1] != e.texts {
		t.Errorf("progress %v after %d calls embedding %d texts", progress, e.calls, e.texts)
	}
}

type constantEmbedder struct{}

func (constantEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 1}
	}
	return out, nil
}

type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("model is unavailable")
}

func TestRunSTSErrors(t *testing.T) {
	if _, err := RunSTS(context.Background(), constantEmbedder{}, TaskSTSB, Options{Limit: 20}); err == nil || !strings.Contains(err.Error(), "constant") {
		t.Errorf("constant embeddings: %v", err)
	}
	if _, err := RunSTS(context.Background(), failingEmbedder{}, TaskJSTS, Options{Limit: 20}); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("failing model: %v", err)
	}
}

// scriptedReranker scores each query's positive with positive and the
// rest with other; the positives come from the set itself.
type scriptedReranker struct {
	positive map[string]string // query -> its relevant passage
	pos, neg float64
}

func (r scriptedReranker) Rerank(_ context.Context, query string, passages []string) ([]float64, error) {
	out := make([]float64, len(passages))
	for i, p := range passages {
		out[i] = r.neg
		if r.positive[query] == p {
			out[i] = r.pos
		}
	}
	return out, nil
}

func TestRunRerank(t *testing.T) {
	qs, err := LoadJSQuADRerank(DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	positive := map[string]string{}
	for _, q := range qs {
		for i, p := range q.Passages {
			if q.Relevant[i] == 1 {
				positive[q.Text] = p
			}
		}
	}
	opt := Options{Limit: 200, Seed: DefaultSeed}
	score := func(r Reranker) (ndcg, mrr float64) {
		t.Helper()
		res, err := RunRerank(context.Background(), r, opt)
		if err != nil {
			t.Fatal(err)
		}
		if res.N != 200 || res.Of != len(qs) || res.Scores[0].Metric != MetricNDCG10 || res.Scores[1].Metric != MetricMRR10 {
			t.Fatalf("result %+v", res)
		}
		return res.Scores[0].Value, res.Scores[1].Value
	}
	if n, m := score(scriptedReranker{positive, 1, 0}); n != 1 || m != 1 {
		t.Errorf("perfect reranker: nDCG@10 %v, MRR@10 %v", n, m)
	}
	if n, m := score(scriptedReranker{positive, -1, 0}); n != 0 || m != 0 {
		t.Errorf("positive always last (20th): nDCG@10 %v, MRR@10 %v", n, m)
	}
	// Equal scores keep candidate order, so the positive sits where the
	// shuffle put it: the expected values follow from those places.
	var wantN, wantM float64
	for _, i := range Subsample(len(qs), 200, DefaultSeed) {
		for place, r := range qs[i].Relevant {
			if r == 1 && place < 10 {
				wantN += 1 / math.Log2(float64(place+2))
				wantM += 1 / float64(place+1)
			}
		}
	}
	n, m := score(scriptedReranker{positive, 0.5, 0.5})
	near(t, "nDCG@10 of ties", n, wantN/200, 1e-12)
	near(t, "MRR@10 of ties", m, wantM/200, 1e-12)
}

func TestReport(t *testing.T) {
	res := Result{Task: TaskJSTS, Model: "ruri-base", N: 10, Of: 1457, Scores: []Score{{Metric: MetricSpearman, Value: 0.81}}, Dataset: JSTSData}
	res.AttachPublished("CL-NAGOYA/ruri-base")
	other := Result{Task: TaskSTSB, Model: "tiny", N: 1379, Of: 1379, Scores: []Score{{Metric: MetricSpearman, Value: 0.1}}, Dataset: STSBData}
	other.AttachPublished("")
	rep := Report{Results: []Result{res, other}}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	for _, want := range []string{"MEASURED", "0.8100", "0.8343", "-0.0243", "[1] https://github.com/sbintuitions/JMTEB/", "10/1457",
		"Data: JSTS v1.3 (JGLUE), validation split", "CC-BY-SA-4.0", "Data: STS Benchmark", "--limit"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if p := back.Results[0].Scores[0].Published; p == nil || p.Value != 0.8342848039994751 || !strings.HasPrefix(p.Source, "https://") {
		t.Errorf("published in JSON: %+v", p)
	}
	if back.Results[1].Scores[0].Published != nil || back.Results[1].Dataset.License != "CC-BY-SA-4.0" {
		t.Errorf("second result: %+v", back.Results[1])
	}
}

// Every published number names a task and metric the runner reports, a
// plausible value and an https source.
func TestPublishedScores(t *testing.T) {
	for _, p := range PublishedScores {
		ok := (p.Task.Reranking() && (p.Metric == MetricNDCG10 || p.Metric == MetricMRR10)) || (!p.Task.Reranking() && p.Metric == MetricSpearman)
		if _, err := ParseTask(string(p.Task)); err != nil || !ok || p.Value <= 0 || p.Value > 1 || !strings.HasPrefix(p.Source, "https://") || !strings.Contains(p.Repo, "/") {
			t.Errorf("bad entry %+v", p)
		}
	}
}

func TestProgress(t *testing.T) {
	var log bytes.Buffer
	p := NewProgress(&log, false, "jsts", "sentences")
	for i := 1; i <= 100; i++ {
		p.Update(i, 100)
	}
	if lines := strings.Count(log.String(), "\n"); lines != 11 {
		t.Errorf("log mode wrote %d lines, want one at the start and one per tenth:\n%s", lines, log.String())
	}
	if !strings.Contains(log.String(), "jsts 100/100 sentences (100%)") {
		t.Errorf("no final line:\n%s", log.String())
	}
	var tty bytes.Buffer
	bar := NewProgress(&tty, true, "jsts", "sentences")
	bar.now = func() time.Time { return bar.start.Add(2 * time.Second) }
	bar.Update(50, 100)
	bar.Update(100, 100)
	if out := tty.String(); !strings.Contains(out, "\r\033[Kjsts [===============               ] 50/100 sentences 25.0/s") || !strings.HasSuffix(out, "\n") {
		t.Errorf("terminal bar: %q", out)
	}
}
