package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Every knob is a flag and an environment variable; names follow TEI,
// llama-server and Ollama where they have one, and the seed's variable names
// (HOST, PORT, WORKERS, EMBEDDING_MODEL_NAME, RERANKER_MODEL_NAME,
// RERANKER_MODELS_DIR) are kept. The README's configuration table lists them.

// Flags shared by every command that reads the catalog.
func catalogFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "models-dir", EnvVars: []string{"RERANKER_MODELS_DIR"}, Value: "models", Usage: "directory holding GGUF files; relative catalog paths resolve here"},
		&cli.StringFlag{Name: "models-config", EnvVars: []string{"MODELS_CONFIG"}, Usage: "YAML file adding or overriding catalog entries"},
	}
}

// Flags of every command that runs models.
func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "embedding-model", EnvVars: []string{"EMBEDDING_MODEL_NAME"}, Value: "bge-m3", Usage: "default embedding model (used when a request names none)"},
		&cli.StringFlag{Name: "reranker-model", EnvVars: []string{"RERANKER_MODEL_NAME"}, Value: "jina-reranker-v2-multilingual", Usage: "default reranking model"},
		&cli.IntFlag{Name: "workers", EnvVars: []string{"WORKERS"}, Value: 1, Usage: "inference contexts per model, each encoding its own batches"},
		&cli.IntFlag{Name: "threads", EnvVars: []string{"THREADS"}, Usage: "compute threads per context (default: CPU cores / workers)"},
		&cli.IntFlag{Name: "max-batch-tokens", EnvVars: []string{"MAX_BATCH_TOKENS"}, Value: 1024, Usage: "token budget of one encode call; see the README's benchmark"},
		&cli.StringFlag{Name: "max-memory", EnvVars: []string{"MAX_MEMORY"}, Usage: "memory budget for loaded models, e.g. 8GiB (default: 3/4 of available memory)"},
		&cli.StringFlag{Name: "keep-alive", EnvVars: []string{"KEEP_ALIVE"}, Value: "5m", Usage: "how long an idle model stays loaded; -1 keeps it forever, 0 unloads at once"},
		&cli.BoolFlag{Name: "flash-attn", EnvVars: []string{"FLASH_ATTN"}, Value: true, Usage: "flash attention: keeps the attention buffer linear in batch size"},
		&cli.IntFlag{Name: "n-gpu-layers", EnvVars: []string{"N_GPU_LAYERS"}, Value: -1, Usage: "layers to offload to a GPU; -1 offloads all"},
		&cli.StringFlag{Name: "lib-dir", EnvVars: []string{"LIB_DIR"}, Usage: "directory of ggml backend libraries (libggml-cuda.so...); default: lib/ next to the binary"},
		&cli.IntFlag{Name: "max-concurrent-requests", EnvVars: []string{"MAX_CONCURRENT_REQUESTS"}, Value: 512, Usage: "requests in progress beyond which new ones get 503"},
		&cli.BoolFlag{Name: "offline", EnvVars: []string{"HF_HUB_OFFLINE"}, Usage: "never download: serve only models already in the models dir"},
		&cli.StringFlag{Name: "mecab-dicdir", EnvVars: []string{"MECAB_DICDIR"}, Usage: "MeCab dictionary of Japanese (BertJapaneseTokenizer) models without a catalog mecab_dicdir (default: the one the model names, e.g. unidic-lite pulled into the models dir)"},
	}
}

func logFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"LOG_LEVEL"}, Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", EnvVars: []string{"LOG_FORMAT"}, Value: "auto", Usage: "json, console, or auto (console on a terminal)"},
	}
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
