package main

import (
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
	"github.com/urfave/cli/v2"

	rerankapi "github.com/rerank-api/rerank-api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/backend/llamarun"
	"github.com/rerank-api/rerank-api/catalog"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/metrics"
)

// setupLogging configures the global zerolog logger (llama.cpp's log lines
// go through it too) and returns it.
func setupLogging(c *cli.Context) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.String(envconfig.LogLevel.Flag))
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", c.String(envconfig.LogLevel.Flag))
	}
	var logger zerolog.Logger
	switch format := c.String(envconfig.LogFormat.Flag); format {
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
	return catalog.New(rerankapi.BuiltinCatalog, c.String(envconfig.ModelsConfig.Flag))
}

// newEngine builds the engine from flags and the devices initDevices
// picked (their memory budgets), after initializing llama.cpp. A
// server's requests wait a while for a model's first download, and its log
// gets a line per step; a oneShot command (embed, rerank) waits for the
// whole download, showing pull's progress bar. recorder, when not nil,
// gets the engine's batches, loads, evictions and pulls (serve's metrics).
func newEngine(c *cli.Context, cat *catalog.Catalog, platform llama.Platform, logger zerolog.Logger, oneShot bool, recorder *metrics.Metrics) (*backend.Engine, error) {
	cfg := backend.Config{
		ModelsDir:                     c.String(envconfig.ModelsDir.Flag),
		DefaultEmbedding:              c.String(envconfig.EmbeddingModel.Flag),
		DefaultReranker:               c.String(envconfig.RerankerModel.Flag),
		Workers:                       c.Int(envconfig.Workers.Flag),
		Threads:                       c.Int(envconfig.Threads.Flag),
		BatchTokens:                   c.Int(envconfig.MaxBatchTokens.Flag),
		FlashAttention:                c.Bool(envconfig.FlashAttention.Flag),
		GPULayers:                     c.Int(envconfig.GPULayers.Flag),
		Devices:                       deviceBudgets(platform),
		MaxConcurrentRequests:         c.Int(envconfig.MaxConcurrentRequests.Flag),
		MaxConcurrentRequestsPerModel: c.Int(envconfig.MaxConcurrentPerModel.Flag),
		MecabDicdir:                   c.String(envconfig.MecabDicdir.Flag),
		MecabRC:                       envconfig.MecabRC(),
		Runtime:                       llamarun.Runtime{},
	}
	if s := c.String(envconfig.MaxMemory.Flag); s != "" {
		b, err := parseBytes(s)
		if err != nil {
			return nil, err
		}
		cfg.BudgetBytes = b
	}
	keepAlive, err := parseKeepAlive(c.String(envconfig.KeepAlive.Flag))
	if err != nil {
		return nil, err
	}
	cfg.KeepAlive = keepAlive
	for _, name := range []string{cfg.DefaultEmbedding, cfg.DefaultReranker} {
		if _, err := cat.Lookup(name); name != "" && err != nil {
			return nil, fmt.Errorf("default model: %w", err)
		}
	}
	if oneShot {
		// embed and rerank pull the model their operator named.
		cfg.PullOnRequest = backend.PullCatalog
	} else if cfg.PullOnRequest, err = backend.ParsePullPolicy(c.String(envconfig.PullOnRequest.Flag)); err != nil {
		return nil, err
	}
	switch {
	case c.Bool(envconfig.Offline.Flag):
	case oneShot:
		cfg.Puller = newPuller(cfg.ModelsDir)
		cfg.PullWait = -1
	default:
		p := newPuller(cfg.ModelsDir)
		p.Progress = nil // many requests may wait on a pull; the log gets one line per step
		p.Log = func(msg string) { logger.Info().Msg(msg) }
		if recorder != nil {
			p.Pulled = recorder.Pulled
		}
		cfg.Puller = p
	}
	if recorder != nil {
		cfg.Observer = recorder
	}
	e := backend.New(cfg, cat, logger)
	eff := e.Config()
	logger.Info().Int("workers", eff.Workers).Int("threads", eff.Threads).Int("max_batch_tokens", eff.BatchTokens).
		Uint64("memory_budget", eff.BudgetBytes).Dur("keep_alive", eff.KeepAlive).Bool("flash_attn", eff.FlashAttention).Msg("engine configured")
	for _, d := range eff.Devices {
		logger.Info().Str("device", d.Name).Uint64("memory_budget", d.BudgetBytes).Msg("device memory budget")
	}
	return e, nil
}

// oneShotEngine prepares a command that prints JSON on stdout (embed,
// rerank): logging, the catalog, and an engine that neither resolves nor
// loads the default model named by the flag unusedDefault, which the
// command does not need.
func oneShotEngine(c *cli.Context, unusedDefault string) (*backend.Engine, error) {
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
	platform, err := initDevices(c, logger)
	if err != nil {
		return nil, err
	}
	return newEngine(c, cat, platform, logger, true, nil)
}
