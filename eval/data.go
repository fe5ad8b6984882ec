package eval

import (
	"bufio"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The evaluation sets, gzip-compressed upstream files (about 760 KB in
// all, 2-3% of the binary): only the split each benchmark reports on, so a
// user needs no download and no Python to check a model.
//
//go:embed data/*.gz
var dataFS embed.FS

// Dataset names one embedded evaluation file, where it comes from and
// under which licence: the attribution CC BY-SA asks for, printed with every
// report.
type Dataset struct {
	Name    string `json:"name"`    // e.g. "JSTS v1.3 (JGLUE), validation split"
	File    string `json:"-"`       // under data/, gzip-compressed
	Pairs   int    `json:"-"`       // rows the file holds; checked by the tests
	URL     string `json:"url"`     // upstream repository
	License string `json:"license"` // SPDX id
	Credit  string `json:"credit"`  // authors, as their README asks to be cited
}

// The embedded sets. JSTS's validation split is the one JMTEB and MTEB
// report (JGLUE's test split was unpublished when they were built); STS-B's
// test split is MTEB's; JSICK's test file is the original authors'.
var (
	JSTSData = Dataset{
		Name: "JSTS v1.3 (JGLUE), validation split", File: "jsts-valid-v1.3.json.gz", Pairs: 1457,
		URL: "https://github.com/yahoojapan/JGLUE", License: "CC-BY-SA-4.0",
		Credit: "Kurihara, Kawahara and Shibata (Yahoo Japan Corporation and Waseda University), LREC 2022",
	}
	JSICKData = Dataset{
		Name: "JSICK, test split", File: "jsick-test.tsv.gz", Pairs: 4927,
		URL: "https://github.com/verypluming/JSICK", License: "CC-BY-SA-4.0",
		Credit: "Yanaka and Mineshima, TACL 2022",
	}
	STSBData = Dataset{
		Name: "STS Benchmark, test split", File: "sts-test.csv.gz", Pairs: 1379,
		URL: "http://ixa2.si.ehu.eus/stswiki", License: "CC-BY-SA-4.0",
		Credit: "Cer, Diab, Agirre, Lopez-Gazpio and Specia, SemEval-2017 (scores CC BY-SA 4.0; texts under their sources' terms, see LICENSE.stsbenchmark)",
	}
	JSQuADData = Dataset{
		Name: "JSQuAD v1.3 (JGLUE), validation split", File: "jsquad-valid-v1.3.json.gz", Pairs: 4442,
		URL: "https://github.com/yahoojapan/JGLUE", License: "CC-BY-SA-4.0",
		Credit: "Kurihara, Kawahara and Shibata (Yahoo Japan Corporation and Waseda University), LREC 2022",
	}
)

// Pair is one sentence pair with its human similarity score.
type Pair struct {
	A, B  string
	Score float64
}

// open decompresses an embedded file.
func (d Dataset) open() (io.ReadCloser, error) {
	f, err := dataFS.Open("data/" + d.File)
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// LoadPairs reads an embedded STS set (JSTSData, JSICKData or STSBData).
func LoadPairs(d Dataset) ([]Pair, error) {
	r, err := d.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var parse func(io.Reader) ([]Pair, error)
	switch d.File {
	case JSTSData.File:
		parse = ParseJSTS
	case JSICKData.File:
		parse = ParseJSICK
	case STSBData.File:
		parse = ParseSTSB
	default:
		return nil, fmt.Errorf("%s is not a sentence-pair set", d.Name)
	}
	pairs, err := parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return pairs, nil
}

// ParseJSTS reads JGLUE's JSTS: one JSON object per line with sentence1,
// sentence2 and label (0-5).
func ParseJSTS(r io.Reader) ([]Pair, error) {
	var pairs []Pair
	dec := json.NewDecoder(r)
	for dec.More() {
		var row struct {
			Sentence1 string   `json:"sentence1"`
			Sentence2 string   `json:"sentence2"`
			Label     *float64 `json:"label"`
		}
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("row %d: %w", len(pairs)+1, err)
		}
		if row.Sentence1 == "" || row.Sentence2 == "" || row.Label == nil {
			return nil, fmt.Errorf("row %d: want sentence1, sentence2 and label", len(pairs)+1)
		}
		pairs = append(pairs, Pair{row.Sentence1, row.Sentence2, *row.Label})
	}
	return pairs, nil
}

// ParseJSICK reads JSICK's tab-separated file, taking the Japanese sentences
// and their relatedness score (1-5) by column name.
func ParseJSICK(r io.Reader) ([]Pair, error) {
	return parseTSV(r, true, func(cols map[string]int) ([3]int, error) {
		var idx [3]int
		for i, name := range []string{"sentence_A_Ja", "sentence_B_Ja", "relatedness_score_Ja"} {
			c, ok := cols[name]
			if !ok {
				return idx, fmt.Errorf("no %s column", name)
			}
			idx[i] = c
		}
		return idx, nil
	})
}

// ParseSTSB reads the STS Benchmark's csv, which despite its name is
// tab-separated without quoting (genre, file, year, id, score, sentence 1,
// sentence 2, and on some rows the source's own columns after them).
func ParseSTSB(r io.Reader) ([]Pair, error) {
	return parseTSV(r, false, func(map[string]int) ([3]int, error) { return [3]int{5, 6, 4}, nil })
}

// parseTSV reads rows of tab-separated fields: columns picks the indices of
// sentence A, sentence B and the score, from the header when there is one.
func parseTSV(r io.Reader, header bool, columns func(map[string]int) ([3]int, error)) ([]Pair, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	names := map[string]int{}
	if header {
		if !sc.Scan() {
			return nil, fmt.Errorf("no header line: %v", sc.Err())
		}
		for i, name := range strings.Split(sc.Text(), "\t") {
			names[name] = i
		}
	}
	idx, err := columns(names)
	if err != nil {
		return nil, err
	}
	var pairs []Pair
	for line := 1; sc.Scan(); line++ {
		if sc.Text() == "" {
			continue
		}
		f := strings.Split(sc.Text(), "\t")
		if len(f) <= max(idx[0], idx[1], idx[2]) {
			return nil, fmt.Errorf("line %d: %d fields", line, len(f))
		}
		score, err := strconv.ParseFloat(strings.TrimSpace(f[idx[2]]), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: score: %w", line, err)
		}
		pairs = append(pairs, Pair{f[idx[0]], f[idx[1]], score})
	}
	return pairs, sc.Err()
}
