package metrics

import (
	"strconv"
	"time"
)

// Request is what one answered request did, as the server's log line says
// it.
type Request struct {
	// Route is the matched route's template ("/v1/embeddings"), never the
	// raw path, which a client could vary without end.
	Route string
	// Model is the model the request named or was served by; see
	// modelLabel for when it becomes a label.
	Model  string
	Status int
	// Failure is TEI's err label for a failed request (validation,
	// batch_size, model_type, overloaded, dropped, ...); "" when it
	// succeeded.
	Failure string
	// Inputs is how many inputs (or documents) the request carried.
	Inputs       int
	InputTokens  int
	OutputTokens int
	Duration     time.Duration
	// Batched says the request's sequences went through a batcher, so
	// QueueWait and Inference were measured.
	Batched   bool
	QueueWait time.Duration
	Inference time.Duration
}

// ObserveRequest records one answered request.
func (m *Metrics) ObserveRequest(r Request) {
	success := r.Status >= 200 && r.Status < 300
	model := m.modelLabel(r.Model, success)
	status := strconv.Itoa(r.Status)
	// TEI's method: one input or several.
	method := "single"
	if r.Inputs > 1 {
		method = "batch"
	}
	m.requests.WithLabelValues(r.Route, model, status, method).Inc()
	m.duration.WithLabelValues(r.Route, model, status).Observe(r.Duration.Seconds())
	if success {
		m.successes.WithLabelValues(r.Route, model, method).Inc()
	} else {
		m.failures.WithLabelValues(r.Route, model, r.Failure).Inc()
	}
	if r.Batched {
		m.queueDuration.WithLabelValues(r.Route, model).Observe(r.QueueWait.Seconds())
		m.inferenceTime.WithLabelValues(r.Route, model).Observe(r.Inference.Seconds())
	}
	if r.InputTokens > 0 {
		m.inputTokens.WithLabelValues(r.Route, model).Add(float64(r.InputTokens))
	}
	if r.OutputTokens > 0 {
		m.outputTokens.WithLabelValues(r.Route, model).Add(float64(r.OutputTokens))
	}
}

// modelLabel bounds the model label to catalog models. A failed request's
// model is whatever the client sent, and a label per made-up name would
// grow the series without end; a successful one names the catalog model
// that served it, as the engine's own reports (loads, pulls) do. So a
// failure keeps its model's name when that name is known that way (a 503
// or a dropped request for a real model), and gets "" otherwise, as a
// request that named no model does.
func (m *Metrics) modelLabel(model string, served bool) string {
	if model == "" {
		return ""
	}
	if served {
		m.knowModel(model)
		return model
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.knownModels[model] {
		return model
	}
	return ""
}

// knowModel notes a catalog model's name as safe to use as a label.
func (m *Metrics) knowModel(model string) {
	m.mu.Lock()
	m.knownModels[model] = true
	m.mu.Unlock()
}
