package export_test

import (
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// TestExportMediaHostMoved: the same org served again with its
// attachments on another media host (a simulator restarted with the same
// seed: only its media port differs) is no change at the source. Genesys
// does not document its pre-signed storage host as stable; the rerun
// compares attachments without their urls (derive.StableHash), appends
// nothing and downloads nothing. The old code removed only the urls'
// queries: every message with an attachment was a changed_at_source entry
// superseding its first capture.
func TestExportMediaHostMoved(t *testing.T) {
	now := orgEnd.Add(10 * 24 * time.Hour)
	e := newMediaEnv(t, 40, now)
	first := e.run(t, mediaScope())
	if first.MediaDownloaded == 0 {
		t.Fatalf("first run: %+v, want attachments downloaded", first)
	}
	shift := time.Until(now)
	moved := simtest.Start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 7, Conversations: 40, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:    20 * time.Millisecond,
		AuditDelay:  20 * time.Millisecond,
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         func() time.Time { return time.Now().Add(shift) },
	})
	if moved.MediaURL == e.srv.MediaURL {
		t.Fatalf("both simulators serve media at %s", moved.MediaURL)
	}
	_, convsBefore := latestMessages(t, e)
	again := e.runWith(t, mediaScope(), simClient(t, moved))
	if again.MessagesChanged != 0 || len(again.ChangedAtSource) != 0 || again.MessagesAppended != 0 || again.Changed != 0 {
		t.Fatalf("rerun against the moved media host: %+v, want nothing changed at the source", again)
	}
	if again.Unchanged != again.Exported || again.MessagesUnchanged != first.MessagesAppended {
		t.Fatalf("rerun: %+v, want every conversation and message unchanged", again)
	}
	if n := moved.Stats().Routes[sim.MediaRoute].Requests; n != 0 {
		t.Errorf("%d attachment downloads from the moved host, want none", n)
	}
	if _, convs := latestMessages(t, e); convs != convsBefore {
		t.Errorf("%d conversation entries appended", convs-convsBefore)
	}
	checkVerified(t, e)
}
