package fuzzcheck

import "testing"

var sink []byte

func TestHeapAllocatedCountsWhatFnAllocates(t *testing.T) {
	if got := HeapAllocated(func() { sink = make([]byte, 64<<20) }); got < 64<<20 {
		t.Errorf("a 64 MiB allocation counted as %d bytes", got)
	}
	if got := HeapAllocated(func() {}); got > Slack {
		t.Errorf("an empty function counted as %d bytes, more than Slack", got)
	}
}
