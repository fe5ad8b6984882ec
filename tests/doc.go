// Package tests holds end-to-end tests: they start the real bin/rerank-api
// (built by `make test`) on a free loopback port with a catalog of small
// seeded random models, and check its HTTP answers against the plain-Go
// reference forward pass in internal/reference.
package tests
