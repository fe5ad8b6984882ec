package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Query is one labelled reranking query: candidate passages and the
// relevance of each (1 for the positive, 0 for the rest).
type Query struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Passages []string  `json:"passages"`
	Relevant []float64 `json:"relevant"`
}

// The shape of the JSQuAD reranking set: 20 candidates per question, as in
// the evaluation the japanese-reranker model cards report (one positive
// and 19 negatives), of which up to 10 are other paragraphs of the same
// Wikipedia article (hard: same topic, often the same names) and the rest
// paragraphs of other articles.
const (
	JSQuADCandidates  = 20
	jsquadSameArticle = 10
	// DefaultSeed fixes the negatives, the candidates' order and the
	// --limit subsample, so runs on different machines compare.
	DefaultSeed = 13
)

// LoadJSQuADRerank builds the reranking set from the embedded JSQuAD
// validation split; see BuildJSQuADRerank.
func LoadJSQuADRerank(seed uint64) ([]Query, error) {
	r, err := JSQuADData.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	qs, err := BuildJSQuADRerank(r, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", JSQuADData.File, err)
	}
	return qs, nil
}

// BuildJSQuADRerank turns a JSQuAD file (SQuAD v2 layout) into reranking
// queries. Each question's positive is the paragraph it was written about;
// its negatives are up to 10 other paragraphs of the same article and,
// to make 19, paragraphs of other articles, all drawn with seed. The
// candidates are then shuffled with the same generator, so the positive's
// place carries no signal. A paragraph is "title [SEP] text" in JSQuAD; the
// literal [SEP], which some tokenizers would read as the special token,
// becomes a line break.
func BuildJSQuADRerank(r io.Reader, seed uint64) ([]Query, error) {
	var file struct {
		Data []struct {
			Title      string `json:"title"`
			Paragraphs []struct {
				Context string `json:"context"`
				QAs     []struct {
					ID       string `json:"id"`
					Question string `json:"question"`
				} `json:"qas"`
			} `json:"paragraphs"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r).Decode(&file); err != nil {
		return nil, err
	}
	var passages []string // every paragraph of every article
	var article []int     // passages[i]'s article
	for a, art := range file.Data {
		for _, p := range art.Paragraphs {
			passages = append(passages, strings.Replace(p.Context, " [SEP] ", "\n", 1))
			article = append(article, a)
		}
	}
	if len(passages) < JSQuADCandidates {
		return nil, fmt.Errorf("%d paragraphs; need at least %d", len(passages), JSQuADCandidates)
	}
	rng := splitmix{seed}
	var queries []Query
	first := 0 // index in passages of the current article's first paragraph
	for _, art := range file.Data {
		for pi, p := range art.Paragraphs {
			pos := first + pi
			for _, qa := range p.QAs {
				if strings.TrimSpace(qa.Question) == "" {
					return nil, fmt.Errorf("question %s is empty", qa.ID)
				}
				cands := negatives(&rng, pos, first, len(art.Paragraphs), article)
				cands = append(cands, pos)
				rng.shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
				q := Query{ID: qa.ID, Text: qa.Question, Passages: make([]string, len(cands)), Relevant: make([]float64, len(cands))}
				for i, c := range cands {
					q.Passages[i] = passages[c]
					if c == pos {
						q.Relevant[i] = 1
					}
				}
				queries = append(queries, q)
			}
		}
		first += len(art.Paragraphs)
	}
	return queries, nil
}

// negatives draws JSQuADCandidates-1 paragraph indices other than pos: up
// to jsquadSameArticle from pos's article (paragraphs first … first+n-1),
// the rest from other articles.
func negatives(rng *splitmix, pos, first, n int, article []int) []int {
	same := make([]int, 0, n-1)
	for i := first; i < first+n; i++ {
		if i != pos {
			same = append(same, i)
		}
	}
	rng.shuffle(len(same), func(i, j int) { same[i], same[j] = same[j], same[i] })
	negs := same[:min(len(same), jsquadSameArticle)]
	for len(negs) < JSQuADCandidates-1 {
		c := rng.intn(len(article))
		if article[c] != article[pos] && !slices.Contains(negs, c) {
			negs = append(negs, c)
		}
	}
	return negs
}

// splitmix is SplitMix64 (Steele, Lea and Flood, 2014): a generator written
// out here so that the set a seed gives never changes with the Go release.
type splitmix struct{ state uint64 }

func (r *splitmix) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn is uniform on [0, n) up to a modulo bias below n/2^64, nothing for
// the few thousand items drawn from here.
func (r *splitmix) intn(n int) int { return int(r.next() % uint64(n)) }

// shuffle is Fisher-Yates.
func (r *splitmix) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}

// Subsample picks limit of n items with seed, returned in ascending order
// (file order); all of them when limit is 0 or at least n. A random subset
// rather than the first rows, because the files are grouped (STS-B by
// genre, JSQuAD by article), and the first rows are not typical of the set.
func Subsample(n, limit int, seed uint64) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if limit <= 0 || limit >= n {
		return idx
	}
	rng := splitmix{seed}
	rng.shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	idx = idx[:limit]
	slices.Sort(idx)
	return idx
}
