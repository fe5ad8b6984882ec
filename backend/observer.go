package backend

import "time"

// Observer is told what the engine does, for metrics: cmd/ passes package
// metrics' recorder, whose methods have these shapes, so backend depends on
// no metrics library. Its methods are called on the request and encode
// paths and must be quick and safe for concurrent use.
type Observer interface {
	// SequencesQueued gives the length in tokens of each sequence one
	// request queued for model.
	SequencesQueued(model string, lengths []int)
	// BatchEncoded reports one encode call of model.
	BatchEncoded(model string, sequences, tokens int, took time.Duration)
	// ModelLoaded reports a load of model; err is nil when it succeeded.
	ModelLoaded(model string, took time.Duration, err error)
	// ModelEvicted reports model unloaded while the engine runs:
	// EvictedForMemory or EvictedIdle.
	ModelEvicted(model, reason string)
}

// Why a model was unloaded, for Observer.ModelEvicted.
const (
	EvictedForMemory = "memory" // to make room for another model
	EvictedIdle      = "idle"   // its keep-alive ran out
)

// noObserver observes nothing: the engine's observer when Config has none.
type noObserver struct{}

func (noObserver) SequencesQueued(string, []int)                {}
func (noObserver) BatchEncoded(string, int, int, time.Duration) {}
func (noObserver) ModelLoaded(string, time.Duration, error)     {}
func (noObserver) ModelEvicted(string, string)                  {}

// QueuedSequences is the sequences waiting to be encoded, by loaded model
// (0 for a model with an empty queue): metrics read it at each scrape.
func (e *Engine) QueuedSequences() map[string]int {
	loaded := e.pool.Resources()
	out := make(map[string]int, len(loaded))
	for name, m := range loaded {
		out[name] = m.queuedSequences()
	}
	return out
}

// queuedSequences is what waits in the model's batcher and in those made
// after the load, which feed contexts of their own: the token vectors'
// (/embed_all) and each task adapter's (tasks.go). An autoscaler reading
// te_queue_size sees those requests too.
func (m *loadedModel) queuedSequences() int {
	n := 0
	if m.batcher != nil {
		n = m.batcher.QueuedSequences()
	}
	m.queuesMu.Lock()
	defer m.queuesMu.Unlock()
	for _, q := range m.queues {
		n += q.QueuedSequences()
	}
	return n
}

// MemoryBooked is what loaded models (and loads in progress) have booked,
// and the budgets, in bytes by device: HostMemory and each GPU's.
func (e *Engine) MemoryBooked() (used, budgets map[string]uint64) {
	return e.pool.Booked()
}
