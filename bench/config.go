package bench

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// Config is one run's load. Zero values are not defaults: the command
// sets every field, and Run refuses what it cannot send.
type Config struct {
	// URL is the server's base URL, to which the API's route is added
	// (http://localhost:7987 → …/v1/embeddings), or, when it has a path,
	// the endpoint itself (http://localhost:7987/v2/rerank).
	URL   string
	API   API
	Model string // "" sends none (Ollama's route needs one)

	Concurrency int // clients, each with one request in flight
	Inputs      int // texts per embedding request
	Documents   int // documents per rerank request
	QueryTokens int // words of a rerank query
	Tokens      int // words per input or document: about one token each

	// The run ends after Duration or Requests, whichever comes first;
	// zero means no bound of that kind. Requests in flight at the end
	// are waited for and counted.
	Duration time.Duration
	Requests int
	Warmup   int // requests sent first, not measured (model loads, connections)

	Seed    int64         // the same seed sends the same texts
	APIKey  string        // sent as Authorization: Bearer
	Timeout time.Duration // per request; 0 waits as long as the server takes

	// Progress, when not nil, gets a line every ProgressEvery; with
	// ProgressInPlace each rewrites the last (a terminal).
	Progress        io.Writer
	ProgressEvery   time.Duration
	ProgressInPlace bool
}

// endpoint checks the load and returns the URL requests go to.
func (c *Config) endpoint() (string, error) {
	s, ok := shapes[c.API]
	if !ok {
		return "", fmt.Errorf("unknown API %q", c.API)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q: want http(s)://host:port, optionally with the route, e.g. http://localhost:7987", c.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = s.route
	}
	var problems []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Errorf(format, args...))
		}
	}
	check(c.Concurrency >= 1, "--concurrency %d: want at least 1", c.Concurrency)
	check(c.Tokens >= 1, "--tokens %d: want at least 1", c.Tokens)
	if c.API.rerank() {
		check(c.Documents >= 1, "--documents %d: want at least 1", c.Documents)
		check(c.QueryTokens >= 1, "--query-tokens %d: want at least 1", c.QueryTokens)
	} else {
		check(c.Inputs >= 1, "--inputs %d: want at least 1", c.Inputs)
	}
	check(c.Duration > 0 || c.Requests > 0, "give --duration or --requests: a run needs an end")
	check(c.Duration >= 0 && c.Requests >= 0 && c.Warmup >= 0 && c.Timeout >= 0, "--duration, --requests, --warmup and --timeout cannot be negative")
	return u.String(), errors.Join(problems...)
}
