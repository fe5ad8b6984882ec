package kubernetes

import (
	"slices"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rerank-api/rerank-api/envconfig"
)

// memoryHeadroom is what a pod needs beyond the models' booked memory
// (MAX_MEMORY): the Go heap, tokenizers, request and response bodies, and
// on a GPU the driver's and the math libraries' host allocations.
var memoryHeadroom = resource.MustParse("512Mi")

// gpuResources are every vendor's; an overlay asks for its own only.
var gpuResources = []corev1.ResourceName{"nvidia.com/gpu", "amd.com/gpu"}

// sizing: every container has CPU and memory requests equal to its limits
// (Guaranteed QoS: the last to be evicted, and whole cores under the
// static CPU manager); the server's THREADS is its CPU limit and its
// model budget an explicit amount under the memory limit, rather than
// defaults derived from what the cgroup leaves free at start; DEVICE is
// the overlay's.
func (c *checker) sizing(spec corev1.PodSpec, env map[string]string) {
	for _, ctr := range allContainers(spec) {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := ctr.Resources.Requests[r]
			lim, hasLim := ctr.Resources.Limits[r]
			if !hasReq || !hasLim || req.Cmp(lim) != 0 {
				c.errorf("container %s: %s request %s and limit %s: want both, equal", ctr.Name, r, req.String(), lim.String())
			}
		}
	}
	server := spec.Containers[0].Resources.Limits
	cpu := server[corev1.ResourceCPU]
	if threads := env[envconfig.Threads.Env]; cpu.MilliValue()%1000 != 0 || threads != cpu.String() {
		c.errorf("THREADS=%s with a CPU limit of %s: want whole cores, as many threads as cores", threads, cpu.String())
	}
	budget, ok := parseBudget(env[envconfig.MaxMemory.Env])
	memory := server[corev1.ResourceMemory]
	room := memory.DeepCopy()
	room.Sub(memoryHeadroom)
	if !ok || budget.Cmp(room) > 0 {
		c.errorf("MAX_MEMORY=%s with a memory limit of %s: want a size in KiB, MiB or GiB at least %s below the limit",
			env[envconfig.MaxMemory.Env], memory.String(), memoryHeadroom.String())
	}
	if got := env[envconfig.Device.Env]; got != c.want.device {
		c.errorf("DEVICE=%s: want %s, so that a pod without its accelerator fails instead of serving on the CPU", got, c.want.device)
	}
}

// parseBudget reads MAX_MEMORY in the binary units the manifests use
// (3GiB is the Quantity 3Gi); the server takes more forms, the manifests
// need no others.
func parseBudget(s string) (resource.Quantity, bool) {
	for _, unit := range []string{"KiB", "MiB", "GiB"} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			q, err := resource.ParseQuantity(n + strings.TrimSuffix(unit, "B"))
			return q, err == nil && q.Sign() > 0
		}
	}
	return resource.Quantity{}, false
}

// imageGIDVideo is the video group of the images' Debian and Ubuntu bases,
// which their user belongs to.
const imageGIDVideo = 44

// gpu: the server's container, and only it, asks for one GPU of the
// overlay's vendor, tolerates the taint GPU nodes carry, and on AMD can
// open the device nodes.
func (c *checker) gpu(spec corev1.PodSpec) {
	server := spec.Containers[0].Name
	for _, ctr := range allContainers(spec) {
		for _, r := range gpuResources {
			q, ok := ctr.Resources.Limits[r]
			switch {
			case ctr.Name == server && string(r) == c.want.gpu:
				if !ok || q.Value() != 1 {
					c.errorf("container %s: limits %s is %q, want 1", ctr.Name, r, q.String())
				}
			case ok:
				c.errorf("container %s asks for %s, which it does not use", ctr.Name, r)
			}
		}
	}
	if c.want.gpu == "" {
		return
	}
	tolerated := slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Key == c.want.gpu && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoSchedule
	})
	if !tolerated {
		c.errorf("no toleration of the %s taint GPU nodes commonly carry", c.want.gpu)
	}
	if c.want.gpu == "amd.com/gpu" && (spec.SecurityContext == nil || !slices.Contains(spec.SecurityContext.SupplementalGroups, imageGIDVideo)) {
		c.errorf("the non-root user needs the device nodes' groups: supplementalGroups lacks video (%d)", imageGIDVideo)
	}
}

// drain: the kubelet waits for the server's whole drain before SIGKILL,
// and something keeps serving while the endpoints update.
func (c *checker) drain(spec corev1.PodSpec, env map[string]string) {
	var drain time.Duration
	for _, s := range []envconfig.Setting[string]{envconfig.ShutdownDelay, envconfig.ShutdownTimeout} {
		v := cmpOr(env[s.Env], s.Default)
		d, err := time.ParseDuration(v)
		if err != nil {
			c.errorf("%s=%q: %v", s.Env, v, err)
		}
		drain += d
	}
	lc := spec.Containers[0].Lifecycle
	if lc != nil && lc.PreStop != nil && lc.PreStop.Sleep != nil {
		drain += time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
	}
	grace := 30 * time.Second // the API's default
	if spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	}
	if grace < drain+5*time.Second {
		c.errorf("terminationGracePeriodSeconds is %v, the drain takes %v, and the models need a few seconds to unload", grace, drain)
	}
	if d, _ := time.ParseDuration(cmpOr(env[envconfig.ShutdownDelay.Env], envconfig.ShutdownDelay.Default)); d <= 0 && (lc == nil || lc.PreStop == nil) {
		c.errorf("neither SHUTDOWN_DELAY nor a preStop hook: requests routed before the endpoints update would be refused")
	}
}

// autoscaling: the HPA reads a pods metric the adapter serves, and its
// minimum leaves room for the PDB to let one pod go while one serves.
func (c *checker) autoscaling(m manifests) {
	if len(m.hpa.Spec.Metrics) == 0 {
		c.errorf("the HPA has no metric")
	}
	for _, ms := range m.hpa.Spec.Metrics {
		if ms.Type != autoscalingv2.PodsMetricSourceType || ms.Pods == nil {
			c.errorf("HPA metric of type %s: want Pods (te_queue_size through prometheus-adapter)", ms.Type)
			continue
		}
		if !c.adapter[ms.Pods.Metric.Name] {
			c.errorf("the HPA reads %s, which prometheus-adapter's rules do not serve (%v)", ms.Pods.Metric.Name, c.adapter)
		}
		if tgt := ms.Pods.Target; tgt.Type != autoscalingv2.AverageValueMetricType || tgt.AverageValue == nil || tgt.AverageValue.Sign() <= 0 {
			c.errorf("HPA target %+v: want a positive AverageValue (sequences queued per pod)", tgt)
		}
	}
	minReplicas := int32(1)
	if m.hpa.Spec.MinReplicas != nil {
		minReplicas = *m.hpa.Spec.MinReplicas
	}
	if minReplicas < 2 {
		c.errorf("minReplicas %d: a single replica leaves nothing serving while the PDB lets it go", minReplicas)
	}
	if r := m.deployment.Spec.Replicas; r == nil || *r < minReplicas || *r > m.hpa.Spec.MaxReplicas {
		c.errorf("the Deployment's replicas %v are outside the HPA's %d..%d", r, minReplicas, m.hpa.Spec.MaxReplicas)
	}
	pdb := m.pdb.Spec
	budget, what := pdb.MaxUnavailable, "maxUnavailable"
	if budget == nil {
		budget, what = pdb.MinAvailable, "minAvailable"
	}
	if budget == nil {
		c.errorf("the PDB sets neither maxUnavailable nor minAvailable")
		return
	}
	if v, err := intstr.GetScaledValueFromIntOrPercent(budget, int(minReplicas), true); err != nil || v < 1 || v >= int(minReplicas) {
		c.errorf("PDB %s %s of %d replicas: want at least one pod to go and one to stay", what, budget.String(), minReplicas)
	}
}
