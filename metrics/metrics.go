package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Bucket layouts are TEI's (router/src/prometheus.rs), so a TEI heatmap or
// quantile panel reads ours the same way.
var (
	// durationBuckets: 35 steps of ×1.5 from 15 µs to about 14.6 s.
	durationBuckets = prometheus.ExponentialBuckets(0.000015, 1.5, 35)
	// inputLengthBuckets: powers of two up to 32768 tokens, past any
	// served model's maximum length (TEI stops at its one model's).
	inputLengthBuckets = prometheus.ExponentialBuckets(1, 2, 16)
	batchSizeBuckets   = prometheus.ExponentialBuckets(1, 2, 13) // up to 4096 sequences
	batchTokensBuckets = prometheus.ExponentialBuckets(1, 2, 21) // up to 2^20 tokens
	// loadBuckets are ours: a load takes from tens of milliseconds (a tiny
	// model from the page cache) to minutes (gigabytes onto a GPU).
	loadBuckets = prometheus.ExponentialBuckets(0.05, 2, 14) // 50 ms to about 7 min
)

// Metrics records what rerank-api does. Its methods are safe for
// concurrent use. The zero value is not usable; call New.
type Metrics struct {
	registry *prometheus.Registry

	requests      *prometheus.CounterVec
	successes     *prometheus.CounterVec
	failures      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	queueDuration *prometheus.HistogramVec
	inferenceTime *prometheus.HistogramVec
	inputTokens   *prometheus.CounterVec
	outputTokens  *prometheus.CounterVec
	inputLength   *prometheus.HistogramVec
	batchSize     *prometheus.HistogramVec
	batchTokens   *prometheus.HistogramVec
	batchDuration *prometheus.HistogramVec
	loadDuration  *prometheus.HistogramVec
	loadFailures  *prometheus.CounterVec
	evictions     *prometheus.CounterVec
	pulls         *prometheus.CounterVec
	pullBytes     *prometheus.CounterVec
	mu            sync.Mutex
	knownModels   map[string]bool // see modelLabel
}

// New returns Metrics with a registry of its own holding every collector,
// the Go runtime's and the process's included. Each New is independent, so
// tests can run several servers in one process.
func New() *Metrics {
	m := &Metrics{
		registry:    prometheus.NewRegistry(),
		knownModels: map[string]bool{},
		requests: counterVec("te_request_count",
			"Requests answered, by route template, model, status and method (single: one input, batch: several).",
			"route", "model", "status", "method"),
		successes: counterVec("te_request_success",
			"Requests answered with a 2xx status.",
			"route", "model", "method"),
		failures: counterVec("te_request_failure",
			"Requests that failed, by TEI's error kind: validation, batch_size, model_type, overloaded, dropped (the client went away), unavailable, timeout, unauthorized, non_finite (NaN or Inf out of a model), inference.",
			"route", "model", "err"),
		duration: histogramVec("te_request_duration", durationBuckets,
			"Seconds from a request's arrival to its answer.",
			"route", "model", "status"),
		queueDuration: histogramVec("te_request_queue_duration", durationBuckets,
			"Seconds a request waited in its model's queue before its first sequence was encoded.",
			"route", "model"),
		inferenceTime: histogramVec("te_request_inference_duration", durationBuckets,
			"Seconds of encoding (the batches a request took part in, summed) per request.",
			"route", "model"),
		inputTokens: counterVec("te_request_input_tokens_total",
			"Tokens the model read for requests (special tokens and every rerank chunk included; /decode: the ids sent).",
			"route", "model"),
		outputTokens: counterVec("te_request_output_tokens_total",
			"Tokens returned to clients (/tokenize).",
			"route", "model"),
		inputLength: histogramVec("te_request_input_length", inputLengthBuckets,
			"Tokens of each sequence queued for encoding (an input, or a rerank query-document pair), after truncation.",
			"model"),
		batchSize: histogramVec("te_batch_next_size", batchSizeBuckets,
			"Sequences per encode call.",
			"model"),
		batchTokens: histogramVec("te_batch_next_tokens", batchTokensBuckets,
			"Tokens per encode call.",
			"model"),
		batchDuration: histogramVec("te_batch_inference_duration", durationBuckets,
			"Seconds per encode call.",
			"model"),
		loadDuration: histogramVec("te_model_load_duration", loadBuckets,
			"Seconds to load a model and ready it to serve (weights, contexts, tokenizer), for loads that succeeded.",
			"model"),
		loadFailures: counterVec("te_model_load_failures_total",
			"Model loads that failed: an unreadable file, no room in a memory budget, or the runtime refusing it.",
			"model"),
		evictions: counterVec("te_model_evictions_total",
			"Models unloaded while the server runs, by reason: memory (to make room for another model) or idle (its keep-alive ran out).",
			"model", "reason"),
		pulls: counterVec("te_model_pulls_total",
			"Model downloads (or download-and-convert runs) the server ran, for a request or a default model, by result: success or failure.",
			"model", "result"),
		pullBytes: counterVec("te_model_pull_bytes_total",
			"Bytes received from the model hub by pulls.",
			"model"),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.successes, m.failures, m.duration, m.queueDuration, m.inferenceTime,
		m.inputTokens, m.outputTokens, m.inputLength, m.batchSize, m.batchTokens, m.batchDuration,
		m.loadDuration, m.loadFailures, m.evictions, m.pulls, m.pullBytes,
	)
	return m
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func histogramVec(name string, buckets []float64, help string, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

// Handler serves the registry in Prometheus' text format.
//
// OpenMetrics stays off (promhttp's default) on purpose: in OpenMetrics a
// counter's samples must end in _total, so te_request_count would reach a
// Prometheus that negotiates it as te_request_count_total and TEI's queries
// would miss it. TEI's exporter speaks only the text format too.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
