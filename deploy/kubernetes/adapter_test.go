package kubernetes

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/metrics"
	"github.com/rerank-api/rerank-api/server"
)

// adapterConfig is prometheus-adapter's configuration file
// (pkg/config.MetricsDiscoveryConfig), with the fields these rules use:
// strict decoding fails on any other, and on a misspelt one the adapter
// would silently ignore.
type adapterConfig struct {
	Rules []adapterRule `json:"rules"`
}

type adapterRule struct {
	SeriesQuery string `json:"seriesQuery"`
	Resources   struct {
		Overrides map[string]struct {
			Group    string `json:"group,omitempty"`
			Resource string `json:"resource"`
		} `json:"overrides"`
	} `json:"resources"`
	Name struct {
		Matches string `json:"matches"`
		As      string `json:"as"`
	} `json:"name"`
	MetricsQuery string `json:"metricsQuery"`
}

const adapterRules = "prometheus-adapter/rules.yaml"

// seriesName is the metric a series selector names before its braces.
var seriesName = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// loadAdapterRules decodes the rules and returns, per rule, the Prometheus
// series it reads and the pods metric it serves.
func loadAdapterRules(t *testing.T) (series, served []string) {
	t.Helper()
	src, err := os.ReadFile(adapterRules)
	if err != nil {
		t.Fatal(err)
	}
	var cfg adapterConfig
	if err := decodeStrict(src, &cfg); err != nil {
		t.Fatalf("%s: %v", adapterRules, err)
	}
	if len(cfg.Rules) == 0 {
		t.Fatalf("%s has no rules", adapterRules)
	}
	for i, r := range cfg.Rules {
		m := seriesName.FindStringSubmatch(r.SeriesQuery)
		if m == nil {
			t.Fatalf("rule %d: seriesQuery %q does not start with a metric name", i, r.SeriesQuery)
		}
		// A pods metric needs the series' pod and namespace labels
		// mapped to those resources.
		for _, label := range []string{"namespace", "pod"} {
			if o, ok := r.Resources.Overrides[label]; !ok || o.Resource != label || o.Group != "" {
				t.Errorf("rule %d: label %s is not mapped to the %s resource", i, label, label)
			}
			if !strings.Contains(r.SeriesQuery, label+`!=""`) {
				t.Errorf("rule %d: seriesQuery %q does not require a %s label", i, r.SeriesQuery, label)
			}
		}
		// The adapter matches the series name and expands "as" with its
		// captures (an empty pattern matches everything, an empty "as"
		// keeps the name).
		re, err := regexp.Compile(cmpOr(r.Name.Matches, ".*"))
		if err != nil || !re.MatchString(m[1]) {
			t.Fatalf("rule %d: name.matches %q does not match %s (%v)", i, r.Name.Matches, m[1], err)
		}
		name := string(re.ExpandString(nil, cmpOr(r.Name.As, "$0"), m[1], re.FindStringSubmatchIndex(m[1])))
		// metricsQuery is a Go template with << >> delimiters over these.
		tmpl, err := template.New("q").Delims("<<", ">>").Option("missingkey=error").Parse(r.MetricsQuery)
		var q strings.Builder
		if err == nil {
			err = tmpl.Execute(&q, map[string]string{"Series": m[1], "LabelMatchers": `namespace="ns",pod=~"p"`, "GroupBy": "pod"})
		}
		if err != nil || !strings.Contains(q.String(), m[1]+"{") || !strings.Contains(q.String(), "by (pod)") {
			t.Errorf("rule %d: metricsQuery %q gives %q (%v): want the series, its matchers and the grouping", i, r.MetricsQuery, q.String(), err)
		}
		series, served = append(series, m[1]), append(served, name)
	}
	return series, served
}

// adapterMetrics are the pods metrics the adapter's rules serve.
func adapterMetrics(t *testing.T) map[string]bool {
	t.Helper()
	_, served := loadAdapterRules(t)
	out := map[string]bool{}
	for _, name := range served {
		out[name] = true
	}
	return out
}

// queueState stands in for the engine at scrape time: one model loaded,
// three sequences waiting.
type queueState struct{}

func (queueState) QueuedSequences() map[string]int { return map[string]int{"bge-m3": 3} }
func (queueState) MemoryBooked() (used, budgets map[string]uint64) {
	return map[string]uint64{"RAM": 1 << 30}, map[string]uint64{"RAM": 3 << 30}
}

// TestAdapterReadsServedGauges scrapes the server's GET /metrics, as the
// ServiceMonitor does, and expects every series the adapter reads there, as a gauge (the rule averages it
// over time, which means nothing for a counter) with the value the engine
// reported.
func TestAdapterReadsServedGauges(t *testing.T) {
	series, _ := loadAdapterRules(t)
	m := metrics.New()
	m.Watch(queueState{})
	h := server.New(probeEngine{ready: true}, server.Config{Metrics: m}, zerolog.Nop())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	types := map[string]string{}
	values := map[string][]string{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		} else if name, _, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") {
			values[name] = append(values[name], line)
		}
	}
	for _, s := range series {
		if types[s] != "gauge" {
			t.Errorf("the adapter reads %s, which /metrics serves as %q, not a gauge", s, types[s])
		}
		if !strings.Contains(strings.Join(values[s], "\n"), `model="bge-m3"} 3`) {
			t.Errorf("%s does not report the 3 queued sequences: %q", s, values[s])
		}
	}
}

// probeEngine is an engine with nothing loaded (or everything): the
// routes the probes ask touch nothing else.
type probeEngine struct {
	server.Engine
	ready bool
}

func (e probeEngine) Ready(context.Context) error {
	if e.ready {
		return nil
	}
	return errors.New("loading")
}

func (e probeEngine) Models() []backend.ModelStatus { return nil }

// serverStatus is the status GET path, sent without a key, gets from the
// server's handler when API keys are on (a deployment may set API_KEY from
// a Secret) and publicRoutes (PUBLIC_ROUTES) are served without one.
func serverStatus(path string, ready bool, publicRoutes string) int {
	public, err := server.ParsePublicRoutes(publicRoutes)
	if err != nil {
		return 0
	}
	cfg := server.Config{APIKeys: server.NewAPIKeys([]string{"a-key-the-probes-do-not-send"}), PublicRoutes: public}
	h := server.New(probeEngine{ready: ready}, cfg, zerolog.Nop())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}
