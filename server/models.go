package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/rerank-api/rerank-api/backend"
)

// openAIModels serves GET /v1/models: the models a request may name, in
// OpenAI's shape. Unsupported catalog entries are left out because asking
// for them can only fail; GET /models shows them with the reason.
func (s *server) openAIModels(w http.ResponseWriter, r *http.Request) {
	list := openAIModelList{Object: "list", Data: []openAIModel{}}
	for _, m := range s.engine.Models() {
		if !m.Supported() {
			continue
		}
		list.Data = append(list.Data, openAIModel{ID: m.Name, Object: "model", OwnedBy: owner(m.Repo)})
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

// catalogModelList is the body of GET /models: every catalog entry with its
// kind, limits, licence, support status and local state.
type catalogModelList struct {
	Object string                `json:"object"` // always "list", as in /v1/models
	Data   []backend.ModelStatus `json:"data"`
}

func (s *server) catalogModels(w http.ResponseWriter, r *http.Request) {
	models := s.engine.Models()
	if models == nil {
		models = []backend.ModelStatus{} // [] rather than null for clients that iterate
	}
	writeJSON(w, r, http.StatusOK, catalogModelList{Object: "list", Data: models})
}

// healthStatus is the body of GET /health and GET /ready.
type healthStatus struct {
	Status string `json:"status"` // ok, ready or unavailable
	Error  string `json:"error,omitempty"`
}

// health serves GET /health: the process is up and answering (liveness).
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, healthStatus{Status: "ok"})
}

// ready serves GET /ready: the default models can serve (readiness). It
// answers 503 with the reason, and Retry-After, until they can.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.Ready(r.Context()); err != nil {
		info(r).err = err
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
		writeJSON(w, r, http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Error: err.Error()})
		return
	}
	writeJSON(w, r, http.StatusOK, healthStatus{Status: "ready"})
}
