package sim

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{
		"2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z",
		"2024-01-01T00:00:00+01:00/2024-01-01T00:00:01Z",
		"2024-01-01/2024-02-01", "/", "", "2024-01-01T00:00:00Z/2023-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := parseInterval(s)
		if err != nil {
			return
		}
		if !to.After(from) || !strings.Contains(s, "/") {
			t.Fatalf("parseInterval(%q) = %v, %v", s, from, to)
		}
		// Whatever parses compiles as a query over that interval.
		q, err := compileQuery(s, "", "", detailFilters{})
		if err != nil || !q.from.Equal(from) || !q.to.Equal(to) {
			t.Fatalf("compileQuery(%q): %v", s, err)
		}
	})
}

func FuzzJobCursor(f *testing.F) {
	s := &Server{seed: 5}
	f.Add("job-1", 10, 3, "")
	f.Add("job-2", 0, 0, "MTAuMy5kZWFkYmVlZg")
	f.Fuzz(func(t *testing.T, job string, pos, count int, other string) {
		if count < 0 {
			return
		}
		c := s.jobCursor(job, pos, count)
		p, n, ok := s.parseJobCursor(job, c)
		if !ok || p != pos || n != count {
			t.Fatalf("cursor %q of (%d, %d) parsed as (%d, %d, %v)", c, pos, count, p, n, ok)
		}
		if _, _, ok := s.parseJobCursor(job+"x", c); ok {
			t.Fatalf("cursor of job %q accepted for another job", job)
		}
		// Arbitrary input never panics; if accepted it round-trips.
		if p, n, ok := s.parseJobCursor(job, other); ok && s.jobCursor(job, p, n) != other {
			t.Fatalf("accepted cursor %q does not round-trip", other)
		}
	})
}

func TestBucket(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var l limiter
	l.init(120, 0, nil) // 2 tokens a second
	for k := range 120 {
		if r := l.take("t", "c", "r", t0); !r.ok || r.used != k+1 || r.allowed != 120 {
			t.Fatalf("take %d: %+v", k, r)
		}
	}
	r := l.take("t", "c", "r", t0)
	if r.ok || r.wait != 500*time.Millisecond || ceilSeconds(r.wait) != 1 || r.reset != time.Minute {
		t.Fatalf("empty bucket: %+v", r)
	}
	if r := l.take("other", "c", "r", t0); !r.ok {
		t.Fatal("buckets are per token")
	}
	if r := l.take("t", "c", "r", t0.Add(499*time.Millisecond)); r.ok {
		t.Fatal("a token appeared early")
	}
	if r := l.take("t", "c", "r", t0.Add(500*time.Millisecond)); !r.ok {
		t.Fatal("no token after the wait")
	}
}

func TestTimestampFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 1, 2, 3, 4, 5, 6_789_000, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("x", 5*3600+1800)),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.UnixMilli(1718000000123),
	} {
		if got, want := ts(tm), tm.UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
			t.Errorf("ts(%v) = %s, want %s", tm, got, want)
		}
	}
}
