package main

import (
	"testing"
	"time"
)

func TestDaysFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "0": 0, "720h": 720 * time.Hour, "90m": 90 * time.Minute, "0d": 0} {
		var d days
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "x", "-1h", "1.5d", "d"} {
		var d days
		if err := d.Set(in); err == nil {
			t.Errorf("Set(%q) succeeded, want an error", in)
		}
	}
}
