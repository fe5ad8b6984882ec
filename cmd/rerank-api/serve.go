package main

import (
	"context"
	"errors"
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
	cat, err := loadCatalog(c)
	if err != nil {
		return err
	}
	platform, err := initDevices(c, logger)
	if err != nil {
		return err
	}
	engine, err := newEngine(c, cat, platform, logger, false)
	if err != nil {
		return err
	}
	defer engine.Close()
	info := infoOf(platform)
	eff := engine.Config()
	info.EmbeddingModel, info.RerankerModel = eff.DefaultEmbedding, eff.DefaultReranker
	info.MaxConcurrentRequests, info.MaxBatchTokens = eff.MaxConcurrentRequests, eff.BatchTokens
	info.Workers, info.Threads, info.MemoryBudgetBytes = eff.Workers, eff.Threads, eff.BudgetBytes

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	addr := net.JoinHostPort(c.String(envconfig.Host.Flag), strconv.Itoa(c.Int(envconfig.Port.Flag)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	handler := server.New(engine, server.Config{
		MaxClientBatchSize: c.Int(envconfig.MaxClientBatchSize.Flag),
		PayloadLimit:       c.Int64(envconfig.PayloadLimit.Flag),
		AutoTruncate:       c.Bool(envconfig.AutoTruncate.Flag),
		MaxRerankDocuments: c.Int(envconfig.MaxRerankDocuments.Flag),
		Info:               info,
		Devices:            func() []api.Device { return apiDevices(llama.Devices()) },
	}, logger)
	// A client gets a minute to send a request (2 MB by default) and two to
	// reuse an idle connection; there is no write timeout, because a request
	// may wait its turn in a busy model's queue for longer than any fixed bound.
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
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
	logger.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
