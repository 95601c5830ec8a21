package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestProgressCountRate: unattended, work of unknown total logs its count
// with the time taken and how fast it goes, at most every logEvery.
func TestProgressCountRate(t *testing.T) {
	var buf bytes.Buffer
	g := &globalOptions{stderr: &buf, LogFormat: "text", log: slog.New(slog.NewTextHandler(&buf, nil))}
	p := newProgress(g, "diff: files compared")
	p.start = time.Now().Add(-20 * time.Second)
	p.lastLog = time.Now().Add(-logEvery - time.Second)
	p.Count(1000)
	line := buf.String()
	for _, want := range []string{"diff: files compared progress", "done=1000", "elapsed=20s", "per_second=50"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	buf.Reset()
	p.Count(2000) // within logEvery of the last line: nothing
	if buf.Len() != 0 {
		t.Errorf("logged again at once: %q", buf.String())
	}
	if got := perSecond(5, 0); got != 0 {
		t.Errorf("perSecond over no time = %d", got)
	}
}
