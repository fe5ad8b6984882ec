package envconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// README.ja.md translates README.md for readers who look for Japanese first.
// Prose may be worded freely; what a reader copies or configures may not
// differ. TestREADMEListsEveryVariable ties README.md to the code, so
// comparing the two files against each other is enough to tie both.

// readme is a README's file name, which mismatch messages name, and its text.
type readme struct{ name, text string }

func readREADME(t *testing.T, path string) readme {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readme{filepath.Base(path), string(data)}
}

func TestJapaneseREADMEMatchesEnglish(t *testing.T) {
	english, japanese := readREADME(t, "../README.md"), readREADME(t, "../README.ja.md")
	for _, mismatch := range readmeDrift(english, japanese) {
		t.Error(mismatch)
	}
	for _, pair := range [][2]readme{{english, japanese}, {japanese, english}} {
		if !linksInHeader(pair[0].text, pair[1].name) {
			t.Errorf("%s does not link to %s in its first 5 lines", pair[0].name, pair[1].name)
		}
	}
}

// A check that compares two extractions can pass because both came back
// empty, so each kind of fact is removed from one file and must be reported.
func TestREADMEDriftIsDetected(t *testing.T) {
	english, japanese := readREADME(t, "../README.md"), readREADME(t, "../README.ja.md")
	without := func(r readme, needle string) readme {
		var kept []string
		for _, line := range strings.Split(r.text, "\n") {
			if !strings.Contains(line, needle) {
				kept = append(kept, line)
			}
		}
		if len(kept) == strings.Count(r.text, "\n")+1 {
			t.Fatalf("%s no longer mentions %q: pick another fact to remove", r.name, needle)
		}
		return readme{r.name, strings.Join(kept, "\n")}
	}
	for _, c := range []struct {
		english, japanese readme
		lacking, fact     string
	}{
		{english, without(japanese, "| `--port` |"), japanese.name, "--port"},
		{english, without(japanese, "| `MECABRC` |"), japanese.name, "MECABRC"},
		{english, readme{japanese.name, strings.Replace(japanese.text, "| `7987` |", "| `8080` |", 1)}, japanese.name, "7987"},
		{english, without(japanese, "/info"), japanese.name, "route GET /info"},
		{english, without(japanese, "rerank-api quantize"), japanese.name, "rerank-api quantize"},
		{english, without(japanese, "curl -s localhost:7987/ready"), japanese.name, "localhost:7987/ready"},
		{without(english, "make test"), japanese, english.name, "make test"},
	} {
		found := false
		mismatches := readmeDrift(c.english, c.japanese)
		for _, m := range mismatches {
			found = found || strings.HasPrefix(m, c.lacking+" lacks") && strings.Contains(m, c.fact)
		}
		if !found {
			t.Errorf("%s lost %q, but the drift check reported only %q", c.lacking, c.fact, mismatches)
		}
	}
	if linksInHeader(without(japanese, "](README.md)").text, english.name) {
		t.Error("a link removed from the header still counts")
	}
}

func linksInHeader(markdown, target string) bool {
	lines := strings.SplitN(markdown, "\n", 6)
	return strings.Contains(strings.Join(lines[:min(5, len(lines))], "\n"), "]("+target+")")
}

// readmeDrift lists, for every fact one README states and the other does
// not, which file lacks what.
func readmeDrift(a, b readme) []string {
	factsA, factsB := readmeFacts(a.text), readmeFacts(b.text)
	var mismatches []string
	report := func(has, lacks readme, hasFacts, lacksFacts map[string]map[string]bool) {
		for kind, items := range hasFacts {
			for item := range items {
				if !lacksFacts[kind][item] {
					mismatches = append(mismatches, fmt.Sprintf("%s lacks %s %s, which %s has", lacks.name, kind, item, has.name))
				}
			}
		}
	}
	report(a, b, factsA, factsB)
	report(b, a, factsB, factsA)
	sort.Strings(mismatches)
	return mismatches
}

var (
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	// The configuration table names variables alone or as assignments
	// (`CUDA_VISIBLE_DEVICES=-1`).
	variableName = regexp.MustCompile(`^([A-Z][A-Z0-9_]*[A-Z0-9])(=|$)`)
	// Routes appear in three shapes the translation keeps verbatim: curl
	// and client URLs, a method before a path ("GET /models' answer"), and
	// a path in backticks. Backticked absolute paths also catch files such
	// as /etc/mecabrc, which must not differ either, so nothing tells them
	// apart. Relative paths (`convert/segments`) are packages, not routes.
	routeInURL     = regexp.MustCompile(`localhost:7987(/[A-Za-z0-9/_.-]*)`)
	routeAfterVerb = regexp.MustCompile(`\b(?:GET|POST|HEAD|PUT|DELETE) /[A-Za-z0-9/_.-]*`)
	absolutePath   = regexp.MustCompile(`^/[A-Za-z0-9/_.-]*$`)
	command        = regexp.MustCompile(`\b(?:rerank-api|make) [a-z][a-z0-9-]*`)
	// Comments are what a translation rewrites inside code blocks; a #
	// inside a word (a URL fragment) is code.
	shellComment = regexp.MustCompile(`(^|\s)#.*$`)
)

// readmeFacts are the things in a README that a translation must carry over
// unchanged, by kind: the word that names the kind in a mismatch message.
func readmeFacts(markdown string) map[string]map[string]bool {
	facts := map[string]map[string]bool{}
	add := func(kind, item string) {
		if facts[kind] == nil {
			facts[kind] = map[string]bool{}
		}
		facts[kind][item] = true
	}

	var codeLines, spans []string
	inFence := false
	for _, line := range strings.Split(markdown, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inFence = !inFence
		case inFence:
			if code := strings.TrimSpace(shellComment.ReplaceAllString(line, "")); code != "" {
				codeLines = append(codeLines, code)
			}
		default:
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				spans = append(spans, m[1])
			}
		}
	}
	// Commands, request bodies and model names in the examples must be
	// copyable from either file alike.
	for _, code := range codeLines {
		add("code line", code)
	}
	for _, code := range append(codeLines, spans...) {
		for _, c := range command.FindAllString(code, -1) {
			add("command", c)
		}
	}

	for _, m := range routeInURL.FindAllStringSubmatch(markdown, -1) {
		add("route", strings.TrimRight(m[1], "."))
	}
	for _, r := range routeAfterVerb.FindAllString(markdown, -1) {
		add("route", strings.TrimRight(r, "."))
	}
	for _, s := range spans {
		if absolutePath.MatchString(s) {
			add("route", strings.TrimRight(s, "."))
		}
	}

	// Only the backticked parts of a configuration row are compared, in
	// sorted order: the meaning column, and words such as "cores / workers"
	// in the default column, are translated, and Japanese word order moves
	// the literals around them.
	for _, row := range tableRows(markdown) {
		var literals []string
		isSetting := false
		for i, cell := range strings.Split(strings.Trim(row, "| "), " | ") {
			var inCell []string
			for _, m := range inlineCode.FindAllStringSubmatch(cell, -1) {
				inCell = append(inCell, "`"+m[1]+"`")
				if v := variableName.FindStringSubmatch(m[1]); v != nil {
					add("variable", v[1])
					isSetting = isSetting || i == 1
				}
			}
			if i < 3 {
				sort.Strings(inCell)
				literals = append(literals, strings.Join(inCell, " "))
			}
		}
		if isSetting {
			add("configuration row", strings.Join(literals, " | "))
		}
	}
	return facts
}
