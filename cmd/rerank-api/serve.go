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

	"github.com/rerank-api/rerank-api/server"
)

func serveCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "host", EnvVars: []string{"HOST"}, Value: "0.0.0.0", Usage: "address to listen on"},
		&cli.IntFlag{Name: "port", EnvVars: []string{"PORT"}, Value: 7987, Usage: "port to listen on"},
		&cli.IntFlag{Name: "max-client-batch-size", EnvVars: []string{"MAX_CLIENT_BATCH_SIZE"}, Value: 2048, Usage: "most inputs in one request"},
		&cli.Int64Flag{Name: "payload-limit", EnvVars: []string{"PAYLOAD_LIMIT"}, Value: 2_000_000, Usage: "largest request body in bytes"},
		&cli.BoolFlag{Name: "auto-truncate", EnvVars: []string{"AUTO_TRUNCATE"}, Value: true, Usage: "truncate inputs longer than the model's maximum unless a request sends truncate: false"},
		&cli.IntFlag{Name: "max-rerank-documents", EnvVars: []string{"MAX_RERANK_DOCUMENTS"}, Value: 1000, Usage: "most documents in one rerank request"},
	}
	flags = append(flags, catalogFlags()...)
	flags = append(flags, engineFlags()...)
	flags = append(flags, logFlags()...)
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
	engine, err := newEngine(c, cat, logger)
	if err != nil {
		return err
	}
	defer engine.Close()

	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	addr := net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("port")))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	handler := server.New(engine, server.Config{
		MaxClientBatchSize: c.Int("max-client-batch-size"),
		PayloadLimit:       c.Int64("payload-limit"),
		AutoTruncate:       c.Bool("auto-truncate"),
		MaxRerankDocuments: c.Int("max-rerank-documents"),
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
