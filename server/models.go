package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
)

// openAIModels serves GET /v1/models: the models a request may name, in
// OpenAI's shape. Unsupported catalog entries are left out because asking
// for them can only fail; GET /models shows them with the reason.
func (s *server) openAIModels(w http.ResponseWriter, r *http.Request) {
	list := api.OpenAIModelList{Object: "list", Data: []api.OpenAIModel{}}
	for _, m := range s.engine.Models() {
		if !m.Supported() {
			continue
		}
		list.Data = append(list.Data, api.OpenAIModel{ID: m.Name, Object: "model", OwnedBy: owner(m.Repo)})
	}
	writeJSON(w, r, http.StatusOK, list)
}

// owner is the Hugging Face organisation of a repo id ("BAAI" for
// "BAAI/bge-m3"), which is what OpenAI's owned_by means for hosted models.
func owner(repo string) string {
	if org, _, ok := strings.Cut(repo, "/"); ok && org != "" {
		return org
	}
	return "rerank-api"
}

func (s *server) catalogModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, CatalogModelList(s.engine.Models()))
}

// CatalogModelList is GET /models' answer for the engine's models; the
// CLI's `models --json` prints it too.
func CatalogModelList(models []backend.ModelStatus) api.CatalogModelList {
	list := api.CatalogModelList{Object: "list", Data: make([]api.ModelStatus, len(models))} // [] rather than null for clients that iterate
	for i, m := range models {
		list.Data[i] = api.ModelStatus{Entry: m.Entry, Downloaded: m.Downloaded, Loaded: m.Loaded}
	}
	return list
}

// health serves GET /health: the process is up and answering (liveness).
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, api.Health{Status: "ok"})
}

// ready serves GET /ready: the default models can serve (readiness). It
// answers 503 with the reason, and Retry-After, until they can.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	err := s.engine.Ready(r.Context())
	if s.cfg.Drain.Draining() {
		err = errors.New("the server is shutting down")
	}
	if err != nil {
		info(r).err = err
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
		writeJSON(w, r, http.StatusServiceUnavailable, api.Health{Status: "unavailable", Error: err.Error()})
		return
	}
	writeJSON(w, r, http.StatusOK, api.Health{Status: "ready"})
}

// info serves GET /info: version, build, devices (with their free memory
// now), loaded models and limits.
func (s *server) info(w http.ResponseWriter, r *http.Request) {
	out := s.cfg.Info
	out.MaxClientBatchSize = s.cfg.MaxClientBatchSize
	out.MaxRerankDocuments = s.cfg.MaxRerankDocuments
	out.PayloadLimit = s.cfg.PayloadLimit
	out.AutoTruncate = s.cfg.AutoTruncate
	if s.cfg.Devices != nil {
		out.Devices = s.cfg.Devices()
	}
	out.LoadedModels = []string{}
	for _, m := range s.engine.Models() {
		if m.Loaded {
			out.LoadedModels = append(out.LoadedModels, m.Entry.Name)
		}
	}
	if out.Devices == nil {
		out.Devices = []api.Device{}
	}
	if out.OffloadDevices == nil {
		out.OffloadDevices = []string{}
	}
	writeJSON(w, r, http.StatusOK, out)
}
