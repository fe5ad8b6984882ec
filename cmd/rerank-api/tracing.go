package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/rerank-api/rerank-api/envconfig"
)

// setupTracing returns serve's TracerProvider, which exports spans over
// OTLP/HTTP in batches, and the function that flushes them at exit; with no
// OTLP endpoint set it returns nil, and the server traces nothing.
//
// The exporter, the sampler and the batcher read their OTEL_* variables
// themselves (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER,
// OTEL_BSP_SCHEDULE_DELAY, …); the resource takes OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES over its defaults.
func setupTracing(ctx context.Context, logger zerolog.Logger) (trace.TracerProvider, func(context.Context) error, error) {
	if !envconfig.Tracing() {
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("setting up the OTLP trace exporter: %w", err)
	}
	detected, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, nil, fmt.Errorf("reading the trace resource (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	res, err := resource.Merge(resource.NewSchemaless(semconv.ServiceName("rerank-api"), semconv.ServiceVersion(version)), detected)
	if err != nil {
		return nil, nil, fmt.Errorf("building the trace resource: %w", err)
	}
	// The SDK reports failed exports (a collector down) through the
	// global handler, by default the standard logger; send them to ours.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn().Err(err).Msg("tracing")
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	logger.Info().Msg("tracing: exporting spans over OTLP/HTTP")
	return tp, tp.Shutdown, nil
}
