// Package server is rerank-api's HTTP layer: it decodes OpenAI-, Cohere-,
// Jina- and TEI-compatible requests, validates them, hands them to an Engine
// and encodes the results and errors in each API's own wire format.
//
// It speaks HTTP and nothing else. It must not tokenize, load models, touch
// files or do model math beyond encoding floats (base64 or JSON); everything
// about models lives behind the Engine interface, which the backend package
// implements. Wire types live in one file per API family (openai.go,
// cohere.go for Cohere and Jina, tei.go) so a reader sees each contract at
// once, and errors.go is the single place that maps errors to statuses and
// envelopes.
package server
