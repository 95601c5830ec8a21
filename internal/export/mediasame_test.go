package export_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/sim"
)

// TestExportMediaNameMatchedSameBytesAgain: a copy matched by file name
// that serves bytes not of the stated sha256 is downloaded again by a
// later run (a cut in transit comes whole), but when that run is served
// the very same bytes it is recorded so and asked no more — before, every
// run downloaded each such attachment 3 times, for ever, appending
// nothing (commit review 4, M1; from its TestRevNameMatchedWrongBytesForever).
func TestExportMediaNameMatchedSameBytesAgain(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	shift := time.Until(now)
	var calls atomic.Int64
	e := newProxiedMediaEnv(t, 40, func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
		status, b, ok := upstream()
		if !ok {
			return
		}
		if status == http.StatusOK && len(b) > 0 {
			calls.Add(1)
			b[0] ^= 0xff // another file's bytes, of the same size, every time
		}
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}, func(o *sim.Options) {
		o.RecordingsOwnIDs, o.MediaURLTTL = true, sim.DefaultMediaURLTTL
		o.Now = func() time.Time { return time.Now().Add(shift) }
	})
	var served []int64
	var last struct{ retryable int }
	for i := 0; i < 3; i++ {
		before := calls.Load()
		acct := runAt(t, e, now.Add(time.Duration(i)*24*time.Hour))
		served = append(served, calls.Load()-before)
		last.retryable = acct.MediaRetryable
		t.Logf("run %d: %d bodies served, retryable %d", i+1, served[i], acct.MediaRetryable)
	}
	if served[2] != 0 || last.retryable != 0 {
		t.Fatalf("bodies served by run: %v, retryable after the third %d: want none on the third, none retryable", served, last.retryable)
	}
	settled := 0
	for _, m := range latestMediaRefs(t, e) {
		if m.Status == leaf.MediaRefused && strings.Contains(m.Reason, "matched by file name, size and type, not by id") {
			if !strings.Contains(m.Reason, "served sha256 ") || !strings.HasSuffix(m.Reason, "the very same again: not asked again") {
				t.Fatalf("name-matched copy serving the same bytes twice recorded %+v", m)
			}
			settled++
		}
	}
	if settled == 0 {
		t.Fatal("no name-matched copy settled")
	}
}
