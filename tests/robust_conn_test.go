package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dial opens a raw connection to the shared server.
func dial(t *testing.T) *net.TCPConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(shared.srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn.(*net.TCPConn)
}

// readReply reads one HTTP response from conn.
func readReply(t *testing.T, conn net.Conn) reply {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// A body that ends before its Content-Length gets a 400 in the route's
// envelope, and a client that hangs up mid-body costs the server nothing.
func TestRobustTruncatedBody(t *testing.T) {
	partial := `{"model": "tiny-cls", "input": "hel`
	for _, rt := range robustRoutes() {
		t.Run(rt.name, func(t *testing.T) {
			conn := dial(t)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n%s", rt.path, partial)
			if err := conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			r := readReply(t, conn)
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400; body %s", r.status, clip(r.body))
			}
			checkReply(t, envelopeOf(rt.path, nil), r)

			hangUp := dial(t)
			fmt.Fprintf(hangUp, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n%s", rt.path, partial)
			hangUp.Close()
		})
	}
	checkServesCorrectly(t)
}

// A URL past net/http's 1 MB header limit is refused by net/http itself
// (431, plain text: it never reaches the router), not by dropping the
// connection.
func TestRobustHugeURL(t *testing.T) {
	conn := dial(t)
	go func() {
		// The server answers before reading all of it; the write may fail.
		fmt.Fprintf(conn, "POST /v1/embeddings/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", strings.Repeat("x", 2<<20))
	}()
	if r := readReply(t, conn); r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431; body %s", r.status, clip(r.body))
	}
	checkServesCorrectly(t)
}

// Clients that trickle their headers or body (slowloris) hold only their
// own connection: other requests are served as fast as ever meanwhile.
func TestRobustSlowClients(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	trickle := func(conn net.Conn, head, body string) {
		defer wg.Done()
		// Complete headers first when body is set; otherwise the headers
		// themselves trickle.
		if body != "" {
			if _, err := io.WriteString(conn, head); err != nil {
				return
			}
		} else {
			body = head
		}
		for i := 0; ctx.Err() == nil && i < len(body); i++ {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for range 8 {
		wg.Add(1)
		go trickle(dial(t), "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "+strings.Repeat("s", 1000), "")
	}
	for _, path := range []string{"/v1/embeddings", "/v1/rerank", "/tokenize"} {
		wg.Add(1)
		go trickle(dial(t), "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", `{"input": "`+strings.Repeat("dog ", 1000))
	}
	defer func() { stop(); wg.Wait() }()

	time.Sleep(200 * time.Millisecond) // the slow clients are connected and trickling
	for i := range 10 {
		start := time.Now()
		checkServesCorrectly(t)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("request %d took %v beside the slow clients", i, took)
		}
	}
}

// largeRequests are 20 requests of several thousand tokens each, half
// embeddings and half rerank, for the disconnect test.
func largeRequests() [][2]string {
	long := nWords(62) // 64 tokens with [CLS] and [SEP]: the model's maximum
	embed := string(mustJSON(map[string]any{"model": "tiny-cls", "input": inputs(100, long)}))
	rerank := string(mustJSON(map[string]any{"model": "tiny-rank", "query": "dog", "documents": inputs(60, long)}))
	var out [][2]string
	for i := range 20 {
		if i%2 == 0 {
			out = append(out, [2]string{"/v1/embeddings", embed})
		} else {
			out = append(out, [2]string{"/v1/rerank", rerank})
		}
	}
	return out
}

// postContext posts body and returns the status, or the transport error.
func postContext(ctx context.Context, path, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, shared.srv.url+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := robustClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// Clients that give up while their large requests are queued leave the
// server healthy: their queued work is dropped, not computed, and requests
// sharing batches with them get correct vectors.
func TestRobustClientDisconnects(t *testing.T) {
	large := largeRequests()
	start := time.Now()
	if status, err := postContext(context.Background(), large[0][0], large[0][1]); err != nil || status != 200 {
		t.Fatalf("one large request: status %d, %v", status, err)
	}
	alone := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, len(large)+4)
	var cancelled atomic.Int32
	for _, req := range large {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, err := postContext(ctx, req[0], req[1])
			switch {
			case errors.Is(err, context.Canceled):
				cancelled.Add(1)
			case err != nil || status != 200: // one finished before the cancel must have succeeded
				errs <- fmt.Errorf("%s: status %d, %v", req[0], status, err)
			}
		}()
	}
	// Honest clients whose sequences share batches with the doomed ones;
	// their answers are checked once all is done.
	honest := make([]reply, 4)
	for i := range honest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := robustClient.Post(shared.srv.url+"/v1/embeddings", "application/json",
				bytes.NewReader(mustJSON(map[string]any{"model": "tiny-cls", "input": texts})))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			honest[i] = reply{resp.StatusCode, resp.Header, body}
		}()
	}
	time.Sleep(alone) // every request has reached the queue
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, r := range honest {
		checkReferenceVectors(t, r)
	}
	if n := cancelled.Load(); n < int32(len(large))/2 {
		t.Fatalf("only %d of %d requests were still running when cancelled: the test proves nothing", n, len(large))
	}

	// With the queue dropped, a request waits at most for the batch in
	// progress; had the server computed the cancelled work, it would wait
	// for all of it (20 times one large request).
	start = time.Now()
	checkServesCorrectly(t)
	if took := time.Since(start); took > 5*alone+time.Second {
		t.Errorf("a request after the disconnects took %v; one large request alone takes %v", took, alone)
	}
	t.Logf("one large request alone: %v; a request after %d cancelled: %v", alone, cancelled.Load(), time.Since(start))
}
