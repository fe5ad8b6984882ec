package backend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rerank-api/rerank-api/catalog"
)

// Rerank scores every document of req against its query with a
// cross-encoder and returns them from most to least relevant. All pairs of
// the request go through the model's batcher in one Submit, so they share
// encode calls with concurrent requests exactly as embeddings do.
func (e *Engine) Rerank(ctx context.Context, req RerankRequest) (*RerankResult, error) {
	switch {
	case strings.TrimSpace(req.Query) == "":
		return nil, fmt.Errorf("%w: the query is empty; send the text to rank the documents against", ErrInvalidInput)
	case len(req.Documents) == 0:
		return nil, fmt.Errorf("%w: no documents to rank", ErrInvalidInput)
	case req.TopN < 0 || req.MaxChunksPerDoc < 0 || req.MaxTokensPerDoc < 0:
		return nil, fmt.Errorf("%w: top_n, max_chunks_per_doc and max_tokens_per_doc must be positive", ErrInvalidInput)
	}
	if e.hybridTarget(req) {
		return e.rerankHybrid(ctx, req)
	}
	if req.Weights != nil {
		return nil, fmt.Errorf("%w: hybrid weights apply to an embedding model with sparse and ColBERT heads (such as bge-m3), not a cross-encoder", ErrInvalidInput)
	}
	m, release, err := e.open(ctx, req.Model, catalog.KindRerank)
	if err != nil {
		return nil, err
	}
	defer release()
	if m.pairs == nil {
		return nil, fmt.Errorf("%w: %q has no classification head to score pairs with (catalog pooling must be rank)", ErrWrongKind, m.entry.Name)
	}

	plan, err := m.planPairs(req)
	if err != nil {
		return nil, err
	}
	outputs, stats, err := m.batcher.Submit(ctx, plan.seqs)
	if err != nil {
		return nil, err
	}
	res := &RerankResult{Model: m.entry.Name, Results: make([]RankedDocument, len(req.Documents)), Tokens: plan.tokens, Pairs: len(plan.seqs), Stats: stats}
	best := make([]float64, len(req.Documents))
	for i := range best {
		best[i] = -1 // below any probability, so each document's first chunk wins
	}
	for s, logits := range outputs {
		if err := checkFinite(logits); err != nil {
			return nil, err
		}
		// A long document scores as its best chunk. Chunks compete on the
		// probability, which for one output orders them as the logit does.
		doc := plan.owner[s]
		prob, raw := m.pairs.score(logits)
		if prob > best[doc] {
			best[doc] = prob
			score := prob
			if req.RawScores || m.logitScores {
				score = raw
			}
			res.Results[doc] = RankedDocument{Index: doc, Score: score}
		}
	}
	slices.SortStableFunc(res.Results, func(a, b RankedDocument) int { return cmp.Compare(b.Score, a.Score) })
	if req.TopN > 0 && req.TopN < len(res.Results) {
		res.Results = res.Results[:req.TopN]
	}
	return res, nil
}

// pairPlan is the sequences a rerank request encodes: one per document, or
// one per chunk of a long document, owner naming the document of each.
type pairPlan struct {
	seqs   [][]int32
	owner  []int
	tokens int
}

// planPairs tokenizes the prefixed query and the documents with the
// model's tokenizer (without specials: the pair template adds them) and
// fits each document beside the query: whole, truncated, or in
// overlapping chunks. The prefixes are the loaded entry's: the catalog's,
// else the GGUF's (withModelDefaults).
func (m *loadedModel) planPairs(req RerankRequest) (*pairPlan, error) {
	f := m.pairs
	queryText, lead, err := f.queryText(m.entry.QueryPrefix, req.Query, req.Instruction) // pairs_prompt.go
	if err != nil {
		return nil, err
	}
	query, err := m.tokenizer.Encode(queryText, false)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %w", ErrInvalidInput, err)
	}
	room := m.maxTokens - len(query) - f.specials() - len(f.docPrefix)
	if room < 1 {
		return nil, fmt.Errorf("%w: the query has %d tokens but %q reads at most %d per (query, document) pair, "+
			"%d of them special tokens, and needs room for the document; shorten the query",
			ErrInputTooLong, len(query), m.entry.Name, m.maxTokens, f.specials()+len(f.docPrefix))
	}
	maxChunks := req.MaxChunksPerDoc
	if maxChunks == 0 {
		maxChunks = DefaultMaxChunksPerDoc
	}
	if req.Truncate {
		maxChunks = 1
	}
	plan := &pairPlan{}
	for i, text := range req.Documents {
		doc, err := m.tokenizer.Encode(lead+text, false)
		if err != nil {
			return nil, fmt.Errorf("%w: document %d: %w", ErrInvalidInput, i, err)
		}
		if req.MaxTokensPerDoc > 0 && len(doc) > req.MaxTokensPerDoc {
			doc = doc[:req.MaxTokensPerDoc]
		}
		for _, c := range chunkSpans(len(doc), room, maxChunks) {
			seq := f.pair(query, doc[c.start:c.end])
			plan.seqs = append(plan.seqs, seq)
			plan.owner = append(plan.owner, i)
			plan.tokens += len(seq)
		}
	}
	return plan, nil
}
