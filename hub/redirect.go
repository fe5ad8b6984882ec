package hub

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrForeignRedirect is wrapped by the error of a request that a server
// redirected somewhere downloads may not come from.
var ErrForeignRedirect = errors.New("redirect to a host downloads may not come from")

// hubDomains are Hugging Face's own domains. The hub answers a download
// with a redirect to its storage: today cas-bridge.xethub.hf.co (Xet),
// cdn-lfs-us-1.hf.co and the other regional LFS hosts, *.cdn.hf.co edges,
// and the older cdn-lfs.huggingface.co; its own guide to allow-listing them
// behind a firewall says *.hf.co and *.huggingface.co.
var hubDomains = []string{"hf.co", "huggingface.co"}

// maxRedirects is where a redirect chain stops, as Go's default client.
const maxRedirects = 10

// checkRedirect decides whether a request may follow a redirect from the
// first URL of its chain to next. Downloads come only from:
//
//   - the host of the first URL (HF_ENDPOINT's, for the hub's files), on any
//     port, and its subdomains (a mirror's own CDN);
//   - Hugging Face's domains (hubDomains), where the hub and a mirror that
//     passes LFS files on redirect to;
//
// and never over plain HTTP once the chain began over HTTPS. Anything else,
// a compromised mirror or a poisoned answer pointing at an internal address
// or another site, is refused before it is dialled. huggingface_hub follows
// any redirect; the digest check would catch wrong bytes, but not the
// request itself reaching a host it should not.
func checkRedirect(first, next *url.URL) error {
	if first.Scheme == "https" && next.Scheme != "https" {
		return fmt.Errorf("%w: %s redirected to %s, leaving HTTPS", ErrForeignRedirect, first.Redacted(), next.Redacted())
	}
	host := strings.ToLower(next.Hostname())
	if within(host, strings.ToLower(first.Hostname())) {
		return nil
	}
	for _, d := range hubDomains {
		if within(host, d) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s redirected to %s, which is neither its own host nor Hugging Face's (*.hf.co, *.huggingface.co); not following it",
		ErrForeignRedirect, first.Redacted(), next.Redacted())
}

// within reports whether host is domain or one of its subdomains; an IP
// address has no subdomains.
func within(host, domain string) bool {
	if host == "" || host == domain {
		return host != ""
	}
	return net.ParseIP(domain) == nil && strings.HasSuffix(host, "."+domain)
}
