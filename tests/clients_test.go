package tests

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rerank-api/rerank-api/internal/testmodel"
)

// clientExpectations is what tests/clients/{node,go} read (the file named by
// RERANK_API_EXPECTED): the inputs to send and the reference numbers to
// compare with, so the reference forward pass stays here, in one place.
type clientExpectations struct {
	Tolerance float64 `json:"tolerance"`
	// Texts are embedded by every client with each model of Embeddings.
	Texts []string `json:"texts"`
	// Embeddings are the L2-normalized reference vectors of Texts by model
	// (every embedding route the clients call normalizes), Tokens the
	// number of tokens each text takes with that model, and TokenIDs the
	// tokens themselves (OpenAI's input may be token ids).
	Embeddings map[string][][]float64 `json:"embeddings"`
	Tokens     map[string][]int       `json:"tokens"`
	TokenIDs   map[string][][]int32   `json:"token_ids"`
	// Dimensions is a request for a shorter vector (OpenAI's dimensions,
	// Cohere's output_dimension, Ollama's dimensions): the first Size
	// components, normalized again.
	Dimensions struct {
		Model  string    `json:"model"`
		Size   int       `json:"size"`
		Text   string    `json:"text"`
		Vector []float64 `json:"vector"`
	} `json:"dimensions"`
	// Rerank is one query and its documents; Scores are the reference
	// relevance probabilities by document index, and CutScores those of
	// the documents cut to their first MaxTokensPerDoc tokens (Cohere v2's
	// max_tokens_per_doc).
	Rerank struct {
		Model           string    `json:"model"`
		Query           string    `json:"query"`
		Documents       []string  `json:"documents"`
		Scores          []float64 `json:"scores"`
		MaxTokensPerDoc int       `json:"max_tokens_per_doc"`
		CutScores       []float64 `json:"cut_scores"`
	} `json:"rerank"`
}

// clientCatalog is the client tests' server: the shared server's embedding
// models, and a reranker whose scores are far apart.
const clientCatalog = `models:
  - {name: tiny-cls, kind: embedding, file: tiny-cls.gguf}
  - {name: tiny-mean, kind: embedding, file: tiny-mean.gguf}
  - {name: tiny-rank, kind: rerank, pooling: rank, file: tiny-rank.gguf}
`

// spreadRanker is a cross-encoder with weights twice Tiny's scale: Tiny's
// attention is nearly uniform, so its probabilities for any documents lie
// within a few 1e-3 of each other, and a client that mixed up results could
// still pass. At this scale they spread over several 1e-2 (seed 4: 0.42 to
// 0.52 for rerankDocs) while the served probabilities stay within 1e-4 of
// the reference (measured with every client).
func spreadRanker(seed int64) testmodel.Config {
	cfg := testmodel.Tiny(seed, "rank")
	cfg.InitStd = 0.1
	return cfg
}

// rankable picks documents whose reference scores are at least 4×tolerance
// apart, from rerankDocs and random texts of 1 to 40 words, kept in the
// order they were drawn: a client that returned a score with the wrong
// document index fails the comparison.
func rankable(m *testModel, query []int32) (docs []string, scores []float64) {
	candidates := append([]string{}, rerankDocs...)
	r := rand.New(rand.NewPCG(11, 11))
	for n := 1; n <= 40; n += 3 {
		candidates = append(candidates, randomText(r, n))
	}
	type scored struct {
		order int
		score float64
	}
	var all []scored
	for i, doc := range candidates {
		p, _, _ := m.expectedDocument(query, m.words(doc), 10)
		all = append(all, scored{i, p})
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(a.score, b.score) })
	var kept []scored
	for _, c := range all {
		if len(kept) == 0 || c.score-kept[len(kept)-1].score >= 4*tolerance {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(a, b scored) int { return cmp.Compare(a.order, b.order) })
	for _, c := range kept {
		docs, scores = append(docs, candidates[c.order]), append(scores, c.score)
	}
	return docs, scores
}

// checkSpread fails unless the rerank reference can tell a right client
// from a wrong one: enough documents, and max_tokens_per_doc moving some
// score by more than twice the tolerance.
func checkSpread(t *testing.T, e clientExpectations) {
	t.Helper()
	r := e.Rerank
	if len(r.Documents) < 5 {
		t.Fatalf("only %d documents score 4×tolerance apart: %.4f", len(r.Documents), r.Scores)
	}
	moved := 0.0
	for i := range r.Scores {
		moved = max(moved, math.Abs(r.Scores[i]-r.CutScores[i]))
	}
	if moved <= 2*e.Tolerance {
		t.Fatalf("cutting documents to %d tokens moves scores by only %.1e", r.MaxTokensPerDoc, moved)
	}
	t.Logf("rerank reference: scores %.4f, cut to %d tokens %.4f", r.Scores, r.MaxTokensPerDoc, r.CutScores)
}

func clientReference(models map[string]*testModel) clientExpectations {
	var e clientExpectations
	e.Tolerance = tolerance
	e.Texts = texts
	e.Embeddings, e.Tokens, e.TokenIDs = map[string][][]float64{}, map[string][]int{}, map[string][][]int32{}
	for _, name := range []string{"tiny-cls", "tiny-mean"} {
		m := models[name]
		for _, text := range texts {
			ids := m.ids(text)
			e.Embeddings[name] = append(e.Embeddings[name], m.expectedEmbedding(ids, 0))
			e.Tokens[name] = append(e.Tokens[name], len(ids))
			e.TokenIDs[name] = append(e.TokenIDs[name], ids)
		}
	}
	mean := models["tiny-mean"]
	e.Dimensions.Model, e.Dimensions.Size, e.Dimensions.Text = "tiny-mean", 16, texts[2]
	e.Dimensions.Vector = mean.expectedEmbedding(mean.ids(texts[2]), 16)

	rank := models["tiny-rank"]
	query := rank.words(rerankQuery)
	e.Rerank.Model, e.Rerank.Query, e.Rerank.MaxTokensPerDoc = "tiny-rank", rerankQuery, 3
	e.Rerank.Documents, e.Rerank.Scores = rankable(rank, query)
	for _, doc := range e.Rerank.Documents {
		ids := rank.words(doc)
		cut, _ := rank.expectedScore(query, ids[:min(len(ids), e.Rerank.MaxTokensPerDoc)], false)
		e.Rerank.CutScores = append(e.Rerank.CutScores, cut)
	}
	return e
}

// The official client libraries, called as their documentation shows, get
// the reference numbers from the binary: npm's openai, cohere-ai (v1
// and v2 clients), @langchain/openai, @langchain/cohere, ai with
// @ai-sdk/openai and @ai-sdk/cohere, and ollama (tests/clients/node); Go's
// openai-go, go-openai, cohere-go and ollama's api (tests/clients/go, a
// module of its own so the product's go.mod carries none of them).
func TestClientLibraries(t *testing.T) {
	dir := t.TempDir()
	models, err := writeModels(dir, map[string]testmodel.Config{
		"tiny-cls":  testmodel.Tiny(1, "cls"),
		"tiny-mean": testmodel.Tiny(2, "mean"),
		"tiny-rank": spreadRanker(4),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveCatalog(t, true, dir, clientCatalog, "--embedding-model", "tiny-cls", "--reranker-model", "tiny-rank")
	reference := clientReference(models)
	checkSpread(t, reference)
	expected, err := json.MarshalIndent(reference, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "expected.json")
	if err := os.WriteFile(path, expected, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RERANK_API_URL="+srv.url, "RERANK_API_EXPECTED="+path)

	t.Run("node", func(t *testing.T) {
		dir, err := filepath.Abs("clients/node")
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s is not installed: the client tests in %s need Node.js 18 or newer and npm (run scripts/test-deps.sh, or install them)", tool, dir)
			}
		}
		if err := npmInstall(dir); err != nil {
			t.Fatal(err)
		}
		runClients(t, dir, env, "node", "--test")
	})
	t.Run("go", func(t *testing.T) {
		runClients(t, "clients/go", env, "go", "test", "-count=1", "-v", "./...")
	})
}

// npmInstall runs `npm ci` when node_modules is missing or older than
// package-lock.json (npm ci writes node_modules/.package-lock.json last).
func npmInstall(dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	if installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// runClients runs one client suite and fails with its output.
func runClients(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out)
	}
	t.Logf("%s %v:\n%s", name, args, tail(string(out)))
}
