package envconfig

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readsEnvironment are the standard library's ways to read the environment.
var readsEnvironment = map[string]map[string]bool{
	"os":                              {"Getenv": true, "LookupEnv": true, "Environ": true, "ExpandEnv": true},
	"net/http":                        {"ProxyFromEnvironment": true},
	"golang.org/x/net/http/httpproxy": {"FromEnvironment": true},
}

// No package but this one reads the environment (tests may, for their own
// knobs): a leaf that did would escape the flags, their defaults and the
// README's table.
func TestOnlyEnvconfigReadsTheEnvironment(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	here, _ := filepath.Abs(".")
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == here || path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		imported := map[string]string{} // local name → import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imported[name] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && readsEnvironment[imported[pkg.Name]][sel.Sel.Name] {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d reads the environment (%s.%s); add the variable to envconfig and pass its value in",
					rel, fset.Position(sel.Pos()).Line, pkg.Name, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("checked only %d files under %s", files, root)
	}
}

// The README's configuration table has a row for every setting, with its
// flag, its variable and its default, and names every other variable.
func TestREADMEListsEveryVariable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(string(data))
	for _, v := range Vars() {
		var row string
		for _, r := range rows {
			if strings.Contains(r, "`"+v.Env+"`") && (v.Flag == "" || strings.HasPrefix(r, "| `--"+v.Flag+"` |")) {
				row = r
			}
		}
		switch {
		case row == "":
			t.Errorf("the README's configuration table has no row for %s (--%s)", v.Env, v.Flag)
		case v.Default != "" && !strings.Contains(row, "`"+v.Default+"`"):
			t.Errorf("the README gives %s another default than %q: %s", v.Env, v.Default, row)
		}
	}
}

// tableRows are the lines of a Markdown document's tables, headers included:
// callers tell the rows they mean by their cells.
func tableRows(markdown string) []string {
	var rows []string
	for _, line := range strings.Split(markdown, "\n") {
		if strings.HasPrefix(line, "| ") {
			rows = append(rows, line)
		}
	}
	return rows
}

func TestHFToken(t *testing.T) {
	for _, c := range []struct{ token, old, want string }{
		{"", "", ""},
		{"hf_a", "hf_b", "hf_a"},
		{"", "hf_b", "hf_b"},
	} {
		t.Setenv("HF_TOKEN", c.token)
		t.Setenv("HUGGING_FACE_HUB_TOKEN", c.old)
		if got := HFToken(); got != c.want {
			t.Errorf("HF_TOKEN=%q HUGGING_FACE_HUB_TOKEN=%q: HFToken() = %q, want %q", c.token, c.old, got, c.want)
		}
	}
}

// Proxy reads the variables when it is called, and NO_PROXY hosts go
// direct.
func TestProxy(t *testing.T) {
	for _, v := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://hub.invalid/x", nil)
	for _, c := range []struct{ proxy, noProxy, want string }{
		{"", "", ""},
		{"http://proxy.invalid:3128", "", "http://proxy.invalid:3128"},
		{"http://proxy.invalid:3128", "localhost,hub.invalid", ""},
		{"http://proxy.invalid:3128", ".invalid", ""},
		{"http://proxy.invalid:3128", "example.com", "http://proxy.invalid:3128"},
	} {
		t.Setenv("HTTP_PROXY", c.proxy)
		t.Setenv("NO_PROXY", c.noProxy)
		u, err := Proxy()(req)
		got := ""
		if u != nil {
			got = u.String()
		}
		if err != nil || got != c.want {
			t.Errorf("HTTP_PROXY=%q NO_PROXY=%q: proxy %q, %v; want %q", c.proxy, c.noProxy, got, err, c.want)
		}
	}
}

// Tracing is on when either OTLP endpoint variable is set, unless
// OTEL_SDK_DISABLED is true, as the OpenTelemetry specification says.
func TestTracing(t *testing.T) {
	for _, c := range []struct {
		endpoint, traces, disabled string
		want                       bool
	}{
		{"", "", "", false},
		{"http://collector:4318", "", "", true},
		{"", "http://collector:4318/v1/traces", "", true},
		{"http://collector:4318", "", "true", false},
		{"http://collector:4318", "", "TRUE", false},
		{"http://collector:4318", "", "false", true},
	} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", c.endpoint)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.traces)
		t.Setenv("OTEL_SDK_DISABLED", c.disabled)
		if got := Tracing(); got != c.want {
			t.Errorf("%+v: Tracing() = %v, want %v", c, got, c.want)
		}
	}
}
