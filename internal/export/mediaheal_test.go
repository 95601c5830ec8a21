package export_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// oldNoCopy is the reason an export before copies were matched by their
// file name, size and type recorded for an attachment past the 30 days
// whose ids the recording did not share (review-genesys finding 7).
const oldNoCopy = "403 Forbidden: AccessDenied: Request has expired; the conversation's recording names no copy of it"

// TestExportMediaOldNoCopyHealed: a ledger an older export wrote when
// the Recordings service named its copies with ids of its own holds every
// attachment past the 30 days as expired, "the conversation's recording
// names no copy of it". That wording says the copies were never matched
// by what they state, so a later run asks the Recordings service once
// more: the copies matched now are downloaded, and one still unmatched (a
// sticker) is recorded in the new wording, which a run after it does not
// ask again (commit review 2, M2). Before, the old wording was read as
// final and those attachments were lost for good, the runs done.
func TestExportMediaOldNoCopyHealed(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	e := newMediaEnv(t, 40, now, func(o *sim.Options) { o.RecordingsOwnIDs = true })
	ctx := context.Background()
	runAt(t, e, now)

	// Write the ledger as the older export left it: every attachment past
	// the 30 days expired, with the old reason.
	past := map[string]bool{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			md, _ := c.Message(a.MessageID)
			at, err := time.Parse(time.RFC3339Nano, md.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			past[a.ID] = !now.Before(at.Add(sim.DefaultMediaURLTTL))
		}
	}
	path := filepath.Join(e.dir, "custody.db")
	var seqs []uint64
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mediaOf(t, en) {
			if past[m.ID] {
				seqs = append(seqs, en.Seq)
				break
			}
		}
	}
	if len(seqs) == 0 {
		t.Fatal("no attachment past the 30 days in the org")
	}
	for _, seq := range seqs {
		if err := ledgertest.Rewrite(ctx, path, e.key, seq, func(en *leaf.Entry) {
			editDetail(en, func(d *leaf.MessageDetail) {
				for i, m := range d.Media {
					if past[m.ID] {
						d.Media[i] = leaf.MediaRef{ID: m.ID, Status: leaf.MediaExpired, Reason: oldNoCopy}
					}
				}
			})
		}); err != nil {
			t.Fatal(err)
		}
	}

	runAt(t, e, now.Add(time.Hour))
	got := latestMediaRefs(t, e)
	matched, stickers := 0, 0
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			if !past[a.ID] {
				continue
			}
			m := got[a.ID]
			switch {
			case a.Sticker:
				if m.Status != leaf.MediaExpired || !strings.Contains(m.Reason, "no copy in the conversation's recording matched it") {
					t.Fatalf("sticker %s recorded %q before, then %+v: want the new answer recorded", a.ID, oldNoCopy, m)
				}
				stickers++
			case m.Status != "" || m.Evidence != a.Sha256:
				t.Fatalf("attachment %s (%s) recorded %q by an older export, then %+v: want its copy matched and downloaded", a.ID, a.Filename, oldNoCopy, m)
			default:
				matched++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no attachment recorded with the old reason was a copy's")
	}

	// The new wording is final: a later run appends nothing.
	messages := func() (n int) {
		for _, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	before := messages()
	runAt(t, e, now.Add(2*time.Hour))
	if after := messages(); after != before {
		t.Fatalf("a run after the answer was recorded appended %d message entries", after-before)
	}
	t.Logf("%d copies matched by a later run, %d stickers recorded unmatched", matched, stickers)
}
