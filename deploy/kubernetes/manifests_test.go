package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rerank-api/rerank-api/envconfig"
)

// repoRoot is the repository, seen from this directory.
const repoRoot = "../.."

// overlay is one of the deployables and what it must ask of the cluster.
type overlay struct {
	// gpu is the extended resource the pod needs ("" for none).
	gpu string
	// device is the server's DEVICE there, so a pod without its GPU fails
	// instead of serving slowly on the CPU.
	device string
	// compose is the compose file whose image the overlay runs.
	compose string
}

var overlays = map[string]overlay{
	"cpu":    {device: "cpu", compose: "docker/docker-compose.cpu.yml"},
	"nvidia": {gpu: "nvidia.com/gpu", device: "cuda", compose: "docker/docker-compose.yml"},
	"amd":    {gpu: "amd.com/gpu", device: "rocm", compose: "docker/docker-compose.amd.yml"},
}

// serviceMonitor is the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1), which k8s.io/api does not have: only the
// fields these manifests use, so strict decoding fails on any other. Add
// a field here, as the operator's CRD spells it, before using it.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// manifests is an overlay's output, decoded into the API's types.
type manifests struct {
	deployment     *appsv1.Deployment
	service        *corev1.Service
	configMaps     map[string]*corev1.ConfigMap
	claims         map[string]*corev1.PersistentVolumeClaim
	pdb            *policyv1.PodDisruptionBudget
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	serviceMonitor *serviceMonitor
}

// facts are what the manifests are checked against, read once from the
// rest of the repository.
type facts struct {
	envVars  map[string]bool // every variable envconfig declares
	commands map[string]bool // the binary's subcommands
	adapter  map[string]bool // the pods metrics prometheus-adapter serves
	// status answers GET path, without a key, from a server whose default
	// models are loaded (ready) or still loading (serverStatus).
	status func(path string, ready bool, publicRoutes string) int
}

func loadFacts(t *testing.T) facts {
	t.Helper()
	f := facts{envVars: map[string]bool{}, commands: cliCommands(t), adapter: adapterMetrics(t), status: serverStatus}
	for _, v := range envconfig.Vars() {
		f.envVars[v.Env] = true
	}
	return f
}

// checker collects what is wrong with one overlay's output.
type checker struct {
	facts
	want     overlay
	problems []string
}

func (c *checker) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// check returns every problem found in objs, an overlay's output.
func check(f facts, want overlay, objs []object) []string {
	c := &checker{facts: f, want: want}
	m, ok := c.decode(objs)
	if !ok {
		return c.problems
	}
	spec := m.deployment.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		c.errorf("the pod has %d containers; these checks expect the server alone", len(spec.Containers))
		return c.problems
	}
	env := c.env(m, spec.Containers[0])
	c.selectors(m)
	c.security(spec)
	c.probes(m, env)
	c.models(m, env)
	c.sizing(spec, env)
	c.gpu(spec)
	c.images(spec)
	c.drain(spec, env)
	c.autoscaling(m)
	return c.problems
}

// decode decodes every object strictly into its API type: an unknown or
// misspelt field, a wrong type, or a kind this test does not know is a
// problem.
func (c *checker) decode(objs []object) (manifests, bool) {
	m := manifests{configMaps: map[string]*corev1.ConfigMap{}, claims: map[string]*corev1.PersistentVolumeClaim{}}
	seen := map[string]bool{}
	for _, obj := range objs {
		kind, name := kindName(obj)
		apiVersion, _ := obj["apiVersion"].(string)
		id := apiVersion + " " + kind + " " + name
		if seen[id] {
			c.errorf("%s appears twice", id)
		}
		seen[id] = true
		var into any
		switch apiVersion + " " + kind {
		case "apps/v1 Deployment":
			m.deployment = &appsv1.Deployment{}
			into = m.deployment
		case "v1 Service":
			m.service = &corev1.Service{}
			into = m.service
		case "v1 ConfigMap":
			m.configMaps[name] = &corev1.ConfigMap{}
			into = m.configMaps[name]
		case "v1 PersistentVolumeClaim":
			m.claims[name] = &corev1.PersistentVolumeClaim{}
			into = m.claims[name]
		case "policy/v1 PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			into = m.pdb
		case "autoscaling/v2 HorizontalPodAutoscaler":
			m.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			into = m.hpa
		case "monitoring.coreos.com/v1 ServiceMonitor":
			m.serviceMonitor = &serviceMonitor{}
			into = m.serviceMonitor
		default:
			c.errorf("%s: a kind this test does not decode; add it", id)
			continue
		}
		js, err := json.Marshal(obj)
		if err == nil {
			err = decodeJSONStrict(js, into)
		}
		if err != nil {
			c.errorf("%s: %v", id, err)
		}
		if name == "" {
			c.errorf("%s has no metadata.name", id)
		}
	}
	for what, missing := range map[string]bool{
		"Deployment": m.deployment == nil, "Service": m.service == nil, "PodDisruptionBudget": m.pdb == nil,
		"HorizontalPodAutoscaler": m.hpa == nil, "ServiceMonitor": m.serviceMonitor == nil,
	} {
		if missing {
			c.errorf("no %s", what)
		}
	}
	return m, len(c.problems) == 0
}

func TestOverlays(t *testing.T) {
	f := loadFacts(t)
	for name, want := range overlays {
		t.Run(name, func(t *testing.T) {
			objs, err := render(filepath.Join("overlays", name))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range check(f, want, objs) {
				t.Error(p)
			}
		})
	}
}

// TestChecksCatchBreakage breaks a rendered overlay in one place at a time
// and expects check to say so: the checks above guard what they claim to.
func TestChecksCatchBreakage(t *testing.T) {
	f := loadFacts(t)
	const container = "/spec/template/spec/containers/0"
	for _, tc := range []struct {
		overlay, kind, path string
		op                  string // "add" when empty
		value               any
		want                string
	}{
		{"cpu", "Deployment", container + "/livenessprobe", "", map[string]any{}, `unknown field "spec.template.spec.containers[0].livenessprobe"`},
		{"cpu", "Deployment", container + "/livenessProbe/httpGet/port", "", 8080, "liveness probe asks port 8080"},
		{"cpu", "Deployment", container + "/livenessProbe/httpGet/path", "", "/ready", "liveness probe asks /ready"},
		{"cpu", "Deployment", container + "/readinessProbe/httpGet/path", "", "/health", "readiness probe asks /health"},
		{"cpu", "Deployment", container + "/startupProbe/httpGet/path", "", "/healthz", "startup probe asks /healthz"},
		{"cpu", "Deployment", "/spec/template/spec/initContainers/0/args/1", "", "$(EMBEDING_MODEL_NAME)", "$(EMBEDING_MODEL_NAME), which its environment lacks"},
		{"cpu", "Deployment", container + "/securityContext/readOnlyRootFilesystem", "", false, "readOnlyRootFilesystem"},
		{"cpu", "Deployment", "/spec/template/spec/terminationGracePeriodSeconds", "", 30, "terminationGracePeriodSeconds"},
		{"cpu", "Deployment", container + "/image", "", "rerank-api:latest", "runs rerank-api:latest"},
		{"cpu", "ConfigMap", "/data/EMBEDDING_MODEL", "", "bge-m3", "EMBEDDING_MODEL is none of the variables envconfig declares"},
		{"cpu", "ConfigMap", "/data/THREADS", "", "16", "THREADS=16"},
		{"cpu", "ConfigMap", "/data/MAX_MEMORY", "", "4GiB", "MAX_MEMORY=4GiB"},
		{"cpu", "ConfigMap", "/data/RERANKER_MODELS_DIR", "", "/models", "mounts nothing at /models"},
		{"cpu", "PersistentVolumeClaim", "/spec/accessModes", "", []any{"ReadWriteOnce"}, "needs ReadWriteMany"},
		{"cpu", "Service", "/spec/selector", "", map[string]any{"app": "rerank"}, "the Service's selector"},
		{"cpu", "PodDisruptionBudget", "/spec/maxUnavailable", "", 2, "PDB maxUnavailable 2"},
		{"cpu", "HorizontalPodAutoscaler", "/spec/metrics/0/pods/metric/name", "", "te_queue_length", "te_queue_length, which prometheus-adapter's rules do not serve"},
		{"cpu", "ServiceMonitor", "/spec/endpoints/0/port", "", "metrics", `scrapes port "metrics"`},
		{"cpu", "ServiceMonitor", "/spec/endpoints/0/path", "", "/stats", "scrapes /stats"},
		{"cpu", "ConfigMap", "/data/PUBLIC_ROUTES", "", "/health,/metrics", "readiness probe asks /ready, which answers 401"},
		{"nvidia", "Deployment", container + "/resources/limits/nvidia.com~1gpu", "remove", nil, "limits nvidia.com/gpu"},
		{"nvidia", "Deployment", container + "/resources/limits/amd.com~1gpu", "", "1", "asks for amd.com/gpu"},
		{"nvidia", "ConfigMap", "/data/DEVICE", "", "auto", "DEVICE=auto"},
		{"amd", "Deployment", "/spec/template/spec/tolerations", "remove", nil, "no toleration"},
	} {
		t.Run(tc.overlay+tc.path, func(t *testing.T) {
			objs, err := render(filepath.Join("overlays", tc.overlay))
			if err != nil {
				t.Fatal(err)
			}
			op := patchOp{Op: tc.op, Path: tc.path}
			if op.Op == "" {
				op.Op = "add"
			}
			if op.Value, err = json.Marshal(tc.value); err != nil {
				t.Fatal(err)
			}
			patched := 0
			for _, obj := range objs {
				if kind, _ := kindName(obj); kind == tc.kind {
					if err := applyOp(obj, op); err != nil {
						t.Fatal(err)
					}
					patched++
				}
			}
			if patched != 1 {
				t.Fatalf("%d objects of kind %s", patched, tc.kind)
			}
			problems := check(f, overlays[tc.overlay], objs)
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", tc.want, problems)
		})
	}
}

// TestPerPodModelsVolume applies the README's patch for clusters without
// ReadWriteMany storage to every overlay: the result must pass the same
// checks.
func TestPerPodModelsVolume(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```yaml\n")
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed {
		t.Fatal("README.md has no yaml block")
	}
	var ops []patchOp
	if err := decodeStrict([]byte(block), &ops); err != nil {
		t.Fatalf("README.md's patch: %v", err)
	}
	f := loadFacts(t)
	for name, want := range overlays {
		objs, err := render(filepath.Join("overlays", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			if kind, _ := kindName(obj); kind == "Deployment" {
				for _, op := range ops {
					if err := applyOp(obj, op); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				vol := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["volumes"].([]any)[0]
				if _, ok := vol.(map[string]any)["ephemeral"]; !ok {
					t.Fatalf("%s: the patch left the models volume %v", name, vol)
				}
			}
		}
		for _, p := range check(f, want, objs) {
			t.Errorf("%s with a volume per pod: %s", name, p)
		}
	}
}
