package faultio

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

func TestFullDiskTakesWhatFitsThenFails(t *testing.T) {
	var buf bytes.Buffer
	d := &FullDisk{W: &buf, Left: 5}
	if n, err := d.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("first write: %d, %v", n, err)
	}
	if n, err := d.Write([]byte("defg")); n != 2 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("second write: %d, %v; want 2 bytes and ENOSPC", n, err)
	}
	if n, err := d.Write([]byte("h")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("third write: %d, %v; want ENOSPC", n, err)
	}
	if buf.String() != "abcde" {
		t.Fatalf("wrote %q", buf.String())
	}
}
