package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultEndpoint is the hub used when no endpoint is given (HF_ENDPOINT
// unset).
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch read when no revision is given.
const DefaultRevision = "main"

const userAgent = "rerank-api"

// Errors a caller can test with errors.Is; the wrapped message names the repo,
// file and revision.
var (
	ErrUnauthorized = errors.New("authentication required: set HF_TOKEN (the repo may be gated or private)")
	ErrGated        = errors.New("access to the repository is restricted (gated)")
	ErrNotFound     = errors.New("repository or file not found")
	ErrCorrupted    = errors.New("corrupted in transit")
)

// Client talks to one hub. The zero value uses DefaultEndpoint, no token and
// http.DefaultClient; the CLI makes one with NewClient from HF_ENDPOINT,
// HF_TOKEN and the proxy variables (envconfig).
type Client struct {
	// Endpoint is the hub's base URL, without a trailing slash.
	Endpoint string
	// Token is sent as "Authorization: Bearer" to the hub's host only.
	Token string
	// HTTP makes the requests. Its CheckRedirect is replaced per request
	// so the token never follows a redirect to another host.
	HTTP *http.Client

	inflight flights // downloads in progress, by destination
	// wrapFile, when set, stands between a download and its partial file:
	// tests make it fail as a full disk does.
	wrapFile func(io.Writer) io.Writer
	// stallTimeout is the longest a download waits for its next bytes;
	// 0 means defaultStallTimeout.
	stallTimeout time.Duration
}

// NewClient returns a client for endpoint (DefaultEndpoint when empty) whose
// transport routes requests through proxy (nil: no proxy).
func NewClient(endpoint, token string, proxy func(*http.Request) (*url.URL, error)) *Client {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = proxy
	// A hub or CDN that accepts the connection and then says nothing would
	// otherwise hang the pull forever; bodies may still take as long as they need.
	t.ResponseHeaderTimeout = time.Minute
	return &Client{
		Endpoint: strings.TrimRight(endpoint, "/"),
		Token:    token,
		HTTP:     &http.Client{Transport: t},
	}
}

// fileURL is huggingface_hub's hf_hub_url: the revision is escaped whole
// (refs/pr/1 becomes refs%2Fpr%2F1), the path segment by segment.
func (c *Client) fileURL(repo, revision, path string) string {
	return c.endpoint() + "/" + escapePath(repo) + "/resolve/" + url.PathEscape(orDefault(revision)) + "/" + escapePath(path)
}

// send makes one request. Redirects are followed only to where downloads
// may come from (checkRedirect). The token goes only to the hub's own
// host:port, never to a URL elsewhere (DownloadURL).
// Go's default redirect policy would also forward it to the same host name on
// another port and to subdomains (huggingface.co to cdn-lfs.huggingface.co),
// and presigned CDN URLs reject a request carrying a second credential.
func (c *Client) send(ctx context.Context, method, rawURL string, header http.Header, follow bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, err
	}
	maps.Copy(req.Header, header)
	req.Header.Set("User-Agent", userAgent)
	if hub, err := url.Parse(c.endpoint()); c.Token != "" && err == nil && req.URL.Host == hub.Host {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if err := checkRedirect(via[0].URL, next.URL); err != nil {
			return err
		}
		if next.URL.Host != via[0].URL.Host {
			next.Header.Del("Authorization")
		}
		return nil
	}
	return hc.Do(req)
}

// statusError turns a failed answer into an error that says what to do.
// what names the object ("org/name file.gguf at main").
func (c *Client) statusError(resp *http.Response, repo, what string) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if c.Token != "" {
			return fmt.Errorf("%w: %s (the hub rejected the token that was sent; check it at %s/settings/tokens)",
				ErrUnauthorized, what, c.endpoint())
		}
		return fmt.Errorf("%w: %s", ErrUnauthorized, what)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %s: accept its terms at %s/%s, logged in as the owner of HF_TOKEN",
			ErrGated, what, c.endpoint(), repo)
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		msg = strings.TrimSpace(string(body))
	}
	return fmt.Errorf("hub answered %s for %s: %s", resp.Status, what, msg)
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

func orDefault(revision string) string {
	if revision == "" {
		return DefaultRevision
	}
	return revision
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
