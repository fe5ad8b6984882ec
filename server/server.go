package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/envconfig"
	"github.com/rerank-api/rerank-api/metrics"
)

// Engine is what the server needs from the backend.
type Engine interface {
	// Embed returns one vector per input. It must honour ctx: the server
	// passes the request's context, which ends when the client goes away.
	Embed(ctx context.Context, req backend.EmbedRequest) (*backend.EmbedResult, error)
	// Rerank scores documents against a query, most relevant first. The
	// same context rule applies.
	Rerank(ctx context.Context, req backend.RerankRequest) (*backend.RerankResult, error)
	// Tokenize returns the tokens a model reads for each input.
	Tokenize(ctx context.Context, req backend.TokenizeRequest) (*backend.TokenizeResult, error)
	// EmbedAll returns, per input, one vector per token (/embed_all). The
	// same context rule applies.
	EmbedAll(ctx context.Context, req backend.EmbedRequest) (*backend.TokenEmbedResult, error)
	// EmbedOutputs returns dense, sparse and ColBERT outputs of one encode
	// (/embed_sparse, /embed_colbert, /v1/embeddings' "outputs"). The same
	// context rule applies.
	EmbedOutputs(ctx context.Context, req backend.OutputsRequest) (*backend.OutputsResult, error)
	// Similarity returns the cosine similarity of each input after the
	// first to the first (/similarity). The same context rule applies.
	Similarity(ctx context.Context, req backend.EmbedRequest) (*backend.SimilarityResult, error)
	// Decode returns the text of each list of token ids.
	Decode(ctx context.Context, req backend.DecodeRequest) (*backend.DecodeResult, error)
	// Models lists every catalog entry with its local state.
	Models() []backend.ModelStatus
	// Ready returns nil when the default models can serve, or an error
	// saying why not.
	Ready(ctx context.Context) error
}

// Config holds the HTTP-level limits; a zero field gets its flag's default
// (envconfig), TEI's where TEI has the knob.
type Config struct {
	// MaxClientBatchSize caps the inputs per request (TEI's
	// --max-client-batch-size).
	MaxClientBatchSize int
	// PayloadLimit caps the request body in bytes (TEI's --payload-limit).
	PayloadLimit int64
	// AutoTruncate cuts inputs longer than the model's maximum length unless
	// a request says "truncate": false (TEI's --auto-truncate).
	AutoTruncate bool
	// MaxRerankDocuments caps the documents of one rerank request; the
	// default is the most Cohere recommends per request.
	MaxRerankDocuments int
	// Info is what GET /info says beyond the HTTP limits (version, CPU
	// variant, engine limits); the server fills in the limits above, the
	// loaded models and, from Devices, each device's memory at that moment.
	Info api.Info
	// Devices lists the compute devices with their free memory now; nil
	// keeps Info.Devices as given.
	Devices func() []api.Device
	// RequestTimeout bounds each request's time (--request-timeout); 0
	// sets no bound.
	RequestTimeout time.Duration
	// Drain, when not nil, is shut down through on SIGTERM (drain.go).
	Drain *Drain
	// APIKeys, when not nil, are the keys a request must present (auth.go);
	// nil serves everyone.
	APIKeys *APIKeys
	// PublicRoutes are the paths served without a key; nil means the
	// flag's default (the probes and /metrics), empty means none.
	PublicRoutes []string
	// CORSAllowOrigins are the origins browsers may call from ("*" for
	// any); empty turns CORS off (cors.go).
	CORSAllowOrigins []string
	// TracerProvider, when not nil, records a span per request
	// (tracing.go); nil traces nothing at no cost.
	TracerProvider trace.TracerProvider
	// Metrics records every request and serves GET /metrics; cmd/ passes
	// the engine's observer too, so one registry holds both. nil gets a
	// registry of the server's own.
	Metrics *metrics.Metrics
}

type server struct {
	engine  Engine
	cfg     Config
	log     zerolog.Logger
	metrics *metrics.Metrics
	router  *mux.Router // for the route label of a request refused before routing (metrics.go)
}

// New returns the HTTP handler serving every route. It never panics on a
// request: a panic below it becomes a 500 with a JSON body.
func New(engine Engine, cfg Config, logger zerolog.Logger) http.Handler {
	if cfg.MaxClientBatchSize <= 0 {
		cfg.MaxClientBatchSize = envconfig.MaxClientBatchSize.Default
	}
	if cfg.PayloadLimit <= 0 {
		cfg.PayloadLimit = envconfig.PayloadLimit.Default
	}
	if cfg.MaxRerankDocuments <= 0 {
		cfg.MaxRerankDocuments = envconfig.MaxRerankDocuments.Default
	}
	if cfg.PublicRoutes == nil {
		cfg.PublicRoutes, _ = ParsePublicRoutes(envconfig.PublicRoutes.Default)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	s := &server{engine: engine, cfg: cfg, log: logger, metrics: cfg.Metrics}

	r := mux.NewRouter()
	s.router = r
	r.HandleFunc("/v1/embeddings", s.openAIEmbeddings).Methods(http.MethodPost)
	r.HandleFunc("/embeddings", s.openAIEmbeddings).Methods(http.MethodPost)
	r.HandleFunc("/embed", s.teiEmbed).Methods(http.MethodPost)
	r.HandleFunc("/embed_all", s.teiEmbedAll).Methods(http.MethodPost)
	r.HandleFunc("/embed_sparse", s.teiEmbedSparse).Methods(http.MethodPost)
	r.HandleFunc("/embed_colbert", s.teiEmbedColBERT).Methods(http.MethodPost)
	r.HandleFunc("/v1/rerank", s.cohereRerankV1).Methods(http.MethodPost)
	r.HandleFunc("/v2/rerank", s.cohereRerankV2).Methods(http.MethodPost)
	r.HandleFunc("/v1/embed", s.cohereEmbedV1).Methods(http.MethodPost)
	r.HandleFunc("/v2/embed", s.cohereEmbedV2).Methods(http.MethodPost)
	r.HandleFunc("/rerank", s.teiOrCohereRerank).Methods(http.MethodPost)
	r.HandleFunc("/tokenize", s.teiTokenize).Methods(http.MethodPost)
	r.HandleFunc("/decode", s.teiDecode).Methods(http.MethodPost)
	r.HandleFunc("/similarity", s.teiSimilarity).Methods(http.MethodPost)
	r.HandleFunc("/v1/models", s.openAIModels).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/models", s.catalogModels).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/health", s.health).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/ready", s.ready).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/info", s.info).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", s.metrics.Handler()).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/openapi.json", s.openAPI(r)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/embed", s.ollamaEmbed).Methods(http.MethodPost)
	r.HandleFunc("/api/embeddings", s.ollamaLegacyEmbedding).Methods(http.MethodPost)
	r.HandleFunc("/api/tags", s.ollamaTags).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/show", s.ollamaShow).Methods(http.MethodPost)
	r.HandleFunc("/api/version", s.ollamaVersion).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = routeNotFound(r)
	r.MethodNotAllowedHandler = methodNotAllowed(r)
	r.Use(recordRoute)

	// Logging and recovery wrap the router rather than going through r.Use,
	// because mux runs its middleware only for matched routes and 404/405
	// responses deserve a log line too.
	// CORS answers preflights before the key check (browsers send them
	// without credentials); both run inside logRequests, so a 401 is
	// logged with its request id, and inside tracing, so it is traced.
	return cleanPaths(s.logRequests(s.traceRequests(s.allowCORS(s.drainRequests(s.requireAPIKey(s.limitTime(recoverPanics(r))))))))
}

// cleanPaths serves a path that is not clean ("//v1/embeddings", a base
// URL's slash doubled; "/health/") as its clean form. mux would answer it
// with a 301 to the clean path, which clients follow as a GET: a POST
// would then fail with a 405 naming a method it never sent.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if clean := path.Clean("/" + r.URL.Path); clean != r.URL.Path {
			r.URL.Path, r.URL.RawPath = clean, ""
		}
		next.ServeHTTP(w, r)
	})
}

// requestInfo is filled in by handlers as a request goes through, so the
// single log line written at the end can say what the request did.
type requestInfo struct {
	id     string
	start  time.Time
	route  string
	family apiFamily // which error envelope the route speaks
	model  string
	inputs int
	tokens int
	stats  backend.BatchStats
	err    error // what went wrong, for the log; nil on success
	// traceID is the request's OpenTelemetry trace, "" when not traced.
	traceID string
}

type requestInfoKey struct{}

// info returns the request's info; handlers run under logRequests, so it is
// always there, but a fresh one keeps a handler called alone from crashing.
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{family: routeFamily(r.URL.Path)}
}

// maxRequestIDLength bounds a client-sent X-Request-Id so the header cannot
// flood the logs.
const maxRequestIDLength = 128

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= maxRequestIDLength && printableASCII(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: requestID(r), start: start, family: routeFamily(r.URL.Path)}
		w.Header().Set("X-Request-Id", ri.id)
		// Everything logged for this request, by us or by the engine through
		// zerolog.Ctx(ctx), carries its id.
		log := s.log.With().Str("id", ri.id).Logger()
		ctx := context.WithValue(log.WithContext(r.Context()), requestInfoKey{}, ri)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		s.observeRequest(r, ri, sw.status, time.Since(start))

		ev := log.Info()
		switch {
		case sw.status >= http.StatusInternalServerError && sw.status != http.StatusServiceUnavailable:
			ev = log.Error()
		case r.URL.Path == "/health" || r.URL.Path == "/ready":
			// Probes poll every few seconds; at info they would drown the log.
			ev = log.Debug()
		}
		ev = ev.Str("method", r.Method).Str("path", clipPath(r.URL.Path))
		if ri.route != "" {
			ev = ev.Str("route", ri.route)
		}
		ev = ev.Int("status", sw.status).
			Float64("duration_ms", milliseconds(time.Since(start)))
		if ri.model != "" {
			ev = ev.Str("model", ri.model)
		}
		if ri.inputs > 0 {
			ev = ev.Int("inputs", ri.inputs).Int("tokens", ri.tokens)
		}
		if ri.stats.Batches > 0 {
			ev = ev.Float64("wait_ms", milliseconds(ri.stats.Wait)).
				Float64("compute_ms", milliseconds(ri.stats.Compute)).
				Int("batches", ri.stats.Batches)
		}
		if ri.traceID != "" {
			ev = ev.Str("trace_id", ri.traceID)
		}
		if ri.err != nil {
			ev = ev.AnErr("error", ri.err)
		}
		ev.Msg("request")
	})
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// recordRoute notes the matched route's template for the log line.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			info(r).route, _ = route.GetPathTemplate()
		}
		next.ServeHTTP(w, r)
	})
}

func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's way to abort a response on purpose
			}
			zerolog.Ctx(r.Context()).Error().Interface("panic", p).Bytes("stack", debug.Stack()).Msg("handler panicked")
			err := fmt.Errorf("panic: %v", p)
			// If the handler already started a response, the status is sent
			// and the best we can do is end it; otherwise answer properly.
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				info(r).err = err
				return
			}
			writeError(w, r, err)
		}()
		next.ServeHTTP(w, r)
	})
}

// decodeJSON reads the request body into dst. Unknown fields are ignored
// because clients send extras (OpenAI's "user", TEI's "prompt_name", …).
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body := getBuffer()
	defer putBuffer(body)
	_, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.PayloadLimit))
	return decodeBody(body.Bytes(), err, dst)
}

// firstNonSpace skips JSON whitespace and peeks at the byte after it.
func firstNonSpace(r *bufio.Reader) (byte, bool) {
	for {
		b, err := r.Peek(1)
		if err != nil {
			return 0, false
		}
		switch b[0] {
		case ' ', '\t', '\n', '\r':
			_, _ = r.ReadByte()
		default:
			return b[0], true
		}
	}
}

// checkContentType accepts JSON bodies only, as TEI (axum's Json
// extractor) and OpenAI do: a body sent as text/plain, as a form (what
// `curl -d` sends without -H) or with no Content-Type at all gets a 415
// that says which header to send.
func checkContentType(ct string) error {
	const fix = "send the body as JSON with Content-Type: application/json (curl: -H 'content-type: application/json')"
	if ct == "" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", message: "the request has no Content-Type; " + fix}
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &apiError{
		status:  http.StatusUnsupportedMediaType,
		code:    "unsupported_media_type",
		message: fmt.Sprintf("Content-Type %q is not JSON; %s", ct, fix),
	}
}

func invalidJSON(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_json", message: fmt.Sprintf(format, args...)}
}

func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return invalidJSON("the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("the request body is not valid JSON: it ends too early")
	case errors.As(err, &syntax):
		return invalidJSON("the request body is not valid JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &wrongType):
		if wrongType.Field == "" {
			return invalidJSON("the request body must be a JSON object, not a JSON %s", wrongType.Value)
		}
		return invalidField(wrongType.Field, "%q must be %s, not a JSON %s",
			wrongType.Field, describeType(wrongType.Type), wrongType.Value)
	}
	return invalidJSON("the request body is not valid JSON: %v", err)
}

// describeType names a Go type the way a JSON user thinks of it.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// writeJSON encodes v before writing anything, so an encoding failure (a NaN
// slipping through, say) becomes a clean 500 instead of half a body.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		// Error envelopes hold only strings, so this cannot recurse.
		writeError(w, r, fmt.Errorf("encoding the response: %w", err))
		return
	}
	defer putBuffer(body)
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusOK {
		setComputeHeaders(w.Header(), info(r))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// setComputeHeaders adds the timing headers TEI sends with every answer of
// a model route (x-compute-tokens, x-queue-time, x-inference-time,
// x-total-time; times in milliseconds), which its clients
// and load tools (rerank-api bench among them) read for token counts.
func setComputeHeaders(h http.Header, ri *requestInfo) {
	if ri.model == "" {
		return // not a model route: /info, /models, /api/tags ...
	}
	h.Set("X-Compute-Tokens", strconv.Itoa(ri.tokens))
	h.Set("X-Queue-Time", strconv.FormatInt(ri.stats.Wait.Milliseconds(), 10))
	h.Set("X-Inference-Time", strconv.FormatInt(ri.stats.Compute.Milliseconds(), 10))
	if !ri.start.IsZero() {
		h.Set("X-Total-Time", strconv.FormatInt(time.Since(ri.start).Milliseconds(), 10))
	}
}
