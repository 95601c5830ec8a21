package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
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

// TestProgressETAResumed: a resumed run starts with the work of earlier
// invocations done; the ETA rests on this invocation's rate alone. 56 of
// 1181 done before, 10 more in 10 s: 1115 left at 1 a second, not the
// 0s of dividing this invocation's time by all 66.
func TestProgressETAResumed(t *testing.T) {
	var buf bytes.Buffer
	g := &globalOptions{stderr: &buf, LogFormat: "text", log: slog.New(slog.NewTextHandler(&buf, nil))}
	p := newProgress(g, "export")
	now := time.Now()
	p.now = func() time.Time { return now }
	p.Update(56, 1181, fetch.Stats{})
	if line := buf.String(); !strings.Contains(line, "done=56") || strings.Contains(line, "eta=") {
		t.Errorf("first line %q: want done=56 and no eta (nothing done yet in this invocation)", line)
	}
	buf.Reset()
	now = now.Add(logEvery)
	p.Update(66, 1181, fetch.Stats{})
	if line := buf.String(); !strings.Contains(line, "done=66") || !strings.Contains(line, "eta=18m35s") {
		t.Errorf("log line %q: want done=66 and eta=18m35s (1115 left at this invocation's 1 a second)", line)
	}
	// A fresh run: the same rate from 0.
	buf.Reset()
	p = newProgress(g, "export")
	p.now = func() time.Time { return now }
	p.Update(0, 100, fetch.Stats{})
	now = now.Add(logEvery)
	buf.Reset()
	p.Update(20, 100, fetch.Stats{})
	if line := buf.String(); !strings.Contains(line, "eta=40s") {
		t.Errorf("log line %q: want eta=40s", line)
	}
}

// TestProgressETARecentRate: the ETA rests on the last minute's rate,
// is not given for the first few items (a 90 s Retry-After before the
// first conversation made it promise 52 minutes for a run that ended at
// once), and not while nothing got done over the last minute.
func TestProgressETARecentRate(t *testing.T) {
	var buf bytes.Buffer
	g := &globalOptions{stderr: &buf, LogFormat: "text", log: slog.New(slog.NewTextHandler(&buf, nil))}
	p := newProgress(g, "export")
	now := time.Now()
	p.now = func() time.Time { return now }
	line := func(done int, after time.Duration) string {
		now = now.Add(after)
		buf.Reset()
		p.lastLog = time.Time{}
		p.Update(done, 100, fetch.Stats{})
		return buf.String()
	}
	line(0, 0)
	if l := line(1, 90*time.Second); strings.Contains(l, "eta=") {
		t.Errorf("after one item: %q, want no eta", l)
	}
	// A burst: 40 in the next 2 s; then 10 a minute for two minutes.
	line(41, 2*time.Second)
	line(46, 30*time.Second)
	line(51, 30*time.Second)
	line(56, 30*time.Second)
	if l := line(61, 30*time.Second); !strings.Contains(l, "eta=3m54s") {
		// 39 left at the last minute's 10 a minute; the average since
		// the start (60 in 212 s) would say 2m18s.
		t.Errorf("%q: want eta=3m54s", l)
	}
	if l := line(61, 70*time.Second); strings.Contains(l, "eta=") {
		t.Errorf("nothing done for 70 s: %q, want no eta", l)
	}
}
