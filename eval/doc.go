// Package eval measures a model on public benchmark sets, so that a user who
// converted or quantized a model can check it still scores what its model
// card says: Spearman's rank correlation on JSTS, JSICK and STS-B for an
// embedding model, and nDCG@10 / MRR@10 on a labelled query→passages set
// built from JSQuAD for a reranker.
//
// The evaluation sets are embedded (gzip-compressed, upstream bytes
// unchanged; see data/NOTICE.md for their origins and licences), so the
// command needs nothing but the binary and the model.
//
// The package holds the metrics (pure functions), the loaders, the
// published scores, and a runner over two small interfaces, Embedder and
// Reranker; cmd/rerank-api adapts the backend engine to them. It must not
// import backend/ or server/: it is a leaf, testable without llama.cpp.
package eval
