package main

import (
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
	"github.com/urfave/cli/v2"

	rerankapi "github.com/rerank-api/rerank-api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
)

// setupLogging configures the global zerolog logger (llama.cpp's log lines
// go through it too) and returns it.
func setupLogging(c *cli.Context) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.String("log-level"))
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", c.String("log-level"))
	}
	var logger zerolog.Logger
	switch format := c.String("log-format"); format {
	case "json":
		logger = zerolog.New(os.Stderr)
	case "console":
		logger = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	case "auto":
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			logger = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
		} else {
			logger = zerolog.New(os.Stderr)
		}
	default:
		return zerolog.Logger{}, fmt.Errorf("invalid --log-format %q: want json, console or auto", format)
	}
	logger = logger.Level(level).With().Timestamp().Logger()
	log.Logger = logger
	return logger, nil
}

func loadCatalog(c *cli.Context) (*catalog.Catalog, error) {
	return catalog.New(rerankapi.BuiltinCatalog, c.String("models-config"))
}

// newEngine builds the engine from flags, after initializing llama.cpp.
func newEngine(c *cli.Context, cat *catalog.Catalog, logger zerolog.Logger) (*backend.Engine, error) {
	cfg := backend.Config{
		ModelsDir:             c.String("models-dir"),
		DefaultEmbedding:      c.String("embedding-model"),
		DefaultReranker:       c.String("reranker-model"),
		Workers:               c.Int("workers"),
		Threads:               c.Int("threads"),
		BatchTokens:           c.Int("max-batch-tokens"),
		FlashAttention:        c.Bool("flash-attn"),
		GPULayers:             c.Int("n-gpu-layers"),
		MaxConcurrentRequests: c.Int("max-concurrent-requests"),
		MecabDicdir:           c.String("mecab-dicdir"),
	}
	if s := c.String("max-memory"); s != "" {
		b, err := parseBytes(s)
		if err != nil {
			return nil, err
		}
		cfg.BudgetBytes = b
	}
	keepAlive, err := parseKeepAlive(c.String("keep-alive"))
	if err != nil {
		return nil, err
	}
	cfg.KeepAlive = keepAlive
	for _, name := range []string{cfg.DefaultEmbedding, cfg.DefaultReranker} {
		if _, err := cat.Lookup(name); name != "" && err != nil {
			return nil, fmt.Errorf("default model: %w", err)
		}
	}
	libDir := c.String("lib-dir")
	if libDir == "" {
		libDir = defaultLibDir()
	}
	for _, d := range backend.Devices(libDir) {
		logger.Info().Str("device", d.Name).Str("kind", d.Kind).Str("description", d.Description).Uint64("memory_total", d.TotalBytes).Msg("compute device")
	}
	if !c.Bool("offline") {
		cfg.Puller = newPuller(cfg.ModelsDir)
		cfg.Puller.Progress = nil // many requests may wait on a pull; the log gets one line per step
		cfg.Puller.Log = func(msg string) { logger.Info().Msg(msg) }
	}
	e := backend.New(cfg, cat, logger)
	eff := e.Config()
	logger.Info().Int("workers", eff.Workers).Int("threads", eff.Threads).Int("max_batch_tokens", eff.BatchTokens).
		Uint64("memory_budget", eff.BudgetBytes).Dur("keep_alive", eff.KeepAlive).Bool("flash_attn", eff.FlashAttention).Msg("engine configured")
	return e, nil
}

// oneShotEngine prepares a command that prints JSON on stdout (embed,
// rerank): logging, kept at warn unless asked so stderr stays quiet; the
// catalog; and an engine that neither resolves nor loads the default model
// named by the flag unusedDefault, which the command does not need.
func oneShotEngine(c *cli.Context, unusedDefault string) (*backend.Engine, error) {
	if !c.IsSet("log-level") {
		if err := c.Set("log-level", "warn"); err != nil {
			return nil, err
		}
	}
	logger, err := setupLogging(c)
	if err != nil {
		return nil, err
	}
	cat, err := loadCatalog(c)
	if err != nil {
		return nil, err
	}
	if err := c.Set(unusedDefault, ""); err != nil {
		return nil, err
	}
	return newEngine(c, cat, logger)
}
