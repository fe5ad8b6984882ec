// Package api holds rerank-api's wire types: the request and response
// bodies of every route, one file per API family (openai.go; cohere.go for
// Cohere and Jina; tei.go for text-embeddings-inference; ollama.go for
// Ollama's embedding routes; models.go for our own routes), so a reader sees each contract at once, and the server, the
// CLI's JSON output and the tests use the very same structs.
//
// It holds types only: decoding, validation and the mapping to and from
// the engine live in server/. It imports nothing of rerank-api but the
// catalog entry that GET /models lists.
package api
