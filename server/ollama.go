package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rerank-api/rerank-api/api"
	"github.com/rerank-api/rerank-api/backend"
	"github.com/rerank-api/rerank-api/catalog"
)

// ollamaEmbed serves Ollama's POST /api/embed.
func (s *server) ollamaEmbed(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.OllamaEmbedRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ignoreOllamaOptions(r, req.Options)
	if noOllamaInput(req.Input) {
		// Ollama clients send no input to load a model ahead of use: answer
		// as Ollama does, after checking that the model exists.
		if err := s.checkOllamaModel(req.Model); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, api.OllamaEmbedResponse{Model: req.Model, Embeddings: [][]float32{}})
		return
	}
	res, err := s.ollamaEmbedding(r, req.Model, req.Input, "input", req.Truncate, req.Dimensions)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, api.OllamaEmbedResponse{
		Model:           cmp.Or(req.Model, res.Model),
		Embeddings:      res.Vectors,
		TotalDuration:   time.Since(start).Nanoseconds(),
		PromptEvalCount: res.PromptTokens,
	})
}

// ollamaLegacyEmbedding serves Ollama's older POST /api/embeddings: one
// prompt, one vector.
func (s *server) ollamaLegacyEmbedding(w http.ResponseWriter, r *http.Request) {
	var req api.OllamaEmbeddingRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ignoreOllamaOptions(r, req.Options)
	if req.Prompt == "" {
		if err := s.checkOllamaModel(req.Model); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, api.OllamaEmbeddingResponse{Embedding: []float32{}})
		return
	}
	prompt, _ := json.Marshal(req.Prompt) // a string always marshals
	res, err := s.ollamaEmbedding(r, req.Model, prompt, "prompt", nil, 0)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, api.OllamaEmbeddingResponse{Embedding: res.Vectors[0]})
}

// ollamaEmbedding embeds through the path every embeddings route shares,
// with Ollama's defaults: truncation on unless asked otherwise, and 0
// dimensions meaning all.
func (s *server) ollamaEmbedding(r *http.Request, model string, inputs json.RawMessage, inputsParam string, truncate *bool, dimensions int) (*backend.EmbedResult, error) {
	name, err := ollamaModelName(model)
	if err != nil {
		return nil, err
	}
	f := embedFields{inputs: inputs, inputsParam: inputsParam, model: name, truncate: truncate}
	if truncate == nil {
		on := true
		f.truncate = &on
	}
	if dimensions != 0 {
		f.dimensions = &dimensions
	}
	embedReq, err := s.embedRequest(f)
	if err != nil {
		return nil, err
	}
	res, err := s.embed(r, embedReq)
	if errors.Is(err, backend.ErrUnknownModel) {
		return nil, ollamaNotFound(model, err)
	}
	return res, err
}

// ignoreOllamaOptions notes options a client sent: the server's flags set
// num_ctx, num_thread and the like for every request.
func ignoreOllamaOptions(r *http.Request, options map[string]any) {
	if len(options) > 0 {
		zerolog.Ctx(r.Context()).Debug().Interface("options", options).Msg("ignoring Ollama options")
	}
}

// noOllamaInput reports an absent, "" or [] input, which Ollama answers
// with no embeddings.
func noOllamaInput(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`, "[]":
		return true
	}
	return false
}

// ollamaModelName maps an Ollama model name to the catalog's: Ollama
// users write the tag latest out or leave it off ("bge-m3:latest",
// "bge-m3"). The catalog holds one build of each model, so any other tag
// names a model this server does not have.
func ollamaModelName(name string) (string, error) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || strings.Contains(name[i:], "/") {
		return name, nil // no tag; a colon before a slash is a registry's port
	}
	if name[i+1:] != "latest" {
		return "", ollamaNotFound(name, nil)
	}
	return name[:i], nil
}

// ollamaNotFound is Ollama's 404 for a model, in its words.
func ollamaNotFound(name string, cause error) *apiError {
	return &apiError{
		status:  http.StatusNotFound,
		code:    "model_not_found",
		param:   "model",
		message: fmt.Sprintf("model '%s' not found", clipPath(name)), // a name can be megabytes long
		cause:   cause,
	}
}

// ollamaEntry finds the catalog model an Ollama name means, by short name
// or Hugging Face id as the engine resolves it.
func (s *server) ollamaEntry(model string) (backend.ModelStatus, error) {
	name, err := ollamaModelName(model)
	if err != nil {
		return backend.ModelStatus{}, err
	}
	for _, m := range s.engine.Models() {
		if m.Name == name || m.Repo != "" && catalog.SameRepo(m.Repo, name) {
			return m, nil
		}
	}
	return backend.ModelStatus{}, ollamaNotFound(model, nil)
}

// checkOllamaModel checks that a model named in a request without input
// exists; "" is the default embedding model.
func (s *server) checkOllamaModel(model string) error {
	if model == "" {
		return nil
	}
	_, err := s.ollamaEntry(model)
	return err
}

// ollamaTags serves GET /api/tags: the downloaded embedding models, the
// ones every Ollama route here can serve.
func (s *server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	list := api.OllamaModelList{Models: []api.OllamaModel{}}
	for _, m := range s.engine.Models() {
		if !m.Downloaded || !m.Supported() || m.Kind != catalog.KindEmbedding {
			continue
		}
		list.Models = append(list.Models, api.OllamaModel{
			Name:       m.Name + ":latest",
			Model:      m.Name + ":latest",
			ModifiedAt: m.Modified,
			Size:       m.Size,
			Digest:     m.Source.SHA256,
			Details:    ollamaDetails(m.Entry),
		})
	}
	writeJSON(w, r, http.StatusOK, list)
}

// ollamaShow serves POST /api/show for any catalog model.
func (s *server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req api.OllamaShowRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	model := cmp.Or(req.Model, req.Name)
	if model == "" {
		writeError(w, r, invalidField("model", `"model" is required: send a model name, as GET /api/tags lists them`))
		return
	}
	m, err := s.ollamaEntry(model)
	if err != nil {
		writeError(w, r, err)
		return
	}
	modelInfo := map[string]any{"general.basename": m.Name}
	if arch := m.Architecture; arch != "" {
		modelInfo["general.architecture"] = arch
		if m.MaxLength > 0 {
			modelInfo[arch+".context_length"] = m.MaxLength
		}
		if m.Dimensions > 0 {
			modelInfo[arch+".embedding_length"] = m.Dimensions
		}
	}
	capabilities := []string{}
	if m.Kind == catalog.KindEmbedding {
		capabilities = append(capabilities, "embedding")
	}
	writeJSON(w, r, http.StatusOK, api.OllamaShowResponse{
		License:      m.License,
		Details:      ollamaDetails(m.Entry),
		ModelInfo:    modelInfo,
		Capabilities: capabilities,
		ModifiedAt:   m.Modified,
	})
}

// ollamaDetails is what the catalog knows of a model in Ollama's terms.
func ollamaDetails(e catalog.Entry) api.OllamaModelDetails {
	d := api.OllamaModelDetails{
		Format:            "gguf",
		Family:            e.Architecture,
		ParameterSize:     e.Size,
		QuantizationLevel: strings.ToUpper(e.Source.Outtype),
	}
	if e.Architecture != "" {
		d.Families = []string{e.Architecture}
	}
	return d
}

// ollamaVersion serves GET /api/version, which Ollama clients call to
// check that the server is there.
func (s *server) ollamaVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, api.OllamaVersion{Version: s.cfg.Info.Version})
}
