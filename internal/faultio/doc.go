// Package faultio injects I/O faults in tests: a writer that fails as a
// full disk does. Only tests import it.
package faultio
