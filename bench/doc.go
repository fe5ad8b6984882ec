// Package bench is a load generator for embedding and reranking servers:
// rerank-api itself, and any server that speaks one of the wire shapes it
// knows (OpenAI's /v1/embeddings, Cohere's and Jina's /v1/rerank and
// /v2/rerank, TEI's /embed and /rerank, Ollama's /api/embed), so that two
// servers can be measured under the very same load on the same machine.
//
// The load is deterministic: every request's texts derive from the seed and
// the request's number alone, so request n carries the same words whichever
// server, client or run sends it. Run reports requests/s, tokens/s (from
// the server's usage fields where the API has them, else an estimate, and
// it says which), latency percentiles and failures by status.
//
// It speaks HTTP as a client only: it imports nothing of the server or the
// engine, and its request bodies carry only the fields every server of a
// family reads, so a stricter implementation than ours accepts them too.
package bench
