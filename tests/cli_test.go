package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/api"
)

// cliResult is how a CLI run ended.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs bin/rerank-api with args. Exit codes other than 0 and 1 (a
// Go panic exits 2, a llama.cpp abort dies of SIGABRT) fail the test.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	bin, err := binaryPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := cliResult{}
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		res.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", args[0], err)
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	if res.code != 0 && res.code != 1 {
		t.Fatalf("rerank-api %s crashed (%v); its stderr:\n%s", args[0], cmd.ProcessState, tail(res.stderr))
	}
	return res
}

// Hostile arguments get a clear error and exit code 1, or an answer, from
// every command; never a crash. Invalid UTF-8 used to abort embed and
// rerank inside llama.cpp's tokenizer.
func TestCLIHostileArguments(t *testing.T) {
	catalog := []string{"--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--offline", "--threads", "2", "--log-format", "json"}
	embed := func(args ...string) []string { return append(append([]string{"embed"}, catalog...), args...) }
	rerank := func(args ...string) []string { return append(append([]string{"rerank"}, catalog...), args...) }

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	gguf, err := os.ReadFile(filepath.Join(shared.dir, "tiny-cls.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	notGGUF := write("notes.txt", []byte("not a model\n"))
	truncated := write("truncated.gguf", gguf[:200])
	garbage := write("garbage.gguf", append([]byte("GGUF\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 4096)...))
	emptyDir := filepath.Join(dir, "empty")
	if err := os.Mkdir(emptyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "bad-config")
	if err := os.Mkdir(badConfig, 0o755); err != nil {
		t.Fatal(err)
	}
	write("bad-config/config.json", []byte("{"))
	// Linux caps one argument at 128 KiB (MAX_ARG_STRLEN), so a megabyte
	// goes in as ten arguments of 100 KB.
	long := strings.Repeat("dog ", 25_000)
	megabyte := make([]string, 10)
	for i := range megabyte {
		megabyte[i] = long
	}

	cases := []struct {
		name     string
		args     []string
		wantCode int
		inStderr string // for code 1
	}{
		{"embed invalid UTF-8", embed("--model", "tiny-cls", "x \xf7\xbf\xbf\xbf y", "a \xff\xfe b", "\xed\xa0\x80", "hello \xe6\x97"), 0, ""},
		{"embed NUL and controls", embed("--model", "tiny-mean", "a\x01\x02\x7f b", "\u200b\ufeff"), 0, ""},
		{"embed an empty string", embed("--model", "tiny-cls", ""), 1, "empty string"},
		{"embed nothing", embed("--model", "tiny-cls"), 1, "give at least one text"},
		{"embed a megabyte", embed(append([]string{"--model", "tiny-cls"}, megabyte...)...), 0, ""},
		{"embed 100 KB without truncation", embed("--model", "tiny-cls", "--truncate=false", long), 1, "25002 tokens"},
		{"embed with a reranker", embed("--model", "tiny-rank", "hello"), 1, "rerank model"},
		{"embed with an unknown model", embed("--model", "no-such-model", "hello"), 1, "no-such-model"},
		{"embed with a missing file", embed("--model", "tiny-missing", "hello"), 1, "not-there.gguf"},
		{"rerank invalid UTF-8, WordPiece", rerank("--model", "tiny-rank", "--query", "q \xf7\xbf\xbf\xbf", "\xff\xfe", "dog"), 0, ""},
		{"rerank invalid UTF-8, SentencePiece", rerank("--model", "tiny-xlmr-rank", "--query", "\xf8\x88\x80\x80\x80", "\xed\xa0\x80", "dog"), 0, ""},
		{"rerank a megabyte", rerank(append([]string{"--model", "tiny-rank", "--query", "dog"}, megabyte...)...), 0, ""},
		{"rerank no documents", rerank("--model", "tiny-rank", "--query", "dog"), 1, "give at least one document"},
		{"rerank no query", rerank("--model", "tiny-rank", "dog"), 1, "query"},
		{"rerank an empty query", rerank("--model", "tiny-rank", "--query", " ", "dog"), 1, "query is empty"},
		{"rerank negative top-n", rerank("--model", "tiny-rank", "--query", "q", "--top-n", "-1", "dog"), 1, "top_n"},
		{"convert a nonexistent dir", []string{"convert", "--input", filepath.Join(dir, "nope"), "--output", filepath.Join(dir, "o.gguf")}, 1, "no config.json"},
		{"convert a file", []string{"convert", "--input", notGGUF, "--output", filepath.Join(dir, "o.gguf")}, 1, "is a file"},
		{"convert an empty dir", []string{"convert", "--input", emptyDir, "--output", filepath.Join(dir, "o.gguf")}, 1, "no config.json"},
		{"convert a broken config.json", []string{"convert", "--input", badConfig, "--output", filepath.Join(dir, "o.gguf")}, 1, "config.json"},
		{"convert without --output", []string{"convert", "--input", emptyDir}, 1, "output"},
		{"quantize a text file", []string{"quantize", notGGUF, filepath.Join(dir, "q.gguf"), "q8_0"}, 1, "could not quantize"},
		{"quantize a truncated GGUF", []string{"quantize", truncated, filepath.Join(dir, "q.gguf"), "q8_0"}, 1, "could not quantize"},
		{"quantize a GGUF header and garbage", []string{"quantize", garbage, filepath.Join(dir, "q.gguf"), "q8_0"}, 1, "could not quantize"},
		{"quantize a nonexistent file", []string{"quantize", filepath.Join(dir, "nope.gguf"), filepath.Join(dir, "q.gguf"), "q8_0"}, 1, "nope.gguf"},
		{"quantize into a nonexistent dir", []string{"quantize", filepath.Join(shared.dir, "tiny-cls.gguf"), filepath.Join(dir, "no", "q.gguf"), "q8_0"}, 1, "is not a directory"},
		{"quantize to an unknown type", []string{"quantize", filepath.Join(shared.dir, "tiny-cls.gguf"), filepath.Join(dir, "q.gguf"), "q9"}, 1, "unknown output type"},
		{"quantize with one argument", []string{"quantize", notGGUF}, 1, "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runCLI(t, c.args...)
			if res.code != c.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", res.code, c.wantCode, tail(res.stderr))
			}
			if c.wantCode == 1 && (!strings.Contains(res.stderr, "error: ") || !strings.Contains(res.stderr, c.inStderr)) {
				t.Errorf("stderr does not say %q:\n%s", c.inStderr, tail(res.stderr))
			}
			if c.wantCode == 0 && !json.Valid([]byte(res.stdout)) {
				t.Errorf("stdout is not JSON: %s", clip([]byte(res.stdout)))
			}
		})
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "q.gguf*")); len(entries) > 0 {
		t.Errorf("failed quantizations left %v behind", entries)
	}
}

// The CLI reads invalid UTF-8 as the HTTP API does (one U+FFFD per bad
// byte), so the same bytes embed to the same vector either way.
func TestCLIInvalidUTF8MatchesHTTP(t *testing.T) {
	text := "the \xff\xfe dog \xf7\xbf\xbf\xbf"
	res := runCLI(t, "embed", "--models-dir", shared.dir, "--models-config", filepath.Join(shared.dir, "models.yaml"),
		"--offline", "--threads", "2", "--model", "tiny-cls", text)
	var cli api.OpenAIEmbeddingResponse
	if err := json.Unmarshal([]byte(res.stdout), &cli); err != nil || len(cli.Data) != 1 {
		t.Fatalf("embed: exit %d, %v; stderr:\n%s", res.code, err, tail(res.stderr))
	}
	r := shared.srv.send(t, "POST", "/v1/embeddings", "application/json",
		mustJSON(map[string]any{"model": "tiny-cls", "input": rawPlaceholder(0)}, text))
	var served api.OpenAIEmbeddingResponse
	if err := json.Unmarshal(r.body, &served); err != nil || len(served.Data) != 1 {
		t.Fatalf("HTTP: status %d, %v", r.status, err)
	}
	fromCLI := floats(t, cli.Data[0].Embedding)
	want := make([]float64, len(fromCLI))
	for i, x := range fromCLI {
		want[i] = float64(x)
	}
	if diff := maxAbsDiff(t, floats(t, served.Data[0].Embedding), want); diff > 1e-5 || served.Usage != cli.Usage {
		t.Errorf("CLI and HTTP differ by %.2e; usage %+v and %+v", diff, cli.Usage, served.Usage)
	}
	if cli.Object != served.Object || cli.Model != served.Model || cli.Data[0].Object != served.Data[0].Object {
		t.Errorf("embed prints %s; the server answers object %q, model %q", clip([]byte(res.stdout)), served.Object, served.Model)
	}
}
