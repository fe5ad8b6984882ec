package kubernetes

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The renderer in kustomize_test.go must do what kustomize does for the
// features it accepts, and refuse the rest.

func TestApplyOp(t *testing.T) {
	doc := func() object {
		return object{"spec": map[string]any{
			"list":   []any{"a", "b"},
			"limits": map[string]any{"cpu": "1"},
		}}
	}
	for _, tc := range []struct {
		op, path, value string
		want            any // the value at spec after the op; nil when it must fail
	}{
		{"add", "/spec/limits/nvidia.com~1gpu", `"1"`, map[string]any{"list": []any{"a", "b"}, "limits": map[string]any{"cpu": "1", "nvidia.com/gpu": "1"}}},
		{"add", "/spec/limits/a~0b", `"1"`, map[string]any{"list": []any{"a", "b"}, "limits": map[string]any{"cpu": "1", "a~b": "1"}}},
		{"add", "/spec/list/-", `"c"`, map[string]any{"list": []any{"a", "b", "c"}, "limits": map[string]any{"cpu": "1"}}},
		{"add", "/spec/list/0", `"z"`, map[string]any{"list": []any{"z", "a", "b"}, "limits": map[string]any{"cpu": "1"}}},
		{"add", "/spec/list/2", `"c"`, map[string]any{"list": []any{"a", "b", "c"}, "limits": map[string]any{"cpu": "1"}}},
		{"add", "/spec/limits/cpu", `"2"`, map[string]any{"list": []any{"a", "b"}, "limits": map[string]any{"cpu": "2"}}},
		{"replace", "/spec/list/1", `"c"`, map[string]any{"list": []any{"a", "c"}, "limits": map[string]any{"cpu": "1"}}},
		{"remove", "/spec/list/0", ``, map[string]any{"list": []any{"b"}, "limits": map[string]any{"cpu": "1"}}},
		{"remove", "/spec/limits", ``, map[string]any{"list": []any{"a", "b"}}},
		{"test", "/spec/limits/cpu", `"1"`, map[string]any{"list": []any{"a", "b"}, "limits": map[string]any{"cpu": "1"}}},
		{"test", "/spec/limits/cpu", `"2"`, nil},
		{"replace", "/spec/limits/memory", `"1Gi"`, nil},
		{"remove", "/spec/list/2", ``, nil},
		{"add", "/spec/list/3", `"c"`, nil},
		{"add", "/spec/list/01", `"c"`, nil},
		{"add", "/spec/missing/x", `"c"`, nil},
		{"add", "/spec/limits/cpu/x", `"c"`, nil},
		{"add", "/spec/limits/memory", ``, nil},
		{"move", "/spec/limits/memory", ``, nil},
		{"add", "spec", `1`, nil},
	} {
		d := doc()
		err := applyOp(d, patchOp{Op: tc.op, Path: tc.path, Value: json.RawMessage(tc.value)})
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s %s %s: applied, want an error", tc.op, tc.path, tc.value)
		case tc.want != nil && err != nil:
			t.Errorf("%s %s %s: %v", tc.op, tc.path, tc.value, err)
		case tc.want != nil && !reflect.DeepEqual(d["spec"], tc.want):
			t.Errorf("%s %s %s: spec is %v, want %v", tc.op, tc.path, tc.value, d["spec"], tc.want)
		}
	}
}

func TestOverrideImages(t *testing.T) {
	for _, tc := range []struct {
		ref     string
		img     imageOverride
		want    string
		matches bool
	}{
		{"rerank-api", imageOverride{Name: "rerank-api", NewTag: "cuda"}, "rerank-api:cuda", true},
		{"rerank-api:cpu", imageOverride{Name: "rerank-api", NewName: "registry.example.com:5000/ml/rerank-api"}, "registry.example.com:5000/ml/rerank-api:cpu", true},
		{"registry.example.com:5000/rerank-api:cpu", imageOverride{Name: "registry.example.com:5000/rerank-api", NewTag: "rocm"}, "registry.example.com:5000/rerank-api:rocm", true},
		{"rerank-api:cpu", imageOverride{Name: "rerank-api", Digest: "sha256:abc"}, "rerank-api@sha256:abc", true},
		{"rerank-api@sha256:abc", imageOverride{Name: "rerank-api", NewTag: "cuda"}, "rerank-api:cuda", true},
		{"other:cpu", imageOverride{Name: "rerank-api", NewTag: "cuda"}, "other:cpu", false},
		{"registry.example.com:5000/rerank-api", imageOverride{Name: "rerank-api", NewTag: "cuda"}, "registry.example.com:5000/rerank-api", false},
	} {
		objs := []object{{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"initContainers": []any{map[string]any{"image": tc.ref}},
			"containers":     []any{map[string]any{"image": tc.ref}},
		}}}}}
		n := overrideImages(objs, tc.img)
		spec := objs[0]["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		for _, key := range []string{"initContainers", "containers"} {
			if got := spec[key].([]any)[0].(map[string]any)["image"]; got != tc.want {
				t.Errorf("%s with %+v: %s image %v, want %s", tc.ref, tc.img, key, got, tc.want)
			}
		}
		if want := map[bool]int{true: 2}[tc.matches]; n != want {
			t.Errorf("%s with %+v: %d containers changed, want %d", tc.ref, tc.img, n, want)
		}
	}
}

// TestRenderRefuses writes small kustomizations the renderer must refuse:
// features it does not implement, and mistakes kustomize would let pass
// or reject less clearly.
func TestRenderRefuses(t *testing.T) {
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: web}]\n"
	for name, tc := range map[string]struct{ kustomization, want string }{
		"namespace":         {"resources: [d.yaml]\nnamespace: prod\n", `unknown field "namespace"`},
		"generator":         {"resources: [d.yaml]\nconfigMapGenerator: [{name: c}]\n", `unknown field "configMapGenerator"`},
		"inline patch":      {"resources: [d.yaml]\npatches: [{patch: '[]', target: {kind: Deployment, name: web}}]\n", `unknown field "patches[0].patch"`},
		"duplicate key":     {"resources: [d.yaml]\nresources: [d.yaml]\n", "already set in map"},
		"patch misses":      {"resources: [d.yaml]\npatches: [{path: p.yaml, target: {kind: Deployment, name: api}}]\n", "matches no resource"},
		"image misses":      {"resources: [d.yaml]\nimages: [{name: api, newTag: v2}]\n", "matches no container"},
		"missing resource":  {"resources: [gone.yaml]\n", "gone.yaml"},
		"no kind":           {"apiVersion: kustomize.config.k8s.io/v1beta1\nresources: [d.yaml]\n", "not kustomize.config.k8s.io/v1beta1 Kustomization"},
		"strategic merge":   {"resources: [d.yaml]\npatches: [{path: smp.yaml, target: {kind: Deployment, name: web}}]\n", "not a list of JSON 6902 operations"},
		"unsupported op":    {"resources: [d.yaml]\npatches: [{path: move.yaml, target: {kind: Deployment, name: web}}]\n", `operation "move" is not supported`},
		"duplicate in yaml": {"resources: [dup.yaml]\n", "already set in map"},
		"file outside":      {"resources: [../d.yaml]\n", "kustomize refuses to load it"},
		"patch outside":     {"resources: [d.yaml]\npatches: [{path: ../p.yaml, target: {kind: Deployment, name: web}}]\n", "kustomize refuses to load it"},
	} {
		t.Run(name, func(t *testing.T) {
			// The kustomization in dir/k, every file in dir/k and in dir.
			parent := t.TempDir()
			dir := filepath.Join(parent, "k")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			k := tc.kustomization
			if !strings.HasPrefix(k, "apiVersion") {
				k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + k
			}
			for file, content := range map[string]string{
				"kustomization.yaml": k,
				"d.yaml":             deployment,
				"dup.yaml":           deployment + "metadata: {name: again}\n",
				"p.yaml":             "- {op: add, path: /spec/replicas, value: 2}\n",
				"smp.yaml":           "spec: {replicas: 2}\n",
				"move.yaml":          "- {op: move, path: /spec/t}\n",
			} {
				for _, d := range []string{dir, parent} {
					if err := os.WriteFile(filepath.Join(d, file), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			_, err := render(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRenderOverlay(t *testing.T) {
	// An overlay of a base: resources from a directory, a patch and an
	// image override, each applied once.
	dir := t.TempDir()
	files := map[string]string{
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [d.yaml]\n",
		"base/d.yaml":             "# a comment-only document first\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: web}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
		"o/kustomization.yaml":    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\nimages: [{name: web, newTag: v2}]\npatches: [{path: p.yaml, target: {kind: Deployment, name: web}}]\n",
		"o/p.yaml":                "- {op: add, path: /spec/replicas, value: 3}\n",
	}
	for file, content := range files {
		path := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := render(filepath.Join(dir, "o"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(objs)
	want := `[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"image":"web:v2","name":"web"}]}}}},{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}]`
	if string(got) != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
}
