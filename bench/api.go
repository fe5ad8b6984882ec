package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// API is a wire shape the bench speaks.
type API string

const (
	// OpenAI is POST /v1/embeddings: rerank-api, llama-server, TEI,
	// vLLM, Infinity and OpenAI itself.
	OpenAI API = "openai"
	// Cohere is POST /v1/rerank (Cohere v1, Jina, llama-server);
	// rerank-api and Cohere serve the same body at /v2/rerank too.
	Cohere API = "cohere"
	// TEI is text-embeddings-inference's POST /embed.
	TEI API = "tei"
	// TEIRerank is text-embeddings-inference's POST /rerank.
	TEIRerank API = "tei-rerank"
	// Ollama is POST /api/embed.
	Ollama API = "ollama"
)

// APIs lists every API in the order the help text gives them.
var APIs = []API{OpenAI, Cohere, TEI, TEIRerank, Ollama}

// shape is how one API asks for work and reports what it did.
type shape struct {
	route string
	// body is the JSON request for a payload; model "" leaves the
	// server's default.
	body func(model string, p payload) any
	// answer checks that a 200's body holds one result per input or
	// document (want of them) and returns the tokens the server says it
	// read, and whether it said.
	answer func(h http.Header, body []byte, want int) (tokens int, reported bool, err error)
}

var shapes = map[API]shape{
	OpenAI: {
		route: "/v1/embeddings",
		body: func(model string, p payload) any {
			// "float" because every server of the family has it;
			// base64 is OpenAI's newer default and not universal.
			return struct {
				Model          string   `json:"model,omitempty"`
				Input          []string `json:"input"`
				EncodingFormat string   `json:"encoding_format"`
			}{model, p.texts, "float"}
		},
		answer: func(_ http.Header, body []byte, want int) (int, bool, error) {
			// Results are counted, not decoded: parsing every float
			// would spend the client's CPU, which on one machine is the
			// server's too.
			var r struct {
				Data  []struct{} `json:"data"`
				Usage *struct {
					PromptTokens int `json:"prompt_tokens"`
					TotalTokens  int `json:"total_tokens"`
				} `json:"usage"`
			}
			if err := decode(body, &r, want, func() int { return len(r.Data) }); err != nil {
				return 0, false, err
			}
			if r.Usage == nil {
				return 0, false, nil
			}
			return max(r.Usage.PromptTokens, r.Usage.TotalTokens), true, nil
		},
	},
	Cohere: {
		route: "/v1/rerank",
		body: func(model string, p payload) any {
			// Without return_documents Jina and our /v1 echo every
			// document: bytes that measure JSON, not ranking.
			return struct {
				Model           string   `json:"model,omitempty"`
				Query           string   `json:"query"`
				Documents       []string `json:"documents"`
				ReturnDocuments bool     `json:"return_documents"`
			}{model, p.query, p.texts, false}
		},
		answer: func(_ http.Header, body []byte, want int) (int, bool, error) {
			var r struct {
				Results []struct{} `json:"results"`
				// Jina and llama-server report usage; Cohere v2
				// reports meta.tokens (rerank-api sends both).
				Usage *struct {
					PromptTokens int `json:"prompt_tokens"`
					TotalTokens  int `json:"total_tokens"`
				} `json:"usage"`
				Meta struct {
					Tokens *struct {
						InputTokens int `json:"input_tokens"`
					} `json:"tokens"`
				} `json:"meta"`
			}
			if err := decode(body, &r, want, func() int { return len(r.Results) }); err != nil {
				return 0, false, err
			}
			switch {
			case r.Usage != nil:
				return max(r.Usage.PromptTokens, r.Usage.TotalTokens), true, nil
			case r.Meta.Tokens != nil:
				return r.Meta.Tokens.InputTokens, true, nil
			}
			return 0, false, nil
		},
	},
	TEI: {
		route: "/embed",
		body: func(model string, p payload) any {
			return struct {
				Inputs []string `json:"inputs"`
				Model  string   `json:"model,omitempty"`
			}{p.texts, model}
		},
		answer: teiAnswer[json.RawMessage], // a vector per input
	},
	TEIRerank: {
		route: "/rerank",
		body: func(model string, p payload) any {
			return struct {
				Query string   `json:"query"`
				Texts []string `json:"texts"`
				Model string   `json:"model,omitempty"`
			}{p.query, p.texts, model}
		},
		answer: teiAnswer[struct{}], // {"index", "score"} per text
	},
	Ollama: {
		route: "/api/embed",
		body: func(model string, p payload) any {
			return struct {
				Model string   `json:"model"`
				Input []string `json:"input"`
			}{model, p.texts}
		},
		answer: func(_ http.Header, body []byte, want int) (int, bool, error) {
			var r struct {
				Embeddings      []json.RawMessage `json:"embeddings"`
				PromptEvalCount *int              `json:"prompt_eval_count"`
			}
			if err := decode(body, &r, want, func() int { return len(r.Embeddings) }); err != nil {
				return 0, false, err
			}
			if r.PromptEvalCount == nil {
				return 0, false, nil
			}
			return *r.PromptEvalCount, true, nil
		},
	},
}

// rerank reports whether the API ranks documents against a query.
func (a API) rerank() bool { return a == Cohere || a == TEIRerank }

// ParseAPI reads an --api value.
func ParseAPI(s string) (API, error) {
	a := API(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := shapes[a]; !ok {
		names := make([]string, len(APIs))
		for i, a := range APIs {
			names[i] = string(a)
		}
		return "", fmt.Errorf("unknown API %q: want one of %s", s, strings.Join(names, ", "))
	}
	return a, nil
}

// Route is the path the API's requests go to when --url names none.
func (a API) Route() string { return shapes[a].route }

// errInvalidAnswer marks a 200 whose body is not what the API promises: a
// server that answers fast with nothing must not count as fast.
type errInvalidAnswer struct{ reason string }

func (e errInvalidAnswer) Error() string { return "invalid answer: " + e.reason }

// decode unmarshals body into v and checks that count() results came back.
func decode(body []byte, v any, want int, count func() int) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errInvalidAnswer{fmt.Sprintf("%v in %s", err, snippet(body))}
	}
	if got := count(); got != want {
		return errInvalidAnswer{fmt.Sprintf("%d results for %d inputs", got, want)}
	}
	return nil
}

// teiAnswer reads TEI's answers: a bare JSON array of one T per input,
// and the tokens in a header.
func teiAnswer[T any](h http.Header, body []byte, want int) (int, bool, error) {
	var r []T
	if err := decode(body, &r, want, func() int { return len(r) }); err != nil {
		return 0, false, err
	}
	tokens, ok := computeTokens(h)
	return tokens, ok, nil
}

// computeTokens reads TEI's X-Compute-Tokens header, the tokens a request
// made the model read.
func computeTokens(h http.Header) (int, bool) {
	v := h.Get("X-Compute-Tokens")
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// snippet is the start of a body for an error message.
func snippet(body []byte) string {
	const most = 200
	if len(body) > most {
		return strconv.Quote(string(body[:most])) + "…"
	}
	return strconv.Quote(string(body))
}
