package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/server"
)

// lifetimes are serve's time limits: per request, and for a shutdown.
type lifetimes struct {
	request  time.Duration // 0: none
	delay    time.Duration // served while /ready says 503
	shutdown time.Duration // for the requests in progress to finish
}

func lifetimesOf(c *cli.Context) (lifetimes, error) {
	var l lifetimes
	var err error
	for _, d := range []struct {
		s   envconfig.Setting[string]
		dst *time.Duration
	}{{envconfig.RequestTimeout, &l.request}, {envconfig.ShutdownDelay, &l.delay}, {envconfig.ShutdownTimeout, &l.shutdown}} {
		if *d.dst, err = parseDuration(c.String(d.s.Flag)); err != nil {
			return l, fmt.Errorf("--%s: %w", d.s.Flag, err)
		}
	}
	return l, nil
}

// parseDuration reads a Go duration ("90s", "2m") or a number of seconds,
// as Kubernetes and TEI users write them; "" is 0.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want one such as 30s or 2m, or a number of seconds", s)
	}
	return d, nil
}

// exitOnSecondSignal makes a SIGINT or SIGTERM during the drain end the
// process at once: the operator (or a Ctrl-C pressed twice) has decided
// not to wait. Called once the first signal has arrived; stopFirst
// unregisters the handler that caught it.
func exitOnSecondSignal(stopFirst func(), logger zerolog.Logger) {
	second := make(chan os.Signal, 1)
	signal.Notify(second, syscall.SIGINT, syscall.SIGTERM)
	stopFirst()
	go func() {
		sig := <-second
		logger.Warn().Str("signal", sig.String()).Msg("second signal: exiting without waiting for requests in progress")
		os.Exit(1)
	}()
}

// drain shuts the HTTP server down without losing a request (server.Drain
// says what each step does): /ready turns 503 at once; new requests are
// served for l.delay more, then answered 503 until the requests in progress
// have finished, for at most l.shutdown, after which those still running are
// cancelled through cancelRequests (the context every request's derives
// from), and answer 503. Then the listener closes. It returns an error when requests had to
// be cancelled, so the exit status says the drain was cut short; the caller
// unloads the models afterwards either way.
func drain(srv *http.Server, d *server.Drain, cancelRequests context.CancelCauseFunc, l lifetimes, logger zerolog.Logger) error {
	d.Unready()
	logger.Info().Dur("shutdown_delay", l.delay).Dur("shutdown_timeout", l.shutdown).Msg("shutting down: /ready answers 503")
	time.Sleep(l.delay)
	d.Reject()
	wait, cancel := context.WithTimeout(context.Background(), l.shutdown)
	left := d.Wait(wait)
	cancel()
	if left > 0 {
		logger.Warn().Int("requests", left).Msg("shutdown timeout reached: cancelling the requests still in progress")
		cancelRequests(server.ErrShutDown)
	}
	// With nothing in progress this only closes the listener and the idle
	// connections; cancelled requests end within the batch they are in.
	closing, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(closing); err != nil {
		_ = srv.Close()
		return fmt.Errorf("closing the HTTP server: %w", err)
	}
	if left > 0 {
		return fmt.Errorf("%d requests were still in progress after --%s %v and were cancelled", left, envconfig.ShutdownTimeout.Flag, l.shutdown)
	}
	logger.Info().Msg("requests finished; unloading models")
	return nil
}
