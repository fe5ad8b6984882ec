// Package server is rerank-api's HTTP layer: it decodes OpenAI-, Cohere-,
// Jina-, TEI- and Ollama-compatible requests, validates them, hands them to an Engine
// and encodes the results and errors in each API's own wire format.
//
// It speaks HTTP and nothing else. It must not tokenize, load models, touch
// files or do model math beyond encoding floats (base64 or JSON); everything
// about models lives behind the Engine interface, which the backend package
// implements. The wire types live in package api, one file per API family;
// the functions that build a response from an engine result are exported
// (OpenAIEmbeddingResponse, CohereRerankResponse, CatalogModelList) so the
// CLI prints exactly what the server answers. errors.go is the single place
// that maps errors to statuses and envelopes.
package server
