package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/server"
)

// loadAPIKeys reads --api-key and --api-key-file; it returns nil, and the
// server asks no key, when neither is set. Keys are never logged, only
// counted.
func loadAPIKeys(c *cli.Context, logger zerolog.Logger) (*server.APIKeys, error) {
	keys, err := readAPIKeys(c)
	if err != nil || keys == nil {
		return nil, err
	}
	logger.Info().Int("keys", len(keys)).Msg("requests need an API key")
	return server.NewAPIKeys(keys), nil
}

// readAPIKeys returns the keys of both flags, nil when neither is set. A key
// file with no key is an error rather than "no auth": a file emptied by
// mistake must not open the server.
func readAPIKeys(c *cli.Context) ([]string, error) {
	keys, err := server.ParseAPIKeys(c.String(envconfig.APIKey.Flag))
	if err != nil {
		return nil, fmt.Errorf("--api-key: %w", err)
	}
	path := c.String(envconfig.APIKeyFile.Flag)
	if path == "" {
		return keys, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--api-key-file: %w", err)
	}
	fromFile, err := server.ParseAPIKeyFile(string(data))
	if err != nil {
		return nil, fmt.Errorf("--api-key-file %s: %w", path, err)
	}
	if len(fromFile) == 0 {
		return nil, fmt.Errorf("--api-key-file %s holds no key: write one key per line", path)
	}
	return append(keys, fromFile...), nil
}

// reloadAPIKeysOnHangup rereads the key file on each SIGHUP until ctx ends,
// so keys can be added and revoked without a restart. A file that cannot
// be read or holds no key is logged and the keys stay as they were.
// Without a key file SIGHUP keeps its default meaning.
func reloadAPIKeysOnHangup(ctx context.Context, c *cli.Context, keys *server.APIKeys, logger zerolog.Logger) {
	if keys == nil || c.String(envconfig.APIKeyFile.Flag) == "" {
		return
	}
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hangup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hangup:
			}
			fresh, err := readAPIKeys(c)
			if err != nil {
				logger.Error().Err(err).Int("keys", keys.Len()).Msg("SIGHUP: the API keys were not reloaded; the previous ones stay in force")
				continue
			}
			keys.Set(fresh)
			logger.Info().Int("keys", len(fresh)).Msg("SIGHUP: API keys reloaded")
		}
	}()
}
