package hub

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step every time it is read.
func fakeClock(step time.Duration) func() time.Time {
	now := time.Unix(0, 0)
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func TestProgressBarLogLines(t *testing.T) {
	var buf bytes.Buffer
	update := newProgressBar(&buf, false, fakeClock(10*time.Millisecond)).update
	const total = 1 << 20
	for done := int64(0); done <= total; done += total / 1000 {
		update("model.gguf", done, total)
	}
	update("model.gguf", total, total)
	update("model.gguf", total, total) // a repeated 100% is not printed twice

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 11 {
		t.Fatalf("got %d lines, want 11 (start, then every 10%%):\n%s", len(lines), buf.String())
	}
	if last := lines[10]; !strings.HasPrefix(last, "model.gguf  100%  1.0 MiB / 1.0 MiB  10") || !strings.HasSuffix(last, " KiB/s") {
		t.Errorf("last line %q, want file, 100%%, bytes and about 100 KiB/s", last)
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("log output contains \\r")
	}
}

func TestProgressBarTerminalRedraws(t *testing.T) {
	var buf bytes.Buffer
	update := newProgressBar(&buf, true, fakeClock(10*time.Millisecond)).update
	for done := int64(0); done <= 100; done++ { // one second of updates
		update("a.gguf", done*1000, 100_000)
	}
	update("b.json", 10, -1) // unknown size
	out := buf.String()
	if n := strings.Count(out, "\r"); n < 10 || n > 13 {
		t.Errorf("%d redraws in one second, want about 10:\n%q", n, out)
	}
	if !strings.Contains(out, "a.gguf  100%  97.7 KiB / 97.7 KiB") || !strings.Contains(out, "\x1b[K\n\rb.json  10 B") {
		t.Errorf("output %q lacks the final a.gguf line or the next file", out)
	}
}
