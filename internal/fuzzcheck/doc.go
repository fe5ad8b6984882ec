// Package fuzzcheck holds what the fuzz targets of every parser share: a
// measure of the heap memory one call allocates, so a target can assert
// that a parser's allocation stays proportional to its input, and the
// bounds the targets assert.
//
// It is test support only: nothing outside _test.go files imports it.
package fuzzcheck
