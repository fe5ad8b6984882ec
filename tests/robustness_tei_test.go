package tests

import (
	"cmp"
	"fmt"
	"strings"
)

// textCases are the cases of the texts a route reads (rt.text: none for
// /decode, which reads ids) and of how many inputs it takes (rt.many: none
// for Ollama's legacy route, which takes one prompt).
func (rt robustRoute) textCases(post func(name string, v any, want int, raw ...string) robustCase) []robustCase {
	var cs []robustCase
	if rt.text != nil {
		for _, h := range hostileTexts {
			if h.raw {
				cs = append(cs, post(h.name, rt.text(rawPlaceholder(0)), 200, h.text))
			} else {
				cs = append(cs, post(h.name, rt.text(h.text), 200))
			}
		}
		cs = append(cs,
			post("empty string", rt.text(""), cmp.Or(rt.empty, 400)),
			post("whitespace only", rt.text(" \t\n\u00a0\u3000 "), rt.blank),
			post("body over the payload limit", rt.text(strings.Repeat("dog ", 60_000)), 413),
		)
	}
	if rt.many != nil {
		cs = append(cs,
			post("10,000 short inputs", rt.many(10_000), 413),
			post(fmt.Sprintf("%d inputs, over the limit", rt.limit+1), rt.many(rt.limit+1), 413),
			post(fmt.Sprintf("%d inputs, the limit", rt.limit), rt.many(rt.limit), 200),
		)
	}
	return cs
}

func init() {
	// Wrong values of the fields only these routes have.
	wrongValues["ids"] = []string{`"x"`, `5`, `{}`, `true`, `null`, `[]`, `[true]`, `[null]`, `["a"]`, `[[["x"]]]`, `[[[1]]]`,
		`[1.5]`, `[[1.5]]`, `[1,[2]]`, `[-1]`, `[[-1]]`, `[99999]`, `[2147483647]`, `[2147483648]`, `[-2147483649]`,
		`[4294967296]`, `[9223372036854775808]`, `[1e400]`, `[{"id":1}]`}
	wrongValues["similarityInputs"] = []string{`"x"`, `5`, `[]`, `true`, `{}`, `["a","b"]`,
		`{"source_sentence":5,"sentences":["a"]}`, `{"source_sentence":["a"],"sentences":["b"]}`,
		`{"source_sentence":"a","sentences":"b"}`, `{"source_sentence":"a","sentences":[1]}`,
		`{"source_sentence":"a","sentences":[null]}`, `{"source_sentence":"a","sentences":[]}`,
		`{"source_sentence":"","sentences":["b"]}`, `{"source_sentence":"a","sentences":[["b"]]}`}
	wrongValues["similarityParameters"] = []string{`"x"`, `5`, `[]`, `true`,
		`{"truncate":"yes"}`, `{"truncation_direction":5}`, `{"prompt_name":5}`, `{"prompt_name":["query"]}`}
	wrongValues["object"] = []string{`"x"`, `5`, `[]`, `true`}
}

// embedAllRoute is /embed's table without normalize and dimensions, which
// /embed_all does not take.
func embedAllRoute(model string) robustRoute {
	rt := embeddingsRoute("TEI embed_all", "/embed_all", "inputs", model)
	delete(rt.fields, "normalize")
	delete(rt.fields, "dimensions")
	var extra []robustCase
	for _, c := range rt.extra {
		if !strings.Contains(c.name, "dimensions") {
			extra = append(extra, c)
		}
	}
	rt.extra = append(extra, robustCase{name: "a reranker", body: mustJSON(with(rt.valid, "model", "tiny-rank")), want: 422, inMessage: "rerank"})
	return rt
}

func decodeRoute(model string) robustRoute {
	valid := map[string]any{"model": model, "ids": []int{2, 10, 3}}
	post := edgeCase(valid)
	vocab := shared.models[model].weights.VocabSize()
	lists := func(n int) map[string]any {
		ids := make([][]int, n)
		for i := range ids {
			ids[i] = []int{2, 10, 3}
		}
		return with(valid, "ids", ids)
	}
	return robustRoute{
		name: "TEI decode", path: "/decode", valid: valid, limit: 100, many: lists,
		fields: map[string]string{"model": "string", "ids": "ids", "skip_special_tokens": "bool"},
		extra: []robustCase{
			post("the last id of the vocabulary", 200, "ids", []int{vocab - 1}),
			post("one past the vocabulary", 400, "ids", []int{vocab}),
			post("one past, in a later list", 400, "ids", [][]int{{2}, {3, vocab}}),
			post("an empty list", 400, "ids", [][]int{{}}),
			post("specials kept", 200, "skip_special_tokens", false),
			post("a long list", 200, "ids", tokenIDs(5000)),
			post("ids over the payload limit", 413, "ids", tokenIDs(80_000)),
			post("missing ids", 400, "ids", nil),
			post("an unknown model", 404, "model", "no-such-model"),
		},
	}
}

func similarityRoute(model string) robustRoute {
	in := func(source string, sentences ...string) map[string]any {
		return map[string]any{"source_sentence": source, "sentences": sentences}
	}
	valid := map[string]any{"model": model, "inputs": in("hello", "the dog", "the cat")}
	post := edgeCase(valid)
	return robustRoute{
		name: "TEI similarity", path: "/similarity", valid: valid, blank: 200, limit: 99, // the source is an input too
		text:   func(s string) map[string]any { return with(valid, "inputs", in(s, s, "the dog")) },
		many:   func(n int) map[string]any { return with(valid, "inputs", in("a", inputs(n, "a")...)) },
		fields: map[string]string{"model": "string", "inputs": "similarityInputs", "parameters": "similarityParameters"},
		extra: []robustCase{
			post("a long sentence", 400, "inputs", in("a", nWords(300))),
			post("a long sentence, truncate", 200, "inputs", in("a", nWords(300)), "parameters", map[string]any{"truncate": true}),
			post("at the maximum length", 200, "inputs", in(nWords(62), nWords(62))),
			post("one token over", 400, "inputs", in(nWords(63), "a")),
			{name: "left truncation", body: mustJSON(with(valid, "parameters", map[string]any{"truncation_direction": "Left"})), want: 400, inMessage: "truncation_direction"},
			{name: "an unknown prompt", body: mustJSON(with(valid, "parameters", map[string]any{"prompt_name": "nope"})), want: 400, inMessage: "prompt_name"},
			post("a prompt", 200, "parameters", map[string]any{"prompt_name": "query"}),
			post("missing inputs", 400, "inputs", nil),
			{name: "a reranker", body: mustJSON(with(valid, "model", "tiny-rank")), want: 422, inMessage: "rerank"},
		},
	}
}

func ollamaLegacyRoute(model string) robustRoute {
	valid := map[string]any{"model": model, "prompt": "hello"}
	post := edgeCase(valid)
	return robustRoute{
		name: "Ollama embeddings", path: "/api/embeddings", valid: valid, blank: 200, empty: 200,
		text:   func(s string) map[string]any { return with(valid, "prompt", s) },
		fields: map[string]string{"model": "string", "prompt": "string", "options": "object"},
		extra: []robustCase{
			post("a long prompt, truncated", 200, "prompt", nWords(300)),
			post("keep_alive as a string", 200, "keep_alive", "5m"),
			post("keep_alive as a number", 200, "keep_alive", -1),
			post("options ignored", 200, "options", map[string]any{"num_ctx": 8, "temperature": "x"}),
			post("a tag other than latest", 404, "model", model+":v2"),
			post("latest", 200, "model", model+":latest"),
			post("a reranker", 422, "model", "tiny-rank"),
			post("missing prompt", 200, "prompt", nil),
		},
	}
}
