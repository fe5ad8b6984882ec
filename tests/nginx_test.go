package tests

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The reference load-balancer config, as users copy it.
const nginxReference = "../deploy/nginx/rerank-api.conf"

var (
	// upstreamServer is a replica's line in the reference's upstream block.
	upstreamServer = regexp.MustCompile(`(?m)^(\s*server\s+)\S+:\d+(\s.*)?;$`)
	listenLine     = regexp.MustCompile(`(?m)^(\s*listen\s+)\S+;$`)
)

// nginxConfig is the reference config with the upstream servers replaced
// by ports and the listen address by listen, wrapped in the main context
// nginx needs to run unprivileged from dir: its pid file, logs and
// temporary files there, and a log line per request naming the replicas
// it went to.
func nginxConfig(t *testing.T, dir, listen string, ports []string) string {
	t.Helper()
	ref, err := os.ReadFile(nginxReference)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(ref)
	if n := len(upstreamServer.FindAllString(conf, -1)); n != len(ports) {
		t.Fatalf("%s lists %d upstream servers; the test replaces %d", nginxReference, n, len(ports))
	}
	i := 0
	conf = upstreamServer.ReplaceAllStringFunc(conf, func(line string) string {
		m := upstreamServer.FindStringSubmatch(line)
		i++
		return m[1] + "127.0.0.1:" + ports[i-1] + m[2] + ";"
	})
	if n := len(listenLine.FindAllString(conf, -1)); n != 1 {
		t.Fatalf("%s has %d listen lines, want 1", nginxReference, n)
	}
	conf = listenLine.ReplaceAllString(conf, "${1}"+listen+";")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would run as nobody, who cannot enter dir
	}
	return fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    log_format upstreams '$status $request_time "$upstream_addr" "$upstream_status"';
    access_log %[2]s/access.log upstreams;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, conf)
}

// startNginx runs nginx in the foreground with conf and waits until it
// answers on url.
func startNginx(t *testing.T, dir, conf, url string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Fatal("nginx is not installed: apt-get install -y nginx (scripts/test-deps.sh does)")
		}
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the reference config: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path, "-g", "daemon off;")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not answer (%v); its log:\n%s", err, log)
		}
	}
}

// Three replicas behind the reference nginx config under load from 8
// clients; one is stopped with SIGTERM halfway, as a rolling restart does.
// Not one request fails, every answer is the reference embedding, the
// stopped replica had been serving and exits 0, and load goes on through
// the other two.
func TestNginxRollingRestart(t *testing.T) {
	replicas := make([]*serverProcess, 3)
	ports := make([]string, 3)
	for i := range replicas {
		replicas[i] = startServer(t, true, replicaArgs("--shutdown-timeout", "20s")...)
		ports[i] = replicas[i].url[strings.LastIndex(replicas[i].url, ":")+1:]
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	front := fmt.Sprintf("http://127.0.0.1:%d", port)
	startNginx(t, dir, nginxConfig(t, dir, fmt.Sprintf("127.0.0.1:%d", port), ports), front)

	body := mustJSON(map[string]any{"model": "tiny-cls", "input": texts})
	check := referenceChecker("tiny-cls", texts)
	var sent, afterStop atomic.Int32
	var stopped atomic.Bool
	var failuresMu sync.Mutex
	var failures []string
	clients := newLoad()
	clients.run(8, func(int) error {
		r, err := postRaw(front+"/v1/embeddings", body)
		if err == nil {
			err = check(r.status, r.body)
		}
		sent.Add(1)
		if stopped.Load() {
			afterStop.Add(1)
		}
		if err != nil { // counted, and the client goes on: every failure is one too many
			failuresMu.Lock()
			failures = append(failures, err.Error())
			failuresMu.Unlock()
		}
		return nil
	})

	// Load spreads over the three before one stops (a busy 2-core machine
	// answers slowly, so count answers rather than wait a fixed time).
	for deadline := time.Now().Add(30 * time.Second); sent.Load() < 24 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	victim := replicas[1]
	// A request of the victim's own, held in progress, keeps it draining
	// for 1.5 s: long enough for nginx to send it new requests, which it
	// must refuse and nginx must send elsewhere.
	held := holdRequest(t, victim, "/v1/embeddings", body)
	signalled := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped.Store(true)
	time.Sleep(1500 * time.Millisecond)
	if r := held.finish(t); check(r.status, r.body) != nil {
		t.Errorf("the request in progress on the stopped replica: %v", check(r.status, r.body))
	}
	select {
	case <-victim.exited:
	case <-time.After(25 * time.Second):
		t.Fatal("the stopped replica did not exit within 25s")
	}
	exitedAfter := time.Since(signalled)
	time.Sleep(2 * time.Second) // load goes on with the replica gone
	clients.end()

	if victim.waitErr != nil {
		t.Errorf("the stopped replica exited with %v; its log:\n%s", victim.waitErr, tail(victim.stderr.String()))
	}
	log := victim.stderr.String()
	if served := strings.Count(log, `"path":"/v1/embeddings","route":"/v1/embeddings","status":200`); served < 2 {
		t.Errorf("the stopped replica served %d requests: it was not in rotation", served)
	}
	refused := strings.Count(log, `"status":503`)
	if refused == 0 {
		t.Error("the stopped replica refused no request while draining: nginx never had to retry one")
	}
	if len(failures) > 0 {
		access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		t.Errorf("%d of %d requests failed; the first: %s\nnginx's access log ends:\n%s",
			len(failures), sent.Load(), failures[0], tail(string(access)))
	}
	if afterStop.Load() < 10 {
		t.Errorf("only %d requests were sent after the SIGTERM", afterStop.Load())
	}
	access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	retried := strings.Count(string(access), ", 127.0.0.1:") // $upstream_addr lists every replica tried
	if retried < refused {
		t.Errorf("the stopped replica refused %d requests but nginx retried %d", refused, retried)
	}
	t.Logf("%d requests, %d after SIGTERM, %d failed; the stopped replica refused %d while draining and exited %v after SIGTERM; nginx retried %d on another replica",
		sent.Load(), afterStop.Load(), len(failures), refused, exitedAfter.Round(time.Millisecond), retried)
}
