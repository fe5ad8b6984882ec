package main

import (
	"testing"
	"time"
)

// Durations are Go's or a number of seconds; "" is none; anything else,
// negative ones included, is refused rather than read as 0.
func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"0s", 0, true},
		{"30s", 30 * time.Second, true},
		{"2m", 2 * time.Minute, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"45", 45 * time.Second, true},
		{"-1", 0, false},
		{"-5s", 0, false},
		{"soon", 0, false},
	} {
		got, err := parseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
