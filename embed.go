// Package rerankapi holds what must sit at the repository root: the built-in
// model catalog, embedded here because go:embed cannot reach parent
// directories from cmd/ or catalog/.
package rerankapi

import _ "embed"

// BuiltinCatalog is the content of models.yaml, the built-in model list. cmd/
// passes it to catalog.New; it is compiled in so the binary needs no data
// files to know its models.
//
//go:embed models.yaml
var BuiltinCatalog []byte
