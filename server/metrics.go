package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/rerank-api/rerank-api/metrics"
)

// observeRequest records a request in the metrics from what its log line
// says. Scrapes and probes are left out, as the log keeps them at debug:
// they arrive every few seconds from machines, and would swamp the request
// rates a dashboard shows (TEI counts only its inference routes).
func (s *server) observeRequest(r *http.Request, ri *requestInfo, status int, took time.Duration) {
	if probeRoutes[r.URL.Path] {
		return
	}
	req := metrics.Request{
		Route:     s.routeLabel(r, ri),
		Model:     ri.model,
		Status:    status,
		Inputs:    ri.inputs,
		Duration:  took,
		Batched:   ri.stats.Batches > 0,
		QueueWait: ri.stats.Wait,
		Inference: ri.stats.Compute,
	}
	if status < 200 || status >= 300 {
		req.Failure = failureKind(status, ri.err)
	}
	// /tokenize counts the tokens it returns; every other route, those
	// the model read.
	if ri.route == "/tokenize" {
		req.OutputTokens = ri.tokens
	} else {
		req.InputTokens = ri.tokens
	}
	s.metrics.ObserveRequest(req)
}

// routeLabel is the route template the request matched. A request refused
// before routing (a 401, a 503 while draining) is labelled with the route
// it would have matched; one matching no route gets "unmatched", never its
// path, which a client could vary without end.
func (s *server) routeLabel(r *http.Request, ri *requestInfo) string {
	if ri.route != "" {
		return ri.route
	}
	var match mux.RouteMatch
	if s.router.Match(r, &match) && match.Route != nil {
		if tpl, err := match.Route.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return "unmatched"
}

// failureKind is TEI's te_request_failure err label for a failed request,
// with kinds of our own where TEI has no word: unavailable (a model that
// cannot serve, a server shutting down), timeout (--request-timeout),
// unauthorized (API keys) and non_finite (NaN or Inf out of a model).
func failureKind(status int, err error) string {
	code := ""
	if err != nil {
		code = toAPIError(err, "").code
	}
	switch {
	case status == statusClientClosedRequest:
		return "dropped" // TEI: the client went away while queued
	case code == "overloaded", status == http.StatusTooManyRequests:
		return "overloaded"
	case strings.HasPrefix(code, "too_many_"):
		return "batch_size"
	case code == "wrong_model_kind", code == "model_not_supported":
		return "model_type"
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return "unauthorized"
	case code == "timeout", status == http.StatusGatewayTimeout:
		return "timeout"
	case status == http.StatusServiceUnavailable:
		return "unavailable"
	case code == "non_finite":
		return "non_finite" // a model computing NaN or Inf: its file, not the server, is broken
	case status >= http.StatusInternalServerError:
		return "inference"
	}
	return "validation"
}
