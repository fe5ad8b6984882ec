package fuzzcheck

import (
	"runtime/metrics"
	"testing"
)

// Slack is the allocation every call may seem to make whatever its input:
// buffered readers, maps, the growth of the first slices, and the
// runtime's way of counting (below).
const Slack = 8 << 20

var sample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// HeapAllocated returns the bytes fn allocated on the heap. The runtime
// counts a whole span of small objects as allocated when it hands the span
// to an allocating goroutine, so the figure can run up to a span per size
// class (a few megabytes) ahead of the truth: enough to tell a parser that
// allocates in proportion to its input from one that trusts a length read
// from it.
func HeapAllocated(fn func()) uint64 {
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	fn()
	metrics.Read(sample)
	return sample[0].Value.Uint64() - before
}

// Bounded runs fn and fails t when it allocated more than perByte bytes
// per byte of input (of inputLen bytes) plus extra plus Slack: the property
// "every length read from a file is capped before allocating" as a fuzz
// target asserts it. extra is what a parser may allocate up to a documented
// limit whatever its input (padding a vocabulary to config.json's size).
func Bounded(t testing.TB, inputLen int, perByte, extra uint64, fn func()) {
	t.Helper()
	limit := perByte*uint64(inputLen) + extra + Slack
	if got := HeapAllocated(fn); got > limit {
		t.Fatalf("allocated %d bytes for a %d-byte input (limit %d): a length read from the input is not capped", got, inputLen, limit)
	}
}
