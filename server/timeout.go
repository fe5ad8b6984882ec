package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// limitTime applies s.cfg.RequestTimeout (--request-timeout): the request's
// context ends at the deadline, which drops its sequences still queued in
// the batcher (or its wait for a model to load), and the client gets a 504
// saying which limit it met. The status is what toAPIError gives any
// expired context: a gateway's timeout, which clients (the OpenAI SDKs)
// retry; nginx, which would retry it on another replica too, is told not to
// (deploy/nginx): a request too slow here is as slow there.
func (s *server) limitTime(next http.Handler) http.Handler {
	limit := s.cfg.RequestTimeout
	if limit <= 0 {
		return next
	}
	// One error for every request: it depends only on the limit, and is
	// only read once made.
	timedOut := &apiError{
		status: http.StatusGatewayTimeout,
		code:   "timeout",
		message: fmt.Sprintf("the request did not finish within the server's request timeout of %v (--request-timeout); "+
			"send fewer or shorter inputs per request, or retry when the server is less busy", limit),
		cause: context.DeadlineExceeded,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeoutCause(r.Context(), limit, timedOut)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ErrShutDown is the cause cmd/rerank-api cancels the requests still in
// progress with when --shutdown-timeout runs out: they answer 503, which
// a client or load balancer retries, rather than the 499 of a client that
// left.
var ErrShutDown = errors.New("the server shut down before the request finished (--shutdown-timeout); retry it")

// explainContextEnd replaces the bare context error of a request that met
// --request-timeout, or was cut off by a shutdown, with the error saying so.
func explainContextEnd(r *http.Request, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	cause := context.Cause(r.Context())
	var timeout *apiError
	switch {
	case errors.As(cause, &timeout):
		return timeout
	case errors.Is(cause, ErrShutDown):
		return &apiError{status: http.StatusServiceUnavailable, code: "shutting_down", message: cause.Error(),
			retryAfter: retryAfterDraining, cause: err}
	}
	return err
}
