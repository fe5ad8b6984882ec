package eval

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The embedded sets load whole, with the row counts their upstream READMEs
// give, and sensible scores.
func TestEmbeddedPairSets(t *testing.T) {
	for _, c := range []struct {
		d          Dataset
		lo, hi     float64
		first      Pair
		firstScore float64
	}{
		{JSTSData, 0, 5, Pair{A: "レンガの建物の前を、乳母車を押した女性が歩いています。", B: "厩舎で馬と女性とが寄り添っています。"}, 0},
		{JSICKData, 1, 5, Pair{A: "戸外で遊んでいる男の子は一人もおらず、微笑んでいる男性は一人もいない", B: "子供たちのグループが庭で遊んでいて、後ろの方には年を取った男性が立っている"}, 2.3},
		{STSBData, 0, 5, Pair{A: "A girl is styling her hair.", B: "A girl is brushing her hair."}, 2.5},
	} {
		pairs, err := LoadPairs(c.d)
		if err != nil {
			t.Fatalf("%s: %v", c.d.Name, err)
		}
		if len(pairs) != c.d.Pairs {
			t.Errorf("%s: %d pairs, want %d", c.d.Name, len(pairs), c.d.Pairs)
		}
		for i, p := range pairs {
			if p.A == "" || p.B == "" || p.Score < c.lo || p.Score > c.hi {
				t.Fatalf("%s: pair %d = %+v", c.d.Name, i, p)
			}
		}
		got := pairs[0]
		if got.A != c.first.A || got.B != c.first.B || got.Score != c.firstScore {
			t.Errorf("%s: first pair %+v, want %+v with score %v", c.d.Name, got, c.first, c.firstScore)
		}
	}
}

// The embedded files are the ones the tests' copies under testdata/ hold
// (whose origin and commit testdata/SOURCES.tsv records), so the eval reads
// the upstream data, not an edited copy.
func TestEmbeddedSetsMatchTestdata(t *testing.T) {
	root := filepath.Join("..", "testdata", "eval")
	for d, path := range map[Dataset]string{
		JSTSData:  "jglue/datasets/jsts-v1.3/valid-v1.3.json",
		JSICKData: "jsick/jsick/test.tsv",
		STSBData:  "stsbenchmark/sts-test.csv",
	} {
		want, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from testdata/eval/%s", d.File, path)
		}
	}
}

func TestParsersRejectBrokenRows(t *testing.T) {
	if _, err := ParseJSTS(strings.NewReader(`{"sentence1": "a", "sentence2": "b"}`)); err == nil {
		t.Error("JSTS row without a label accepted")
	}
	if _, err := ParseJSICK(strings.NewReader("pair_ID\tsentence_A_Ja\n1\tx\n")); err == nil {
		t.Error("JSICK without its columns accepted")
	}
	if _, err := ParseSTSB(strings.NewReader("g\tf\ty\t1\tnot-a-number\ta\tb\n")); err == nil {
		t.Error("STS-B row with a bad score accepted")
	}
}

// The JSQuAD reranking set: every question of the validation split, 20
// distinct candidates of which exactly one (its own paragraph) is
// relevant, negatives up to 10 from the same article, identical for the
// same seed and different for another.
func TestJSQuADRerankSet(t *testing.T) {
	qs, err := LoadJSQuADRerank(DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != JSQuADData.Pairs {
		t.Fatalf("%d queries, want %d", len(qs), JSQuADData.Pairs)
	}
	positiveAt := map[int]int{}
	for _, q := range qs {
		if len(q.Passages) != JSQuADCandidates || len(q.Relevant) != JSQuADCandidates {
			t.Fatalf("%s: %d passages", q.ID, len(q.Passages))
		}
		seen := map[string]bool{}
		positives := 0
		for i, p := range q.Passages {
			if seen[p] {
				t.Fatalf("%s: passage %d repeated", q.ID, i)
			}
			seen[p] = true
			if strings.Contains(p, "[SEP]") {
				t.Fatalf("%s: passage keeps the literal [SEP]: %.60s", q.ID, p)
			}
			if q.Relevant[i] == 1 {
				positives++
				positiveAt[i]++
			}
		}
		if positives != 1 {
			t.Fatalf("%s: %d positives", q.ID, positives)
		}
	}
	// The first question of the file is about 梅雨; its positive is the
	// paragraph that holds its answer.
	q := qs[0]
	if q.ID != "a10336p0q0" || q.Text != "日本で梅雨がないのは北海道とどこか。" {
		t.Fatalf("first query %s %q", q.ID, q.Text)
	}
	for i, p := range q.Passages {
		if q.Relevant[i] == 1 && !strings.HasPrefix(p, "梅雨\n梅雨（つゆ、ばいう）は、北海道と小笠原諸島を除く日本") {
			t.Errorf("positive of the first query is %.40q", p)
		}
	}
	// Shuffled: the positive is not always in the same place.
	if len(positiveAt) < JSQuADCandidates/2 {
		t.Errorf("positives sit at only %d of the %d places: %v", len(positiveAt), JSQuADCandidates, positiveAt)
	}
	again, err := LoadJSQuADRerank(DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(qs, again) {
		t.Error("the same seed built a different set")
	}
	other, err := LoadJSQuADRerank(DefaultSeed + 1)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(qs[0].Passages, other[0].Passages) {
		t.Error("another seed built the same candidates")
	}
}

func TestSubsample(t *testing.T) {
	if got := Subsample(5, 0, 1); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("no limit: %v", got)
	}
	if got := Subsample(3, 10, 1); len(got) != 3 {
		t.Errorf("limit above n: %v", got)
	}
	a, b := Subsample(1000, 50, 7), Subsample(1000, 50, 7)
	if !reflect.DeepEqual(a, b) || len(a) != 50 {
		t.Fatalf("not deterministic: %v %v", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i] <= a[i-1] {
			t.Fatalf("not ascending and distinct: %v", a)
		}
	}
	// A sample, not the head of the file.
	if a[len(a)-1] < 500 {
		t.Errorf("all 50 picks below 500: %v", a)
	}
}
