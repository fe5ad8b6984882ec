package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// This file renders an overlay as `kubectl apply -k` does, for the part of
// kustomize these manifests use: resources (files and directories), JSON
// 6902 patches aimed at one object, and image overrides. A
// kustomization.yaml that asks for anything else (generators, strategic
// merge patches, namespace, name prefixes, label transformers) fails to
// decode here rather than being rendered differently from kubectl: extend
// this renderer, or the test, before using it.

// object is one Kubernetes manifest as decoded YAML.
type object = map[string]any

type kustomization struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Resources  []string        `json:"resources"`
	Images     []imageOverride `json:"images,omitempty"`
	Patches    []patchRef      `json:"patches,omitempty"`
}

// imageOverride is kustomize's images entry: containers whose image is
// Name (any tag) get NewName, NewTag or Digest instead.
type imageOverride struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// patchRef is a patches entry: a file of JSON 6902 operations and the
// object they apply to.
type patchRef struct {
	Path   string `json:"path"`
	Target struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"target"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

// decodeStrict decodes YAML into v as the API server's strict field
// validation does: a field v lacks, a field given twice, or a field whose
// case differs from v's is an error. (encoding/json alone matches names
// case-insensitively and keeps the last of duplicates.)
func decodeStrict(src []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(src)
	if err != nil {
		return err
	}
	return decodeJSONStrict(js, v)
}

func decodeJSONStrict(js []byte, v any) error {
	strict, err := k8sjson.UnmarshalStrict(js, v, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// render returns the objects the kustomization in dir produces, in order.
func render(dir string) ([]object, error) {
	src, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k kustomization
	if err := decodeStrict(src, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s/kustomization.yaml is %s %s, not kustomize.config.k8s.io/v1beta1 Kustomization", dir, k.APIVersion, k.Kind)
	}
	var objs []object
	for _, res := range k.Resources {
		path := filepath.Join(dir, res)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %s: %w", dir, res, err)
		}
		var more []object
		if fi.IsDir() {
			more, err = render(path)
		} else if err = inside(dir, res); err == nil {
			more, err = readObjects(path)
		}
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
	}
	for _, p := range k.Patches {
		if err := applyPatchFile(objs, dir, p); err != nil {
			return nil, fmt.Errorf("%s: patch %s: %w", dir, p.Path, err)
		}
	}
	for _, img := range k.Images {
		if n := overrideImages(objs, img); n == 0 {
			return nil, fmt.Errorf("%s: images entry %q matches no container", dir, img.Name)
		}
	}
	return objs, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// readObjects reads every YAML document of a file.
func readObjects(path string) ([]object, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []object
	for _, doc := range docSeparator.Split(string(src), -1) {
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if string(js) == "null" {
			continue // an empty document: comments only
		}
		var obj object
		if err := json.Unmarshal(js, &obj); err != nil {
			return nil, fmt.Errorf("%s: not a YAML mapping: %w", path, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

func kindName(obj object) (kind, name string) {
	kind, _ = obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ = meta["name"].(string)
	return kind, name
}

// inside refuses a file outside the kustomization's directory, as
// kustomize's default load restrictor does (a directory of another
// kustomization, such as ../../base, is allowed).
func inside(dir, file string) error {
	if rel, err := filepath.Rel(dir, filepath.Join(dir, file)); err != nil || !filepath.IsLocal(rel) {
		return fmt.Errorf("%s is outside %s: kustomize refuses to load it", file, dir)
	}
	return nil
}

func applyPatchFile(objs []object, dir string, p patchRef) error {
	if err := inside(dir, p.Path); err != nil {
		return err
	}
	src, err := os.ReadFile(filepath.Join(dir, p.Path))
	if err != nil {
		return err
	}
	var ops []patchOp
	if err := decodeStrict(src, &ops); err != nil {
		return fmt.Errorf("not a list of JSON 6902 operations: %w", err)
	}
	matched := 0
	for _, obj := range objs {
		if kind, name := kindName(obj); kind != p.Target.Kind || name != p.Target.Name {
			continue
		}
		matched++
		for _, op := range ops {
			if err := applyOp(obj, op); err != nil {
				return fmt.Errorf("%s %s: %w", op.Op, op.Path, err)
			}
		}
	}
	if matched == 0 {
		return fmt.Errorf("target %s/%s matches no resource", p.Target.Kind, p.Target.Name)
	}
	return nil
}

// applyOp applies one RFC 6902 operation; add, replace, remove and test
// are the ones these manifests need.
func applyOp(doc object, op patchOp) error {
	if !strings.HasPrefix(op.Path, "/") {
		return errors.New("the path must start with /")
	}
	var tokens []string
	for _, t := range strings.Split(op.Path[1:], "/") {
		tokens = append(tokens, strings.NewReplacer("~1", "/", "~0", "~").Replace(t))
	}
	var value any
	switch op.Op {
	case "add", "replace", "test":
		if len(op.Value) == 0 {
			return errors.New("the operation needs a value")
		}
		if err := json.Unmarshal(op.Value, &value); err != nil {
			return err
		}
	case "remove":
	default:
		return fmt.Errorf("operation %q is not supported by this renderer", op.Op)
	}
	_, err := patchAt(doc, tokens, op.Op, value)
	return err
}

// patchAt applies the operation at tokens below node and returns the node
// to store in its parent (a slice may have grown or shrunk).
func patchAt(node any, tokens []string, op string, value any) (any, error) {
	key, last := tokens[0], len(tokens) == 1
	switch n := node.(type) {
	case map[string]any:
		old, exists := n[key]
		if !last {
			if !exists {
				return nil, fmt.Errorf("no member %q", key)
			}
			child, err := patchAt(old, tokens[1:], op, value)
			n[key] = child
			return n, err
		}
		if !exists && op != "add" {
			return nil, fmt.Errorf("no member %q to %s", key, op)
		}
		switch op {
		case "add", "replace":
			n[key] = value
		case "remove":
			delete(n, key)
		case "test":
			if !reflect.DeepEqual(old, value) {
				return nil, fmt.Errorf("member %q is %v, not %v", key, old, value)
			}
		}
		return n, nil
	case []any:
		if last && op == "add" {
			i := len(n)
			if key != "-" {
				var err error
				if i, err = index(key, len(n)+1); err != nil {
					return nil, err
				}
			}
			return slices.Insert(n, i, value), nil
		}
		i, err := index(key, len(n))
		if err != nil {
			return nil, err
		}
		if !last {
			n[i], err = patchAt(n[i], tokens[1:], op, value)
			return n, err
		}
		switch op {
		case "replace":
			n[i] = value
		case "remove":
			return slices.Delete(n, i, i+1), nil
		case "test":
			if !reflect.DeepEqual(n[i], value) {
				return nil, fmt.Errorf("element %d is %v, not %v", i, n[i], value)
			}
		}
		return n, nil
	default:
		return nil, fmt.Errorf("%q is below a %T, which has no members", key, node)
	}
}

func index(token string, n int) (int, error) {
	i, err := strconv.Atoi(token)
	if err != nil || i < 0 || i >= n || strconv.Itoa(i) != token {
		return 0, fmt.Errorf("%q is not an index below %d", token, n)
	}
	return i, nil
}

// overrideImages applies one images entry to every container and init
// container of every object, and says how many it changed.
func overrideImages(objs []object, img imageOverride) int {
	changed := 0
	var walk func(any)
	walk = func(node any) {
		switch n := node.(type) {
		case map[string]any:
			for key, v := range n {
				if key == "containers" || key == "initContainers" {
					list, _ := v.([]any)
					for _, c := range list {
						if c, ok := c.(map[string]any); ok {
							if ref, ok := c["image"].(string); ok {
								if newRef, ok := img.apply(ref); ok {
									c["image"] = newRef
									changed++
								}
							}
						}
					}
				}
				walk(v)
			}
		case []any:
			for _, v := range n {
				walk(v)
			}
		}
	}
	for _, obj := range objs {
		walk(obj)
	}
	return changed
}

// apply rewrites ref when its name is img.Name.
func (img imageOverride) apply(ref string) (string, bool) {
	name, tag, digest := splitImage(ref)
	if name != img.Name {
		return ref, false
	}
	if img.NewName != "" {
		name = img.NewName
	}
	if img.NewTag != "" {
		tag, digest = img.NewTag, ""
	}
	if img.Digest != "" {
		tag, digest = "", img.Digest
	}
	var b bytes.Buffer
	b.WriteString(name)
	if tag != "" {
		b.WriteString(":" + tag)
	}
	if digest != "" {
		b.WriteString("@" + digest)
	}
	return b.String(), true
}

// splitImage splits registry/name:tag@digest; a colon before the last
// slash is a registry's port, not a tag.
func splitImage(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}
