package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/envconfig"
)

// Profiling is off unless --pprof-addr names a listener: nothing starts.
func TestPprofOffByDefault(t *testing.T) {
	if envconfig.PprofAddr.Default != "" {
		t.Fatalf("--pprof-addr defaults to %q: profiles would be served unasked", envconfig.PprofAddr.Default)
	}
	addr, stop, err := startPprof(envconfig.PprofAddr.Default, zerolog.Nop())
	if err != nil || addr != "" {
		t.Fatalf("startPprof(default) = %q, %v; want nothing started", addr, err)
	}
	stop()
}

// On, the profiles are served on their own listener, and stop closes it.
func TestPprofServesProfiles(t *testing.T) {
	addr, stop, err := startPprof("127.0.0.1:0", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	for path, want := range map[string]string{
		"/debug/pprof/":                  "goroutine",
		"/debug/pprof/heap?debug=1":      "heap profile",
		"/debug/pprof/goroutine?debug=1": "goroutine profile",
		"/debug/pprof/cmdline":           ".test", // this test binary's own command line
	} {
		code, body, err := get(path)
		if err != nil || code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, %v; want 200 with %q in %.200q", path, code, err, want, body)
		}
	}
	stop()
	if _, _, err := get("/debug/pprof/"); err == nil {
		t.Error("the pprof listener still answers after stop")
	}
}

func TestPprofListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"6060":           "127.0.0.1:6060",
		":6060":          "127.0.0.1:6060",
		"localhost:6060": "localhost:6060",
		"0.0.0.0:6060":   "0.0.0.0:6060",
		"[::1]:6060":     "[::1]:6060",
	} {
		if got, err := pprofListenAddr(in); err != nil || got != want {
			t.Errorf("pprofListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost", "localhost:http-alt", "99999", "::6060"} {
		if got, err := pprofListenAddr(bad); err == nil {
			t.Errorf("pprofListenAddr(%q) = %q, want an error", bad, got)
		}
	}
}
