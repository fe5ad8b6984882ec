package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Profiling follows the Go convention (the net/http/pprof docs'
// localhost:6060, CoreDNS's pprof plugin): a listener of its own, off
// unless --pprof-addr names one. TEI and llama-server are not Go programs
// and have no profiling endpoint. Ollama serves net/http/pprof on its API
// port, always (server/routes.go hands http.DefaultServeMux to its
// server), with a TODO to make it optional or move it to another port:
// here it is both. A separate listener keeps profiles (the command line,
// heap contents, a CPU profile any caller can make the process spend 30 s
// on) out of reach of API clients, load balancers and --public-routes, and
// a bare port binds to the loopback interface only.

// startPprof serves Go's runtime profiles under /debug/pprof/ on addr and
// returns the address it listens on and how to stop it; with addr "" it
// starts nothing and returns "".
//
// Importing net/http/pprof also registers its handlers on
// http.DefaultServeMux; nothing in rerank-api serves that mux (the API has
// its own router), so this mux is the only way to them.
func startPprof(addr string, logger zerolog.Logger) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	listen, err := pprofListenAddr(addr)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", nil, fmt.Errorf("--pprof-addr: cannot listen on %s: %w", listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: /debug/pprof/profile?seconds=30 answers after 30 s.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			logger.Warn().Err(err).Msg("pprof: listener stopped")
		}
	}()
	bound := ln.Addr().String()
	if host, _, _ := net.SplitHostPort(bound); !net.ParseIP(host).IsLoopback() {
		logger.Warn().Str("addr", bound).Msg("pprof: profiles are served beyond this machine; anyone who reaches this address can read the heap and the command line")
	}
	logger.Info().Str("addr", bound).Msg("pprof: serving Go profiles at /debug/pprof/")
	return bound, func() { _ = srv.Close() }, nil
}

// pprofListenAddr reads --pprof-addr: host:port as net.Listen takes it,
// except that a bare port ("6060" or ":6060") means the loopback
// interface, not every interface.
func pprofListenAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--pprof-addr %q: want host:port, such as localhost:6060, or a port: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("--pprof-addr %q: %q is not a port number", addr, port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
