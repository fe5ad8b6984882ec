package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// apiFamily says which error envelope a route speaks.
type apiFamily int

const (
	familyOpenAI apiFamily = iota // also used by our own routes and 404s
	familyTEI
	familyCohere // Cohere's and Jina's rerank and embed routes
	familyOllama // everything under /api/
)

// routeFamily is the envelope of the route at path, set before the router
// runs so that a 405 speaks it too: a TEI client that GETs /embed reads
// TEI's error shape. POST /rerank switches to Cohere's when the body holds
// "documents" (teiOrCohereRerank). Cohere's paths without a route here
// (/v1/embed-jobs, anything under /v2/: OpenAI has no v2) get a 404 in
// Cohere's envelope, which its clients can read; likewise Ollama's under
// /api/.
func routeFamily(path string) apiFamily {
	switch path {
	case "/embed", "/embed_all", "/embed_sparse", "/embed_colbert", "/rerank", "/tokenize", "/decode", "/similarity":
		return familyTEI
	case "/v1/rerank":
		return familyCohere
	}
	switch {
	case strings.HasPrefix(path, "/api/"):
		return familyOllama
	case strings.HasPrefix(path, "/v2/"),
		strings.HasPrefix(path, "/v1/embed") && !strings.HasPrefix(path, "/v1/embeddings"):
		return familyCohere
	}
	return familyOpenAI
}

// apiError is an error with everything the wire needs. Handlers return one
// for problems they find themselves; engine errors are mapped by toAPIError.
type apiError struct {
	status  int
	code    string // machine-readable; OpenAI's "code", and it picks TEI's error_type
	param   string // the request field at fault, "" when none
	message string // says what was wrong and what to send instead
	// retryAfter, in seconds, is sent as Retry-After when positive.
	retryAfter int
	cause      error
}

func (e *apiError) Error() string { return e.message }
func (e *apiError) Unwrap() error { return e.cause }

// invalidField is a 400 for a request field the client can fix.
func invalidField(param, format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		code:    "invalid_" + param,
		param:   param,
		message: fmt.Sprintf(format, args...),
	}
}

// emptyInput is a 400 for an empty string or array, which TEI reports with
// its own error type.
func emptyInput(param, format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		code:    "empty_input",
		param:   param,
		message: fmt.Sprintf(format, args...),
	}
}

// tooMany is a 413 for a request carrying more items (inputs, documents)
// than the server's limit per request.
func tooMany(param, items string, n, limit int) *apiError {
	return &apiError{
		status:  http.StatusRequestEntityTooLarge,
		code:    "too_many_" + items,
		param:   param,
		message: fmt.Sprintf("%d %s is more than the limit of %d per request; split them over several requests", n, items, limit),
	}
}

// Retry-After values: an overloaded queue drains in about a second, and a
// request refused by a server shutting down is best retried at once (a load
// balancer sends it to another replica); a model that is loading or missing
// needs longer, and polling it fast helps no one.
const (
	retryAfterOverloaded  = 1
	retryAfterDraining    = 1
	retryAfterUnavailable = 10
)

// engineErrors maps the backend's sentinel errors to HTTP. The engine's
// message wraps the sentinel with details and what to do, and is sent as is.
// Overload is TEI's 429 (router/src/lib.rs: ErrorType::Overloaded →
// TOO_MANY_REQUESTS); 503 stays for a model that cannot serve (missing,
// loading, failed) and for a server shutting down (drain.go).
var engineErrors = []struct {
	target     error
	status     int
	code       string
	param      string
	retryAfter int
}{
	{backend.ErrUnknownModel, http.StatusNotFound, "model_not_found", "model", 0},
	{backend.ErrUnsupportedModel, http.StatusUnprocessableEntity, "model_not_supported", "model", 0},
	{backend.ErrWrongKind, http.StatusUnprocessableEntity, "wrong_model_kind", "model", 0},
	{backend.ErrInvalidInput, http.StatusBadRequest, "invalid_input", "", 0},
	{backend.ErrInputTooLong, http.StatusBadRequest, "input_too_long", "input", 0},
	{backend.ErrModelUnavailable, http.StatusServiceUnavailable, "model_unavailable", "", retryAfterUnavailable},
	{backend.ErrOverloaded, http.StatusTooManyRequests, "overloaded", "", retryAfterOverloaded},
	{backend.ErrNonFinite, http.StatusInternalServerError, "non_finite", "", 0},
}

// statusClientClosedRequest is nginx's code for a client that left before
// the answer; nobody reads it, but the log line says what happened.
const statusClientClosedRequest = 499

// toAPIError maps any error to what the client sees.
func toAPIError(err error, requestID string) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &apiError{
			status: http.StatusRequestEntityTooLarge,
			code:   "payload_too_large",
			message: fmt.Sprintf("request body is larger than the %d-byte limit; send fewer or shorter inputs per request",
				tooLarge.Limit),
			cause: err,
		}
	}
	for _, e := range engineErrors {
		if errors.Is(err, e.target) {
			return &apiError{status: e.status, code: e.code, param: e.param, message: err.Error(), retryAfter: e.retryAfter, cause: err}
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &apiError{status: statusClientClosedRequest, code: "client_closed_request", message: "the client closed the request", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusGatewayTimeout, code: "timeout", message: "the request took too long: " + err.Error(), cause: err}
	}
	return &apiError{
		status:  http.StatusInternalServerError,
		code:    "internal_error",
		message: fmt.Sprintf("internal error (request id %s): %v", requestID, err),
		cause:   err,
	}
}

// openAIType is OpenAI's error "type" for a status.
func (e *apiError) openAIType() string {
	switch {
	case e.status == http.StatusNotFound:
		return "not_found_error"
	case e.status >= http.StatusInternalServerError, e.code == "overloaded":
		// OpenAI's own "model is overloaded" is a 429 of type server_error:
		// the client did nothing wrong.
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// teiType is TEI's error_type (router/src/lib.rs ErrorType): Validation for
// anything the client sent wrong, Empty for empty inputs, Overloaded,
// Unhealthy when the model cannot serve, Backend for our own failures.
func (e *apiError) teiType() string {
	switch {
	case e.code == "empty_input":
		return "Empty"
	case e.code == "overloaded":
		return "Overloaded"
	case e.code == "model_unavailable", e.code == "shutting_down":
		return "Unhealthy"
	case e.status >= http.StatusInternalServerError:
		return "Backend"
	default:
		return "Validation"
	}
}

// writeError answers with err in the envelope of the route's API family and
// records it for the request's log line.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = explainContextEnd(r, err)
	ri := info(r)
	ri.err = err
	ae := toAPIError(err, ri.id)
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	switch ri.family {
	case familyTEI:
		writeJSON(w, r, ae.status, api.TEIError{Error: ae.message, ErrorType: ae.teiType()})
		return
	case familyCohere:
		writeJSON(w, r, ae.status, api.CohereError{ID: ri.id, Message: ae.message})
		return
	case familyOllama:
		writeJSON(w, r, ae.status, api.OllamaError{Error: ae.message})
		return
	}
	writeJSON(w, r, ae.status, api.OpenAIErrorResponse{Error: api.OpenAIError{
		Message: ae.message,
		Type:    ae.openAIType(),
		Param:   nullable(ae.param),
		Code:    nullable(ae.code),
	}})
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// routeNotFound answers a path no route has with the list of those there are.
func routeNotFound(router *mux.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var routes []string
		_ = router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			path, _ := route.GetPathTemplate()
			if methods, _ := route.GetMethods(); len(methods) > 0 {
				routes = append(routes, methods[0]+" "+path)
			}
			return nil
		})
		writeError(w, r, &apiError{
			status: http.StatusNotFound,
			code:   "route_not_found",
			message: fmt.Sprintf("no route %s %s; the routes are %s",
				r.Method, clipPath(r.URL.Path), strings.Join(routes, ", ")),
		})
	}
}

// methodNotAllowed answers a known path asked with the wrong method, with
// the Allow header RFC 9110 requires on a 405.
func methodNotAllowed(router *mux.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		_ = router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
			if path, _ := route.GetPathTemplate(); path == r.URL.Path {
				methods, _ := route.GetMethods()
				allowed = append(allowed, methods...)
			}
			return nil
		})
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, r, &apiError{
			status:  http.StatusMethodNotAllowed,
			code:    "method_not_allowed",
			message: fmt.Sprintf("%s is not allowed on %s; send %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")),
		})
	}
}

// maxLoggedPath bounds the request path echoed in a 404 and in the log: a
// URL can be up to net/http's 1 MB header limit long.
const maxLoggedPath = 256

// clipPath shortens a path for messages and logs, and makes it valid UTF-8
// ("%ff" in a URL decodes to a byte that is not).
func clipPath(path string) string {
	if len(path) > maxLoggedPath {
		path = path[:maxLoggedPath] + "…"
	}
	return strings.ToValidUTF8(path, "\ufffd")
}
