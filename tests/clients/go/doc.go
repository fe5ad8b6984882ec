// Package clients runs the official Go client libraries (openai-go,
// go-openai, cohere-go, ollama's api) against a running rerank-api. It is a
// module of its own so the product's go.mod carries none of them; the
// driver in tests/clients_test.go starts the server and runs it.
package clients
