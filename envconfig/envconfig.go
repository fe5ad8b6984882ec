// Package envconfig is the one place rerank-api's configuration is defined:
// every knob that is both a command-line flag and an environment variable
// (a Setting, with its default and what it does), and the variables that
// are only read from the environment (HFEndpoint, HFToken, Proxy, MecabRC,
// Tracing).
// The names are those users of the Python service it replaces already set
// (HOST, PORT, WORKERS, EMBEDDING_MODEL_NAME, RERANKER_MODEL_NAME,
// RERANKER_MODELS_DIR), else TEI's, llama-server's and Ollama's.
//
// cmd/rerank-api makes its flags from the Settings, so a flag's default is
// the value its package applies to a zero field (server.Config,
// backend.Config), and the README's configuration table lists them all.
// No other package reads the environment: hub, tokenizer and convert take
// what they need as parameters. This package imports nothing of
// rerank-api's.
package envconfig

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// A Setting is one knob: a flag, the environment variable that sets it
// too, its default, and what it does. T is string, int, int64 or bool.
type Setting[T any] struct {
	Flag    string
	Env     string
	Default T
	Usage   string
}

// Var describes one environment variable for documentation: its flag (""
// when it has none), its default as text ("" when none), and what it does.
type Var struct {
	Flag, Env, Default, Usage string
}

var vars []Var

// setting declares a Setting and lists it in Vars.
func setting[T any](flag, env string, def T, usage string) Setting[T] {
	var zero T
	text := fmt.Sprint(def)
	if any(def) == any(zero) {
		text = ""
	}
	vars = append(vars, Var{Flag: flag, Env: env, Default: text, Usage: usage})
	return Setting[T]{Flag: flag, Env: env, Default: def, Usage: usage}
}

// envOnly lists a variable that has no flag in Vars and returns its name.
func envOnly(env, usage string) string {
	vars = append(vars, Var{Env: env, Usage: usage})
	return env
}

// Vars lists every environment variable rerank-api reads.
func Vars() []Var { return vars }

// The HTTP server (serve).
var (
	Host               = setting("host", "HOST", "0.0.0.0", "address to listen on")
	Port               = setting("port", "PORT", 7987, "port to listen on")
	MaxClientBatchSize = setting("max-client-batch-size", "MAX_CLIENT_BATCH_SIZE", 2048, "most inputs in one request")
	PayloadLimit       = setting("payload-limit", "PAYLOAD_LIMIT", int64(2_000_000), "largest request body in bytes")
	AutoTruncate       = setting("auto-truncate", "AUTO_TRUNCATE", true, "truncate inputs longer than the model's maximum unless a request sends truncate: false")
	MaxRerankDocuments = setting("max-rerank-documents", "MAX_RERANK_DOCUMENTS", 1000, "most documents in one rerank request")
	RequestTimeout     = setting("request-timeout", "REQUEST_TIMEOUT", "", "longest a request may take, e.g. 60s; past it its queued work is dropped and it gets 504 (default: none)")
	ShutdownDelay      = setting("shutdown-delay", "SHUTDOWN_DELAY", "0s", "on SIGTERM, how long new requests are still served while /ready answers 503, so a load balancer can stop sending first")
	ShutdownTimeout    = setting("shutdown-timeout", "SHUTDOWN_TIMEOUT", "30s", "on SIGTERM, how long requests in progress get to finish before they are cancelled")
)

// Who may call the server, and from which web pages (serve). Keys are
// TEI's and llama-server's --api-key; the routes open without one follow
// LiteLLM's public_routes.
var (
	APIKey          = setting("api-key", "API_KEY", "", "API keys, separated by commas: requests must send one as Authorization: Bearer <key> or x-api-key (default: none, no key needed)")
	APIKeyFile      = setting("api-key-file", "API_KEY_FILE", "", "file of API keys, one per line (blank lines and # comments ignored), reread on SIGHUP")
	PublicRoutes    = setting("public-routes", "PUBLIC_ROUTES", "/health,/ready,/metrics", "paths served without an API key, separated by commas; empty for none")
	CORSAllowOrigin = setting("cors-allow-origin", "CORS_ALLOW_ORIGIN", "", "origins browsers may call from, separated by commas, or * for any (default: CORS off)")
)

// The catalog (every command that reads it).
var (
	ModelsDir    = setting("models-dir", "RERANKER_MODELS_DIR", "models", "directory holding GGUF files; relative catalog paths resolve here")
	ModelsConfig = setting("models-config", "MODELS_CONFIG", "", "YAML file adding or overriding catalog entries")
)

// The engine (serve, embed, rerank).
var (
	EmbeddingModel        = setting("embedding-model", "EMBEDDING_MODEL_NAME", "bge-m3", "default embedding model (used when a request names none)")
	RerankerModel         = setting("reranker-model", "RERANKER_MODEL_NAME", "jina-reranker-v2-multilingual", "default reranking model")
	Workers               = setting("workers", "WORKERS", 1, "inference contexts per model, each encoding its own batches")
	Threads               = setting("threads", "THREADS", 0, "compute threads per context (default: CPU cores, or the container CPU limit, / workers)")
	MaxBatchTokens        = setting("max-batch-tokens", "MAX_BATCH_TOKENS", 1024, "token budget of one encode call; see the README's benchmark")
	MaxMemory             = setting("max-memory", "MAX_MEMORY", "", "memory budget for loaded models, e.g. 8GiB (default: 3/4 of available memory, within the container memory limit)")
	KeepAlive             = setting("keep-alive", "KEEP_ALIVE", "5m", "how long an idle model stays loaded; -1 keeps it forever, 0 unloads at once")
	FlashAttention        = setting("flash-attn", "FLASH_ATTN", true, "flash attention: keeps the attention buffer linear in batch size")
	Device                = setting("device", "DEVICE", "auto", "where models run: auto (a GPU when one loads, else the CPU), cpu, cuda or rocm")
	GPULayers             = setting("n-gpu-layers", "N_GPU_LAYERS", -1, "layers to offload to a GPU; -1 offloads all")
	LibDir                = setting("lib-dir", "LIB_DIR", "", "directory of ggml backend libraries (libggml-cuda.so...); default: lib/ next to the binary")
	MaxConcurrentRequests = setting("max-concurrent-requests", "MAX_CONCURRENT_REQUESTS", 512, "requests in progress beyond which new ones get 429")
	MaxConcurrentPerModel = setting("max-concurrent-requests-per-model", "MAX_CONCURRENT_REQUESTS_PER_MODEL", 0, "requests in progress for one model beyond which its new ones get 429 (default: half of --max-concurrent-requests, so a busy model leaves room for the others)")
	Offline               = setting("offline", "HF_HUB_OFFLINE", false, "never download: serve only models already in the models dir")
	PullOnRequest         = setting("pull-on-request", "PULL_ON_REQUEST", "defaults", "which missing catalog models a request may have serve download: defaults (the --embedding-model and --reranker-model only), catalog (any), never (others need rerank-api pull first)")
	MecabDicdir           = setting("mecab-dicdir", "MECAB_DICDIR", "", "MeCab dictionary of Japanese (BertJapaneseTokenizer) models without a catalog mecab_dicdir (default: the one the model names, e.g. unidic-lite pulled into the models dir)")
)

// Logging (every command; embed, rerank, pull, convert and quantize log
// warnings only unless the level is set).
var (
	LogLevel  = setting("log-level", "LOG_LEVEL", "info", "debug, info, warn or error")
	LogFormat = setting("log-format", "LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)")
)

// Profiling (serve): Go's net/http/pprof on a listener of its own, never
// on the API port; off by default.
var PprofAddr = setting("pprof-addr", "PPROF_ADDR", "", "serve Go's profiles (net/http/pprof) at /debug/pprof/ on this address, e.g. localhost:6060; a bare port binds to 127.0.0.1 (default: off)")

// Variables read only from the environment, by the functions below.
var (
	hfEndpoint  = envOnly("HF_ENDPOINT", "the Hugging Face hub, or a mirror, models are pulled from (default: https://huggingface.co)")
	hfToken     = envOnly("HF_TOKEN", "token sent to the hub for gated or private repositories")
	hfTokenOld  = envOnly("HUGGING_FACE_HUB_TOKEN", "huggingface_hub's older name for HF_TOKEN, read when HF_TOKEN is unset")
	_           = envOnly("HTTP_PROXY", "proxy for http:// downloads (or http_proxy)")
	_           = envOnly("HTTPS_PROXY", "proxy for https:// downloads (or https_proxy)")
	_           = envOnly("NO_PROXY", "hosts downloads reach directly (or no_proxy)")
	computeMode = envOnly("COMPUTE_MODE", "set by the project's images (cpu, cuda, rocm) and shown by GET /info")
	mecabRCFile = envOnly("MECABRC", "the mecabrc whose dicdir is the dictionary of Japanese models that name none (default: /etc/mecabrc, then /usr/local/etc/mecabrc, as MeCab reads)")
)

// Tracing (serve): on when an OTLP endpoint is set. Only the switch is
// read here; OTEL_SERVICE_NAME and the exporter's other OTEL_* variables
// pass through to the OpenTelemetry SDK, which reads them itself.
var (
	otlpEndpoint       = envOnly("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP collector that traces are sent to, e.g. http://localhost:4318 (default: no tracing)")
	otlpTracesEndpoint = envOnly("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "full URL traces are sent to, overriding OTEL_EXPORTER_OTLP_ENDPOINT (…/v1/traces)")
	otelSDKDisabled    = envOnly("OTEL_SDK_DISABLED", "true turns tracing off even when an endpoint is set")
	_                  = envOnly("OTEL_SERVICE_NAME", "the service name traces carry (default: rerank-api); the other OTEL_* variables are read by the OpenTelemetry SDK")
)

// HFEndpoint is HF_ENDPOINT: where models are pulled from; "" means the
// hub's own address (hub.DefaultEndpoint).
func HFEndpoint() string { return os.Getenv(hfEndpoint) }

// HFToken is HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, as huggingface_hub
// reads them; "" sends none.
func HFToken() string {
	if t := os.Getenv(hfToken); t != "" {
		return t
	}
	return os.Getenv(hfTokenOld)
}

// Proxy routes downloads as HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their
// lowercase forms) say when it is called: unlike http.ProxyFromEnvironment,
// which reads them once per process, so a test or a long-lived process can
// change them.
func Proxy() func(*http.Request) (*url.URL, error) {
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
}

// ComputeMode is COMPUTE_MODE, the flavour of the image the server runs
// from (cpu, cuda, rocm); "" outside the images.
func ComputeMode() string { return os.Getenv(computeMode) }

// MecabRC is MECABRC, the mecabrc MeCab itself would read first; "" when
// unset.
func MecabRC() string { return os.Getenv(mecabRCFile) }

// Tracing reports whether spans are exported over OTLP/HTTP: when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
// and OTEL_SDK_DISABLED is not true, as the OpenTelemetry specification
// says. The exporter reads those and the other OTEL_* variables (headers,
// timeout, sampler, batching) itself.
func Tracing() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv(otelSDKDisabled)), "true") {
		return false
	}
	return os.Getenv(otlpEndpoint) != "" || os.Getenv(otlpTracesEndpoint) != ""
}
