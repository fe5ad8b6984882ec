package faultio

import (
	"io"
	"syscall"
)

// FullDisk writes Left more bytes to W, then fails every write with
// ENOSPC, as a file system that fills does. One FullDisk shared by several
// writes (a download resumed) stays full.
type FullDisk struct {
	W    io.Writer
	Left int
}

func (d *FullDisk) Write(p []byte) (int, error) {
	if len(p) <= d.Left {
		d.Left -= len(p)
		return d.W.Write(p)
	}
	n, err := d.W.Write(p[:d.Left])
	d.Left -= n
	if err == nil {
		err = syscall.ENOSPC
	}
	return n, err
}
