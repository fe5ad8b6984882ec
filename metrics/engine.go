package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The methods below are what the engine reports as it works; their shapes
// are backend.Observer's, so cmd/ passes a *Metrics as the engine's
// observer without backend importing this package.

// SequencesQueued records the length in tokens of each sequence a request
// queued for model (TEI's te_request_input_length).
func (m *Metrics) SequencesQueued(model string, lengths []int) {
	h := m.inputLength.WithLabelValues(model)
	for _, n := range lengths {
		h.Observe(float64(n))
	}
}

// BatchEncoded records one encode call of model.
func (m *Metrics) BatchEncoded(model string, sequences, tokens int, took time.Duration) {
	m.batchSize.WithLabelValues(model).Observe(float64(sequences))
	m.batchTokens.WithLabelValues(model).Observe(float64(tokens))
	m.batchDuration.WithLabelValues(model).Observe(took.Seconds())
}

// ModelLoaded records a load of model that took took; err is why it
// failed, nil when it succeeded.
func (m *Metrics) ModelLoaded(model string, took time.Duration, err error) {
	m.knowModel(model)
	if err != nil {
		m.loadFailures.WithLabelValues(model).Inc()
		return
	}
	m.loadDuration.WithLabelValues(model).Observe(took.Seconds())
}

// ModelEvicted records model unloaded for reason ("memory" or "idle").
func (m *Metrics) ModelEvicted(model, reason string) {
	m.evictions.WithLabelValues(model, reason).Inc()
}

// Pulled records one download of model (pull.Puller's Pulled hook):
// bytes received from the hub, and err, nil when it succeeded.
func (m *Metrics) Pulled(model string, bytes int64, err error) {
	m.knowModel(model)
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.pulls.WithLabelValues(model, result).Inc()
	if bytes > 0 {
		m.pullBytes.WithLabelValues(model).Add(float64(bytes))
	}
}

// State is what the engine can say about now, read at every scrape: a
// gauge read from the source cannot drift from it the way one kept up to
// date by increments can.
type State interface {
	// QueuedSequences is the sequences waiting to be encoded, by loaded
	// model: one entry for every model loaded, 0 when its queue is empty.
	QueuedSequences() map[string]int
	// MemoryBooked is the memory loaded models hold (used) and may hold
	// (budgets), in bytes by device: "RAM", and a GPU's ggml name ("CUDA0").
	MemoryBooked() (used, budgets map[string]uint64)
}

// Watch adds the gauges read from s: te_queue_size and te_model_loaded by
// model, te_memory_used_bytes and te_memory_budget_bytes by device. Call it
// once, when the engine exists (the engine is built with m as its
// observer, so m comes first).
func (m *Metrics) Watch(s State) {
	m.registry.MustRegister(stateCollector{s})
}

var (
	queueSizeDesc = prometheus.NewDesc("te_queue_size",
		"Sequences waiting in a loaded model's queue to be encoded (TEI: queued entries).", []string{"model"}, nil)
	modelLoadedDesc = prometheus.NewDesc("te_model_loaded",
		"1 for each model loaded now.", []string{"model"}, nil)
	memoryUsedDesc = prometheus.NewDesc("te_memory_used_bytes",
		"Memory booked by loaded models (weights and buffers) against the device's budget.", []string{"device"}, nil)
	memoryBudgetDesc = prometheus.NewDesc("te_memory_budget_bytes",
		"Memory loaded models may book on the device (--max-memory for RAM, a share of a GPU's free memory at start).", []string{"device"}, nil)
)

// stateCollector turns a State into gauges at scrape time.
type stateCollector struct{ s State }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueSizeDesc
	ch <- modelLoadedDesc
	ch <- memoryUsedDesc
	ch <- memoryBudgetDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	for model, n := range c.s.QueuedSequences() {
		ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(n), model)
		ch <- prometheus.MustNewConstMetric(modelLoadedDesc, prometheus.GaugeValue, 1, model)
	}
	used, budgets := c.s.MemoryBooked()
	for device, bytes := range budgets {
		ch <- prometheus.MustNewConstMetric(memoryUsedDesc, prometheus.GaugeValue, float64(used[device]), device)
		ch <- prometheus.MustNewConstMetric(memoryBudgetDesc, prometheus.GaugeValue, float64(bytes), device)
	}
}
