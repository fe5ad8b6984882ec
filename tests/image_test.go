//go:build image

package tests

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// TestImage runs the image named by RERANK_API_IMAGE (built by `make
// image-test` with podman) on a free loopback port, with the shared test
// models mounted as its models volume, and checks that it serves the same
// embeddings and rerank scores as the native binary and the reference.
// Build tag "image": it needs podman and a built image, so `make test` does
// not run it; `make image-test` does.
func TestImage(t *testing.T) {
	image := os.Getenv("RERANK_API_IMAGE")
	if image == "" {
		t.Fatal("RERANK_API_IMAGE names no image: run `make image-test`, which builds one")
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// The container runs as the unprivileged user rerank: the models volume
	// must be readable by others, as a host's models folder usually is.
	if err := os.Chmod(shared.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("rerank-api-test-%d", port)
	run := exec.Command("podman", "run", "-d", "--name", name,
		"-p", fmt.Sprintf("127.0.0.1:%d:7987", port),
		"-v", shared.dir+":/app/models:ro",
		image, "serve", "--offline", "--log-format", "json", "--threads", "2",
		"--models-config", "/app/models/models.yaml",
		"--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank")
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	logs := func() string {
		out, _ := exec.Command("podman", "logs", name).CombinedOutput()
		return tail(string(out))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container log:\n%s", logs())
		}
		_ = exec.Command("podman", "rm", "-f", name).Run()
	})

	img := &serverProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), stderr: &bytes.Buffer{}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(img.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if state, _ := exec.Command("podman", "inspect", "--format", "{{.State.Status}}", name).Output(); strings.TrimSpace(string(state)) == "exited" {
			t.Fatalf("the container exited before it was ready")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container is not ready after 2 minutes (%v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if r := img.get(t, "/health", nil); r.StatusCode != http.StatusOK {
		t.Errorf("/health: %d", r.StatusCode)
	}
	var info map[string]any
	if r := img.get(t, "/info", &info); r.StatusCode != http.StatusOK {
		t.Fatalf("/info: %d", r.StatusCode)
	}
	// The image's binary loads a CPU variant from /app/lib rather than its
	// baseline kernels, and says which.
	if v, _ := info["cpu_variant"].(string); v == "" || v == "built-in" {
		t.Errorf("/info cpu_variant = %v: the image's lib/ variants did not load", info["cpu_variant"])
	}

	// Embeddings: the same numbers as the native binary, and the reference.
	m := shared.models["tiny-cls"]
	var fromImage, native api.OpenAIEmbeddingResponse
	body := map[string]any{"model": "tiny-cls", "input": texts}
	if r := img.post(t, "/v1/embeddings", body, &fromImage); r.StatusCode != http.StatusOK {
		t.Fatalf("/v1/embeddings: %d", r.StatusCode)
	}
	shared.srv.post(t, "/v1/embeddings", body, &native)
	for i, text := range texts {
		got := floats(t, fromImage.Data[i].Embedding)
		if diff := maxAbsDiff(t, got, widen(floats(t, native.Data[i].Embedding))); diff > 1e-4 {
			t.Errorf("embedding %d: image vs native binary differ by %.2e", i, diff)
		}
		if diff := maxAbsDiff(t, got, m.expectedEmbedding(m.ids(text), 0)); diff > tolerance {
			t.Errorf("embedding %d (%q): image vs reference differ by %.2e", i, text, diff)
		}
	}

	// Rerank: the same scores as the native binary.
	var rerankImage, rerankNative api.CohereRerankResponse
	rbody := map[string]any{"model": "tiny-rank", "query": rerankQuery, "documents": rerankDocs}
	if r := img.post(t, "/v1/rerank", rbody, &rerankImage); r.StatusCode != http.StatusOK {
		t.Fatalf("/v1/rerank: %d", r.StatusCode)
	}
	shared.srv.post(t, "/v1/rerank", rbody, &rerankNative)
	want := scores(rerankNative)
	for idx, score := range scores(rerankImage) {
		if d := score - want[idx]; d > 1e-4 || d < -1e-4 {
			t.Errorf("document %d: image %.6f, native %.6f", idx, score, want[idx])
		}
	}
	if len(rerankImage.Results) != len(rerankDocs) {
		t.Errorf("image ranked %d of %d documents", len(rerankImage.Results), len(rerankDocs))
	}
	if !strings.Contains(logs(), "cpu") {
		t.Errorf("the container's log names no CPU device")
	}
}
