package server

import (
	"context"
	"net/http"
	"sync"
)

// Drain is the server's side of a graceful shutdown, driven by
// cmd/rerank-api's serve on SIGTERM:
//
//  1. Unready: GET /ready answers 503, so load balancers and Kubernetes
//     take the replica out of rotation; requests are still served, since
//     they keep coming until that is noticed (--shutdown-delay).
//  2. Reject: new requests get 503 with Retry-After in their route's
//     envelope, which a load balancer retries on another replica (nginx's
//     proxy_next_upstream http_503); the listener stays open so they are
//     answered rather than refused.
//  3. Wait: the requests in progress finish (--shutdown-timeout); then the
//     listener closes and the models unload.
//
// From Unready on, every response carries Connection: close, so clients
// holding keep-alive connections (which no endpoint list ever reroutes)
// reconnect to a replica that is staying. The zero value serves.
type Drain struct {
	mu       sync.Mutex
	phase    drainPhase
	inFlight int
	idle     chan struct{} // closed when inFlight reaches 0 while rejecting; made by Wait
}

type drainPhase int

const (
	serving drainPhase = iota
	unready
	rejecting
)

// Unready turns /ready to 503; requests are still served.
func (d *Drain) Unready() { d.advance(unready) }

// Reject refuses new requests with 503; those in progress go on.
func (d *Drain) Reject() { d.advance(rejecting) }

func (d *Drain) advance(to drainPhase) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phase = max(d.phase, to)
}

// Draining reports whether shutdown has begun (GET /ready's 503).
func (d *Drain) Draining() bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.phase != serving
}

// Wait returns once no request is in progress after Reject, or when ctx
// ends; then it returns how many were still in progress.
func (d *Drain) Wait(ctx context.Context) int {
	d.mu.Lock()
	if d.inFlight == 0 {
		d.mu.Unlock()
		return 0
	}
	if d.idle == nil {
		d.idle = make(chan struct{})
	}
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.inFlight
	}
}

// enter counts a request in, unless new requests are refused.
func (d *Drain) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.phase == rejecting {
		return false
	}
	d.inFlight++
	return true
}

func (d *Drain) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	if d.inFlight == 0 && d.phase == rejecting && d.idle != nil {
		close(d.idle)
		d.idle = nil
	}
}

// probeRoutes are the routes machines poll, not clients: a draining server
// still answers them (/health: the process is alive, and a failing
// liveness probe would get it killed before its requests finish; /ready,
// whose 503 says why; /metrics, so the last scrape sees the drain), and
// the request metrics leave them out.
var probeRoutes = map[string]bool{"/health": true, "/ready": true, "/metrics": true}

// drainRequests applies s.cfg.Drain: it counts the requests in progress
// and refuses new ones once rejecting.
func (s *server) drainRequests(next http.Handler) http.Handler {
	d := s.cfg.Drain
	if d == nil {
		return next
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &closingWriter{ResponseWriter: rw, d: d}
		switch admitted := d.enter(); {
		case admitted:
			defer d.leave()
		case !probeRoutes[r.URL.Path]:
			writeError(w, r, &apiError{
				status:     http.StatusServiceUnavailable,
				code:       "shutting_down",
				message:    "the server is shutting down; retry the request, another replica will answer it",
				retryAfter: retryAfterDraining,
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// closingWriter sends Connection: close, which net/http obeys by closing
// the connection after the response, on every response that starts once
// the drain has begun: a request in progress at SIGTERM included.
type closingWriter struct {
	http.ResponseWriter
	d       *Drain
	started bool
}

func (w *closingWriter) start() {
	if !w.started {
		w.started = true
		if w.d.Draining() {
			w.Header().Set("Connection", "close")
		}
	}
}

func (w *closingWriter) WriteHeader(status int) {
	w.start()
	w.ResponseWriter.WriteHeader(status)
}

func (w *closingWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *closingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
