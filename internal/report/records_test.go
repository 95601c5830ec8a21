package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestSelectionRecordsAgree: a report of one conversation (--conversation)
// certifies that conversation's records: its certificate's Records row
// gives the counts its statement gives, not the matter's, and section 7
// lists only the records shown (here not a conversation erased, nor
// another's missing attachment). And section 1's "attachments kept as
// evidence" counts what the store keeps, as the transcripts show it: an
// attachment erased or lost since is no longer counted. Before, the Records row gave the matter's counts
// beside the statement's, section 7 listed other conversations, and a
// lost attachment was still counted kept.
func TestSelectionRecordsAgree(t *testing.T) {
	ctx := context.Background()
	env, _ := capturedMatter(t)
	gen := func(convs ...string) *report.Doc {
		t.Helper()
		res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone, Conversations: convs})
		if err != nil {
			t.Fatal(err)
		}
		return readDoc(t, res.JSON)
	}
	base := gen()
	var media, mediaConv, other string
	for e, err := range env.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range d.(*leaf.MessageDetail).Media {
			if media == "" && m.Evidence != "" && m.Status == "" {
				media, mediaConv = m.Evidence, e.ConversationID
			}
		}
		if other == "" && media != "" && e.ConversationID != mediaConv {
			other = e.ConversationID
		}
	}
	if media == "" || other == "" {
		t.Fatalf("no downloaded attachment (%q) or no second conversation (%q)", media, other)
	}
	sel := gen(other)
	want := fmt.Sprintf("1 conversation, %d messages", sel.Transcripts.Messages)
	if !strings.HasPrefix(sel.Certificate.Records, want) || !strings.Contains(sel.Certificate.Statement, fmt.Sprintf("1 conversation and %d messages", sel.Transcripts.Messages)) {
		t.Errorf("certificate records %q, statement %q: want both to count the selection (%s)", sel.Certificate.Records, sel.Certificate.Statement, want)
	}
	// A third conversation erased whole (its attachments deleted with
	// it), and the attachment object lost from the store.
	var third string
	for _, c := range base.Transcripts.Items {
		if third == "" && !c.Held && c.ID != other && c.ID != mediaConv {
			third = c.ID
		}
	}
	if third == "" {
		t.Fatal("no third conversation to erase")
	}
	if _, err := erase.Erase(ctx, env.Ledger, env.Store, erase.Request{Conversations: []string{third}, Reason: "DSR-1", Operator: "dpo", SignerKey: env.Key}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(env.Dir, "evidence", "sha256", media[:2], media)); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, c := range gen().Transcripts.Items {
		for _, m := range c.Messages {
			for _, a := range m.Attachments {
				if a.Status == "downloaded" {
					kept++
				}
			}
		}
	}
	doc := gen(other)
	if doc.Summary.Attachments != kept || kept >= base.Summary.Attachments {
		t.Errorf("section 1 counts %d attachments kept, the transcripts show %d kept (%d before the erasure and the loss); want what is kept", doc.Summary.Attachments, kept, base.Summary.Attachments)
	}
	for _, x := range doc.Exceptions {
		if x.ConversationID != other && x.Kind != "failed" && x.Kind != report.KindPending {
			t.Errorf("section 7 of a report of %s lists %s of %s: %s", other, x.Kind, x.ConversationID, x.Reason)
		}
	}
}

// TestCapturedByIDCounted: the demo's refetch captured conversations by
// id, outside the interval its export was given. Section 1's "Intervals
// captured" says how many conversations were captured by id alone, so it
// does not read as the scope of every record. Before, it gave the
// intervals alone.
func TestCapturedByIDCounted(t *testing.T) {
	m, st, _ := openDemo(t)
	res, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Summary.CapturedByID == 0 || len(doc.Summary.Intervals) == 0 || !strings.Contains(string(b), fmt.Sprintf(`id="n-by-id" data-n="%d"`, doc.Summary.CapturedByID)) {
		t.Errorf("intervals %v, %d conversations captured by id; want the refetch's counted, and said in section 1", doc.Summary.Intervals, doc.Summary.CapturedByID)
	}
}
