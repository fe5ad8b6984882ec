package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/metrics"
	"github.com/rerank-api/rerank-api/server"
)

func serveCommand() *cli.Command {
	flags := []cli.Flag{
		flag(envconfig.Host),
		flag(envconfig.Port),
		flag(envconfig.MaxClientBatchSize),
		flag(envconfig.PayloadLimit),
		flag(envconfig.AutoTruncate),
		flag(envconfig.MaxRerankDocuments),
		flag(envconfig.RequestTimeout),
		flag(envconfig.ShutdownDelay),
		flag(envconfig.ShutdownTimeout),
		flag(envconfig.APIKey),
		flag(envconfig.APIKeyFile),
		flag(envconfig.PublicRoutes),
		flag(envconfig.CORSAllowOrigin),
		flag(envconfig.PprofAddr),
		flag(envconfig.PullOnRequest),
	}
	flags = append(flags, catalogFlags()...)
	flags = append(flags, engineFlags()...)
	flags = append(flags, logFlags(false)...)
	return &cli.Command{
		Name:   "serve",
		Usage:  "serve the HTTP API",
		Flags:  flags,
		Action: serve,
	}
}

func serve(c *cli.Context) error {
	logger, err := setupLogging(c)
	if err != nil {
		return err
	}
	limits, err := lifetimesOf(c)
	if err != nil {
		return err
	}
	keys, err := loadAPIKeys(c, logger)
	if err != nil {
		return err
	}
	publicRoutes, err := server.ParsePublicRoutes(c.String(envconfig.PublicRoutes.Flag))
	if err != nil {
		return fmt.Errorf("--public-routes: %w", err)
	}
	corsOrigins, err := server.ParseCORSOrigins(c.String(envconfig.CORSAllowOrigin.Flag))
	if err != nil {
		return fmt.Errorf("--cors-allow-origin: %w", err)
	}
	_, stopPprof, err := startPprof(c.String(envconfig.PprofAddr.Flag), logger)
	if err != nil {
		return err
	}
	defer stopPprof()
	tracer, flushTraces, err := setupTracing(c.Context, logger)
	if err != nil {
		return err
	}
	// Spans of the last requests leave before the process does.
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := flushTraces(flushCtx); err != nil {
			logger.Warn().Err(err).Msg("tracing: not every span was exported")
		}
	}()
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	platform, err := initDevices(c, logger)
	if err != nil {
		return err
	}
	recorder := metrics.New()
	engine, err := newEngine(c, cat, platform, logger, false, recorder)
	if err != nil {
		return err
	}
	defer engine.Close()
	recorder.Watch(engine)
	info := infoOf(platform)
	eff := engine.Config()
	info.EmbeddingModel, info.RerankerModel = eff.DefaultEmbedding, eff.DefaultReranker
	info.MaxConcurrentRequests, info.MaxBatchTokens = eff.MaxConcurrentRequests, eff.BatchTokens
	info.Workers, info.Threads, info.MemoryBudgetBytes = eff.Workers, eff.Threads, eff.BudgetBytes

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reloadAPIKeysOnHangup(ctx, c, keys, logger)

	addr := net.JoinHostPort(c.String(envconfig.Host.Flag), strconv.Itoa(c.Int(envconfig.Port.Flag)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	drainState := &server.Drain{}
	handler := server.New(engine, server.Config{
		MaxClientBatchSize: c.Int(envconfig.MaxClientBatchSize.Flag),
		PayloadLimit:       c.Int64(envconfig.PayloadLimit.Flag),
		AutoTruncate:       c.Bool(envconfig.AutoTruncate.Flag),
		MaxRerankDocuments: c.Int(envconfig.MaxRerankDocuments.Flag),
		Info:               info,
		Devices:            func() []api.Device { return apiDevices(llama.Devices()) },
		APIKeys:            keys,
		PublicRoutes:       publicRoutes,
		CORSAllowOrigins:   corsOrigins,
		TracerProvider:     tracer,
		RequestTimeout:     limits.request,
		Drain:              drainState,
		Metrics:            recorder,
	}, logger)
	// A client gets a minute to send a request (2 MB by default) and two to
	// reuse an idle connection; there is no write timeout, because a request
	// may wait its turn in a busy model's queue for longer than any fixed bound.
	// Every request's context derives from requests, which the drain
	// cancels when --shutdown-timeout runs out.
	requests, cancelRequests := context.WithCancelCause(context.Background())
	defer cancelRequests(nil)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return requests }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info().Str("addr", ln.Addr().String()).Msg("listening")

	// Load the defaults after the listener is up so /health answers at once
	// and /ready tells when they are loaded.
	go engine.Preload(ctx)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	exitOnSecondSignal(stop, logger)
	return drain(srv, drainState, cancelRequests, limits, logger)
}
