package kubernetes

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/rerank-api/rerank-api/envconfig"
)

// The checks of one overlay's output, each a method of checker (see
// check in manifests_test.go for the order they run in).

// env is the environment a container starts with: its envFrom ConfigMaps,
// then its env (literal values; a secretKeyRef counts as ""). Every name
// must be one the server reads.
func (c *checker) env(m manifests, ctr corev1.Container) map[string]string {
	env := map[string]string{}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef == nil {
			c.errorf("container %s: envFrom other than a ConfigMap", ctr.Name)
			continue
		}
		cm, ok := m.configMaps[from.ConfigMapRef.Name]
		if !ok {
			c.errorf("container %s: envFrom names ConfigMap %s, which the overlay does not create", ctr.Name, from.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && (ref.SecretKeyRef.Optional == nil || !*ref.SecretKeyRef.Optional) {
			c.errorf("container %s: %s comes from Secret %s, which the overlay does not create: make it optional", ctr.Name, e.Name, ref.SecretKeyRef.Name)
		}
	}
	for name := range env {
		if !c.envVars[name] {
			c.errorf("container %s: %s is none of the variables envconfig declares", ctr.Name, name)
		}
	}
	return env
}

// selectors: the Service, PDB, HPA, spread constraints and ServiceMonitor
// all find the pods (or the Service) they are about.
func (c *checker) selectors(m manifests) {
	pods := labels.Set(m.deployment.Spec.Template.Labels)
	matches := func(ls *metav1.LabelSelector, set labels.Set) bool {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		return err == nil && !sel.Empty() && sel.Matches(set)
	}
	if !matches(m.deployment.Spec.Selector, pods) {
		c.errorf("the Deployment's selector %v does not match its own pods %v", m.deployment.Spec.Selector, pods)
	}
	if sel := m.service.Spec.Selector; len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(pods) {
		c.errorf("the Service's selector %v does not match the pods %v", sel, pods)
	}
	if !matches(m.pdb.Spec.Selector, pods) {
		c.errorf("the PodDisruptionBudget's selector %v does not match the pods %v", m.pdb.Spec.Selector, pods)
	}
	spread := m.deployment.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) == 0 {
		c.errorf("no topology spread constraints: replicas may all land on one node")
	}
	for _, tsc := range spread {
		if !matches(tsc.LabelSelector, pods) {
			c.errorf("the %s spread constraint counts pods %v, not these %v", tsc.TopologyKey, tsc.LabelSelector, pods)
		}
	}
	if !matches(&m.serviceMonitor.Spec.Selector, m.service.Labels) {
		c.errorf("the ServiceMonitor's selector %v does not match the Service's labels %v", m.serviceMonitor.Spec.Selector, m.service.Labels)
	}
	if ref := m.hpa.Spec.ScaleTargetRef; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != m.deployment.Name {
		c.errorf("the HPA scales %s %s %s, not the Deployment %s", ref.APIVersion, ref.Kind, ref.Name, m.deployment.Name)
	}
}

func allContainers(spec corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

// security: non-root with a numeric id the kubelet can check, no
// privilege escalation, no capabilities, a read-only root with a writable
// /tmp, for every container.
func (c *checker) security(spec corev1.PodSpec) {
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		c.errorf("the pod must set runAsNonRoot and a non-zero runAsUser (the image's USER is a name the kubelet cannot check)")
	} else if psc.FSGroup == nil {
		c.errorf("no fsGroup: the models volume may not be writable by the non-root user")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		c.errorf("the pod mounts a service account token it never uses")
	}
	for _, ctr := range allContainers(spec) {
		sc := ctr.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			c.errorf("container %s: needs allowPrivilegeEscalation false, readOnlyRootFilesystem true and capabilities drop ALL", ctr.Name)
		}
		if !slices.ContainsFunc(ctr.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == "/tmp" }) {
			c.errorf("container %s: no writable /tmp under a read-only root", ctr.Name)
		}
	}
}

// containerPort resolves a probe's or Service's port (a name or a number)
// to one of the container's ports.
func containerPort(ctr corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range ctr.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// probes: each probe reaches the port the server listens on (PORT) and a
// route that answers as the probe needs, without an API key: liveness and
// startup 200 while the models load (else the kubelet restarts pods that
// are loading), readiness 503 until they are loaded. The Service reaches
// the same port, and the ServiceMonitor scrapes a Service port and a route
// that serves.
func (c *checker) probes(m manifests, env map[string]string) {
	ctr := m.deployment.Spec.Template.Spec.Containers[0]
	public, set := env[envconfig.PublicRoutes.Env]
	if !set {
		public = envconfig.PublicRoutes.Default
	}
	listen, err := strconv.Atoi(cmpOr(env[envconfig.Port.Env], strconv.Itoa(envconfig.Port.Default)))
	if err != nil {
		c.errorf("PORT=%q: %v", env[envconfig.Port.Env], err)
		return
	}
	for _, p := range []struct {
		what             string
		probe            *corev1.Probe
		loading, serving int
	}{
		{"startup", ctr.StartupProbe, http.StatusOK, http.StatusOK},
		{"liveness", ctr.LivenessProbe, http.StatusOK, http.StatusOK},
		{"readiness", ctr.ReadinessProbe, http.StatusServiceUnavailable, http.StatusOK},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			c.errorf("no HTTP %s probe", p.what)
			continue
		}
		get := p.probe.HTTPGet
		if port, ok := containerPort(ctr, get.Port); !ok || int(port) != listen {
			c.errorf("the %s probe asks port %s, not the server's %d", p.what, get.Port.String(), listen)
		}
		if loading, serving := c.status(get.Path, false, public), c.status(get.Path, true, public); loading != p.loading || serving != p.serving {
			c.errorf("the %s probe asks %s, which answers %d while the models load and %d once they serve; it needs %d and %d",
				p.what, get.Path, loading, serving, p.loading, p.serving)
		}
	}
	ports := map[string]bool{}
	for _, sp := range m.service.Spec.Ports {
		ports[sp.Name] = true
		if port, ok := containerPort(ctr, sp.TargetPort); !ok || int(port) != listen {
			c.errorf("Service port %s targets %s, not the server's %d", sp.Name, sp.TargetPort.String(), listen)
		}
	}
	if len(ports) == 0 {
		c.errorf("the Service has no port")
	}
	if len(m.serviceMonitor.Spec.Endpoints) == 0 {
		c.errorf("the ServiceMonitor has no endpoint")
	}
	for _, ep := range m.serviceMonitor.Spec.Endpoints {
		if !ports[ep.Port] {
			c.errorf("the ServiceMonitor scrapes port %q, which the Service does not name", ep.Port)
		}
		if status := c.status(ep.Path, true, public); status != http.StatusOK {
			c.errorf("the ServiceMonitor scrapes %s, which answers %d", ep.Path, status)
		}
		interval, err1 := time.ParseDuration(ep.Interval)
		timeout, err2 := time.ParseDuration(ep.ScrapeTimeout)
		if err1 != nil || err2 != nil || timeout > interval {
			c.errorf("scrape interval %q, timeout %q: want durations, the timeout no longer than the interval", ep.Interval, ep.ScrapeTimeout)
		}
	}
}

// varRef is a $(NAME) reference in a container's args, which the kubelet
// expands from the container's environment, and passes on as it is when
// the name is not there.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// models: the init containers pull exactly the models the server
// preloads, into the directory it reads them from, on a volume every
// container mounts there; a volume the replicas share can be written by
// all of them.
func (c *checker) models(m manifests, env map[string]string) {
	spec := m.deployment.Spec.Template.Spec
	dir := env[envconfig.ModelsDir.Env]
	if !filepath.IsAbs(dir) {
		c.errorf("%s=%q: want the absolute path of the models volume", envconfig.ModelsDir.Env, dir)
		return
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var pulled []string
	for _, ctr := range allContainers(spec) {
		cenv := c.env(m, ctr)
		if cenv[envconfig.ModelsDir.Env] != dir {
			c.errorf("container %s: %s=%q, the server's is %q", ctr.Name, envconfig.ModelsDir.Env, cenv[envconfig.ModelsDir.Env], dir)
		}
		if len(ctr.Command) > 0 || len(ctr.Args) == 0 || !c.commands[ctr.Args[0]] {
			c.errorf("container %s: runs %v %v, not the image's entrypoint with one of its commands %v", ctr.Name, ctr.Command, ctr.Args, c.commands)
			continue
		}
		for _, arg := range ctr.Args {
			for _, ref := range varRef.FindAllStringSubmatch(arg, -1) {
				if _, ok := cenv[ref[1]]; !ok {
					c.errorf("container %s: argument %q names $(%s), which its environment lacks: the kubelet would pass it on as it is", ctr.Name, arg, ref[1])
				}
			}
		}
		if ctr.Args[0] == "pull" {
			if ref := varRef.FindStringSubmatch(strings.Join(ctr.Args[1:], " ")); len(ctr.Args) == 2 && ref != nil && ref[0] == ctr.Args[1] {
				pulled = append(pulled, ref[1])
			} else {
				c.errorf("container %s: pull %v: want one model, named by the server's variable", ctr.Name, ctr.Args[1:])
			}
		}
		mounted := false
		for _, vm := range ctr.VolumeMounts {
			v, ok := volumes[vm.Name]
			if !ok {
				c.errorf("container %s mounts volume %s, which the pod lacks", ctr.Name, vm.Name)
			}
			if vm.MountPath == dir && ok {
				mounted = true
				if vm.ReadOnly {
					c.errorf("container %s mounts the models read-only: pulls write there", ctr.Name)
				}
				c.modelsVolume(m, v)
			}
		}
		if !mounted {
			c.errorf("container %s mounts nothing at %s: pulled models would land in the read-only root", ctr.Name, dir)
		}
	}
	want := []string{envconfig.EmbeddingModel.Env, envconfig.RerankerModel.Env}
	slices.Sort(pulled)
	slices.Sort(want)
	if !slices.Equal(pulled, want) {
		c.errorf("the init containers pull %v, the server preloads %v", pulled, want)
	}
}

func (c *checker) modelsVolume(m manifests, v corev1.Volume) {
	switch {
	case v.PersistentVolumeClaim != nil:
		pvc, ok := m.claims[v.PersistentVolumeClaim.ClaimName]
		if !ok {
			c.errorf("volume %s claims %s, which the overlay does not create", v.Name, v.PersistentVolumeClaim.ClaimName)
			return
		}
		if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			c.errorf("claim %s is shared by every replica and written by their pulls: it needs ReadWriteMany, has %v", pvc.Name, pvc.Spec.AccessModes)
		}
		if pvc.Spec.Resources.Requests.Storage().Cmp(resource.MustParse("10Gi")) < 0 {
			c.errorf("claim %s asks %s: the default models with their checkpoints take about 5 GB", pvc.Name, pvc.Spec.Resources.Requests.Storage())
		}
	case v.Ephemeral != nil, v.EmptyDir != nil:
		// One per pod: each pod pulls its own copy.
	default:
		c.errorf("models volume %s is neither a claim nor a per-pod volume", v.Name)
	}
}

// cliCommands lists the subcommands the binary defines, from the
// urfave/cli Name fields of cmd/rerank-api.
func cliCommands(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot, "cmd/rerank-api/*.go"))
	re := regexp.MustCompile(`&cli\.Command\{\s*Name:\s*"([a-z-]+)"`)
	out := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			out[m[1]] = true
		}
	}
	if !out["serve"] || !out["pull"] {
		t.Fatalf("found commands %v in cmd/rerank-api, not serve and pull: has the CLI moved?", out)
	}
	return out
}

// images: every container runs the image the vendor's compose file builds.
func (c *checker) images(spec corev1.PodSpec) {
	src, err := os.ReadFile(filepath.Join(repoRoot, c.want.compose))
	if err != nil {
		c.errorf("%v", err)
		return
	}
	var compose struct {
		Services map[string]struct {
			Image string `json:"image"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(src, &compose); err != nil || compose.Services["rerank-api"].Image == "" {
		c.errorf("%s names no image for rerank-api (%v)", c.want.compose, err)
		return
	}
	image := compose.Services["rerank-api"].Image
	for _, ctr := range allContainers(spec) {
		if ctr.Image != image {
			c.errorf("container %s runs %s, %s builds %s", ctr.Name, ctr.Image, c.want.compose, image)
		}
	}
}
