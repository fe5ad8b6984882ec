package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/envconfig"
)

// Every knob is a flag and an environment variable, defined once in
// envconfig with its default; the README's configuration table lists them.

// flag makes the urfave/cli flag of a setting.
func flag[T any](s envconfig.Setting[T]) cli.Flag {
	env := []string{s.Env}
	switch v := any(s.Default).(type) {
	case string:
		return &cli.StringFlag{Name: s.Flag, EnvVars: env, Value: v, Usage: s.Usage}
	case int:
		return &cli.IntFlag{Name: s.Flag, EnvVars: env, Value: v, Usage: s.Usage}
	case int64:
		return &cli.Int64Flag{Name: s.Flag, EnvVars: env, Value: v, Usage: s.Usage}
	case bool:
		return &cli.BoolFlag{Name: s.Flag, EnvVars: env, Value: v, Usage: s.Usage}
	}
	panic(fmt.Sprintf("setting %s has a %T default, which has no flag type", s.Flag, s.Default))
}

// Flags shared by every command that reads the catalog.
func catalogFlags() []cli.Flag {
	return []cli.Flag{flag(envconfig.ModelsDir), flag(envconfig.ModelsConfig)}
}

// Flags of every command that runs models.
func engineFlags() []cli.Flag {
	return []cli.Flag{
		flag(envconfig.EmbeddingModel),
		flag(envconfig.RerankerModel),
		flag(envconfig.Workers),
		flag(envconfig.Threads),
		flag(envconfig.MaxBatchTokens),
		flag(envconfig.MaxMemory),
		flag(envconfig.KeepAlive),
		flag(envconfig.FlashAttention),
		flag(envconfig.Device),
		flag(envconfig.GPULayers),
		flag(envconfig.LibDir),
		flag(envconfig.MaxConcurrentRequests),
		flag(envconfig.MaxConcurrentPerModel),
		flag(envconfig.Offline),
		flag(envconfig.MecabDicdir),
	}
}

// logFlags are serve's; quiet (embed, rerank) logs warnings only unless
// --log-level says otherwise, keeping stderr for progress and problems.
func logFlags(quiet bool) []cli.Flag {
	return []cli.Flag{logLevelFlag(quiet), flag(envconfig.LogFormat)}
}

// logLevelFlag is --log-level; quiet commands default to warn.
func logLevelFlag(quiet bool) cli.Flag {
	s := envconfig.LogLevel
	if quiet {
		s.Default = "warn"
	}
	return flag(s)
}

// parseBytes reads sizes such as 512MiB, 8GiB, 8G or a plain byte count.
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := uint64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("invalid size %q: want a positive number with an optional unit such as 512MiB or 8GiB", s)
	}
	return uint64(f * float64(mult)), nil
}

// parseKeepAlive accepts Go durations ("5m", "90s"), a number of seconds,
// and "-1" (or any negative value) for "never unload", as Ollama does.
func parseKeepAlive(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return -1, nil
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid keep-alive %q: want a duration such as 5m, or -1 to keep models loaded", s)
	}
	if d < 0 {
		return -1, nil
	}
	return d, nil
}

// defaultLibDir is lib/ beside the executable, where the Docker images put
// libggml-cuda.so and friends.
func defaultLibDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "lib")
}
