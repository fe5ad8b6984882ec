package eval

import "strings"

// Published is a score a model's authors or a public leaderboard report
// for one task and metric, with where it is written.
type Published struct {
	Repo   string  `json:"-"`
	Task   Task    `json:"-"`
	Metric string  `json:"-"`
	Value  float64 `json:"value"`
	Source string  `json:"source"`         // URL of the number
	Note   string  `json:"note,omitempty"` // how that evaluation differs from this one
}

// Where the numbers below are written. JMTEB's per-model summaries are
// pinned to a commit; MTEB's result files likewise.
const (
	jmteb     = "https://github.com/sbintuitions/JMTEB/blob/52876d5848fef2acc49c08f3e5f163f98e00e1aa/docs/results/"
	mtebJSTS  = "https://github.com/embeddings-benchmark/results/blob/d146b760bdafde1024b39521a40bbb9c2127bbaf/results/"
	mtebJSICK = "https://github.com/embeddings-benchmark/results/blob/30a928af0b35d5467afd207a90495f628eb9658a/results/"
	mtebSTSB  = "https://github.com/embeddings-benchmark/results/blob/7a67ef5c4dfa2a0e0abf35ea209b435fabc4a993/results/"
	mtebMxbai = "https://github.com/embeddings-benchmark/results/blob/636d344583a611eefee8f6391b4858f0f7aa5366/results/"
	jaRerank  = "https://hotchpotch.dev/articles/japanese-reranker-release/"

	jsickSplit = "split of JSICK (sbintuitions/JMTEB, config jsick), not the 4,927 pairs of JSICK's test.tsv scored here: compare loosely"
	noteJSICK  = "JMTEB scores its own " + jsickSplit
	noteJSTS   = "JMTEB scores JGLUE's JSTS validation split, the set scored here"
	noteJSQuAD = "the card's set adds 19 negatives mined from Wikipedia to each JSQuAD validation question (its technical report scores MAP@10 over the 20, which for one positive is MRR@10); this set takes them from JSQuAD's own paragraphs: compare loosely"
)

// PublishedScores lists the numbers known for catalog models, only those a
// source states; a model or task missing here has no published number.
var PublishedScores = []Published{
	{"cl-nagoya/ruri-base", TaskJSTS, MetricSpearman, 0.8342848039994751, jmteb + "cl-nagoya/ruri-base/summary.json", noteJSTS},
	{"cl-nagoya/ruri-base", TaskJSICK, MetricSpearman, 0.8231772134744029, jmteb + "cl-nagoya/ruri-base/summary.json", noteJSICK},
	{"cl-nagoya/ruri-large", TaskJSTS, MetricSpearman, 0.8426164139167538, jmteb + "cl-nagoya/ruri-large/summary.json", noteJSTS},
	{"cl-nagoya/ruri-large", TaskJSICK, MetricSpearman, 0.8199959693684533, jmteb + "cl-nagoya/ruri-large/summary.json", noteJSICK},
	{"MU-Kindai/Japanese-SimCSE-BERT-large-unsup", TaskJSTS, MetricSpearman, 0.7813685476201204, jmteb + "MU-Kindai/Japanese-SimCSE-BERT-large-unsup/summary.json", noteJSTS},
	{"MU-Kindai/Japanese-SimCSE-BERT-large-unsup", TaskJSICK, MetricSpearman, 0.7984403024596518, jmteb + "MU-Kindai/Japanese-SimCSE-BERT-large-unsup/summary.json", noteJSICK},
	{"pkshatech/GLuCoSE-base-ja-v2", TaskJSTS, MetricSpearman, 0.8095684318108997, jmteb + "pkshatech/GLuCoSE-base-ja-v2/summary.json", noteJSTS},
	{"pkshatech/GLuCoSE-base-ja-v2", TaskJSICK, MetricSpearman, 0.849637366944316, jmteb + "pkshatech/GLuCoSE-base-ja-v2/summary.json", noteJSICK},
	{"jinaai/jina-embeddings-v3", TaskJSTS, MetricSpearman, 0.8193234425217734, jmteb + "jinaai/jina-embeddings-v3/summary.json", noteJSTS},
	{"jinaai/jina-embeddings-v3", TaskJSICK, MetricSpearman, 0.781637470000662, jmteb + "jinaai/jina-embeddings-v3/summary.json", noteJSICK},
	{"BAAI/bge-m3", TaskJSTS, MetricSpearman, 0.802086, mtebJSTS + "BAAI__bge-m3/5617a9f61b028005a4858fdac845db406aefb181/JSTS.json", "MTEB's JSTS task: JGLUE's validation split, the set scored here"},
	{"BAAI/bge-m3", TaskJSICK, MetricSpearman, 0.7921412178476995, mtebJSICK + "BAAI__bge-m3/5617a9f61b028005a4858fdac845db406aefb181/JSICK.json", "MTEB's JSICK task reads JMTEB's " + jsickSplit},
	{"BAAI/bge-m3", TaskSTSB, MetricSpearman, 0.8486928980149938, mtebSTSB + "BAAI__bge-m3/5617a9f61b028005a4858fdac845db406aefb181/STSBenchmark.json", "MTEB's STSBenchmark test split, the set scored here"},
	{"mixedbread-ai/mxbai-embed-large-v1", TaskSTSB, MetricSpearman, 0.8928960362631743, mtebMxbai + "mixedbread-ai__mxbai-embed-large-v1/990580e27d329c7408b3741ecff85876e128e203/STSBenchmark.json", "MTEB's STSBenchmark test split, the set scored here"},
	{"hotchpotch/japanese-reranker-cross-encoder-large-v1", TaskJSQuAD, MetricNDCG10, 0.9773, jaRerank, noteJSQuAD},
	{"hotchpotch/japanese-reranker-cross-encoder-base-v1", TaskJSQuAD, MetricNDCG10, 0.9708, jaRerank, noteJSQuAD},
	{"hotchpotch/japanese-reranker-cross-encoder-small-v1", TaskJSQuAD, MetricNDCG10, 0.9604, jaRerank, noteJSQuAD},
	{"hotchpotch/japanese-bge-reranker-v2-m3-v1", TaskJSQuAD, MetricNDCG10, 0.9624, jaRerank, noteJSQuAD},
	{"BAAI/bge-reranker-v2-m3", TaskJSQuAD, MetricNDCG10, 0.9599, "https://huggingface.co/hotchpotch/japanese-reranker-cross-encoder-small-v1", "from the comparison table of the japanese-reranker cards; " + noteJSQuAD},
}

// LookupPublished finds the published number for a model (its Hugging Face
// id, matched without regard to case), task and metric.
func LookupPublished(repo string, task Task, metric string) *Published {
	for i, p := range PublishedScores {
		if repo != "" && strings.EqualFold(p.Repo, repo) && p.Task == task && p.Metric == metric {
			return &PublishedScores[i]
		}
	}
	return nil
}

// AttachPublished fills in the published number of each score of r for
// the model repo.
func (r *Result) AttachPublished(repo string) {
	for i := range r.Scores {
		r.Scores[i].Published = LookupPublished(repo, r.Task, r.Scores[i].Metric)
	}
}
