// Package metrics owns rerank-api's Prometheus collectors and the registry
// GET /metrics serves: what requests did (count, duration, queue wait,
// inference time and tokens, by route, model and status), what the
// batchers did (batch sizes, encode time, input lengths), what the pool did
// (loaded models, loads, evictions, memory per device), what pulls
// downloaded, and the Go runtime and process collectors.
//
// Names follow text-embeddings-inference (TEI) wherever TEI has the metric
// (te_request_count, te_request_duration, te_queue_size, te_batch_next_size,
// te_request_input_length, ...), so dashboards and alerts written for TEI
// read ours; each of ours carries extra labels (route, model, status) that a
// TEI query simply aggregates away. Metrics TEI lacks share its te_ prefix,
// so one prefix finds them all, and follow Prometheus' conventions TEI's
// older names predate: counters end in _total, sizes in _bytes. Durations
// are in seconds and, as TEI's, end in _duration.
//
// It is a leaf: it imports no rerank-api package. The server hands it one
// Request per request; the engine reports batches, loads and evictions
// through methods whose shapes match backend.Observer, pulls through the
// same Metrics (pull.Puller's Pulled hook), and is read at scrape time
// through the State interface for what is true now (queues, loaded models,
// memory). Recording must stay cheap: it runs on every request and every
// encode call.
package metrics
