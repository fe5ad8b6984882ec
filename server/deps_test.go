package server

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// server, and backend beneath it, build without cgo: only cmd/ links
// llama.cpp in (through backend/llamarun), so server's tests do not compile
// it. go list reads the imports without building anything.
func TestServerDependsOnNoCgoRuntime(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/rerank-api/rerank-api/"
	var stderr bytes.Buffer
	list := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", module+"server")
	list.Stderr = &stderr
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == module+"backend/llama" || pkg == module+"backend/llamarun" || strings.HasPrefix(pkg, "github.com/ollama/ollama/") {
			t.Errorf("server depends on %s, which compiles llama.cpp; backend reaches it only through backend.Runtime", pkg)
		}
	}
}
