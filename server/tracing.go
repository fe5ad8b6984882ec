package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing: one server span per request, named and tagged as OpenTelemetry's
// HTTP conventions say, continuing the caller's trace when the request
// carries a W3C traceparent. The backend is not traced: it reports how long
// a request queued and computed (backend.BatchStats), and the span gets a
// child for each, placed by those durations. Without a TracerProvider
// (OTEL_EXPORTER_OTLP_ENDPOINT unset) the middleware is not in the chain.

// tracerName is the instrumentation scope spans are recorded under.
const tracerName = "github.com/rerank-api/rerank-api/server"

// Attributes OpenTelemetry's conventions have no name for, and the GenAI
// ones (still "development" in semconv, so not in the Go package).
const (
	attrRequestID   = attribute.Key("rerank_api.request_id")
	attrInputs      = attribute.Key("rerank_api.inputs")
	attrBatches     = attribute.Key("rerank_api.batches")
	attrModel       = attribute.Key("gen_ai.request.model")
	attrInputTokens = attribute.Key("gen_ai.usage.input_tokens")
)

// knownMethods are the methods semconv's http.request.method names; any
// other is recorded as _OTHER, so a client cannot mint attribute values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true,
	http.MethodTrace: true, http.MethodPatch: true,
}

// startTimer notes when the response started: the engine's work is over
// by then, so it is where the queue and inference spans end. It sits under
// a statusWriter of its own, which recoverPanics looks for.
type startTimer struct {
	http.ResponseWriter
	started time.Time
}

func (w *startTimer) WriteHeader(status int) {
	if w.started.IsZero() {
		w.started = time.Now()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *startTimer) Write(b []byte) (int, error) {
	if w.started.IsZero() {
		w.started = time.Now()
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *startTimer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// traceRequests runs inside logRequests, whose requestInfo (id, route,
// model, batch stats) the span reports, and which logs the trace id.
func (s *server) traceRequests(next http.Handler) http.Handler {
	if s.cfg.TracerProvider == nil {
		return next
	}
	tracer := s.cfg.TracerProvider.Tracer(tracerName)
	propagator := propagation.TraceContext{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		method := r.Method
		if !knownMethods[method] {
			method = "_OTHER"
		}
		ri := info(r)
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, method,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(start),
			trace.WithAttributes(
				semconv.HTTPRequestMethodKey.String(method),
				semconv.URLPath(clipPath(r.URL.Path)),
				attrRequestID.String(ri.id),
			))
		defer span.End()
		if sc := span.SpanContext(); sc.HasTraceID() {
			ri.traceID = sc.TraceID().String()
		}
		timer := &startTimer{ResponseWriter: w}
		sw := &statusWriter{ResponseWriter: timer}
		next.ServeHTTP(sw, r.WithContext(ctx))

		status := sw.status
		if status == 0 {
			status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
		if ri.route != "" {
			span.SetName(method + " " + ri.route)
			span.SetAttributes(semconv.HTTPRoute(ri.route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if ri.model != "" {
			span.SetAttributes(attrModel.String(ri.model))
		}
		if ri.inputs > 0 {
			span.SetAttributes(attrInputs.Int(ri.inputs), attrInputTokens.Int(ri.tokens))
		}
		// Server spans are errors for 5xx only: a 4xx is the client's.
		if status >= http.StatusInternalServerError {
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			msg := http.StatusText(status)
			if ri.err != nil {
				msg = ri.err.Error()
			}
			span.SetStatus(codes.Error, msg)
		}
		if ri.stats.Batches > 0 {
			end := timer.started
			if end.IsZero() {
				end = time.Now()
			}
			recordEngineSpans(ctx, tracer, start, end, ri)
		}
	})
}

// recordEngineSpans adds the queue wait and the inference as children of
// the request's span, back to back and ending when the response started.
// They are the backend's totals: with several batches, the gaps between
// them count as inference, and batches computed side by side on several
// workers add up, so each span is clipped to the request's own.
func recordEngineSpans(ctx context.Context, tracer trace.Tracer, start, end time.Time, ri *requestInfo) {
	computeStart := end.Add(-ri.stats.Compute)
	if computeStart.Before(start) {
		computeStart = start
	}
	queueStart := computeStart.Add(-ri.stats.Wait)
	if queueStart.Before(start) {
		queueStart = start
	}
	_, queue := tracer.Start(ctx, "queue", trace.WithTimestamp(queueStart))
	queue.End(trace.WithTimestamp(computeStart))
	_, inference := tracer.Start(ctx, "inference", trace.WithTimestamp(computeStart),
		trace.WithAttributes(attrBatches.Int(ri.stats.Batches)))
	if ri.model != "" {
		inference.SetAttributes(attrModel.String(ri.model))
	}
	inference.End(trace.WithTimestamp(end))
}
