package report_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/report"
)

// TestAttachmentsHeldOneRule: erasing a message deletes the response body
// it shared with others, attachments and all of theirs but their
// objects. Section 1 counted the attachments of those body-erased
// messages (their objects are still in the store) while the certificate
// counted what the transcripts show, which shows none of them: one
// report said 31 and 28. Both now count what is still held as evidence
// — attachments of a message still held — and the certificate's Records
// row says how many of its messages are no longer held, where it called
// every message "held as evidence".
func TestAttachmentsHeldOneRule(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	before := filepath.Join(t.TempDir(), "before")
	if _, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: before, Proofs: report.ProofsNone, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	doc1 := readDoc(t, filepath.Join(before, "report.json"))
	// A message with an attachment downloaded, and another message of its
	// conversation to erase.
	var victim, withMedia string
	for _, c := range doc1.Transcripts.Items {
		if c.Held || victim != "" {
			continue
		}
		for _, m := range c.Messages {
			if slices.ContainsFunc(m.Attachments, func(a report.Attachment) bool { return a.Status == "downloaded" }) {
				withMedia = m.ID
				break
			}
		}
		if withMedia == "" {
			continue
		}
		for _, m := range c.Messages {
			if m.ID != withMedia && len(m.Attachments) == 0 {
				victim = m.ID
				break
			}
		}
		if victim == "" {
			withMedia = ""
		}
	}
	if victim == "" {
		t.Fatal("no conversation with a message with an attachment and one without: the fixture needs one")
	}
	r, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Messages: []string{victim}, Reason: "DSR-7", Operator: "dpo", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r.Detail.Collateral, withMedia) {
		t.Fatalf("erasing %s did not delete the body of %s (collateral %v): the test needs it", victim, withMedia, r.Detail.Collateral)
	}
	after := filepath.Join(t.TempDir(), "after")
	if _, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: after, Proofs: report.ProofsNone, NoRecord: true}); err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, filepath.Join(after, "report.json"))
	shown := 0
	for _, c := range doc.Transcripts.Items {
		for _, m := range c.Messages {
			for _, a := range m.Attachments {
				if a.Status == "downloaded" {
					shown++
				}
			}
		}
	}
	want := fmt.Sprintf("%d attachments held as evidence", shown)
	if shown == 1 {
		want = "1 attachment held as evidence"
	}
	if doc.Summary.Attachments != shown || !strings.HasSuffix(doc.Certificate.Records, want) {
		t.Errorf("section 1 counts %d attachments, the transcripts show %d, the certificate's records %q: want one count", doc.Summary.Attachments, shown, doc.Certificate.Records)
	}
	if shown >= doc1.Summary.Attachments {
		t.Errorf("%d attachments held after the erasure, %d before: the body-erased message's were counted", shown, doc1.Summary.Attachments)
	}
	if !strings.Contains(doc.Certificate.Records, "1 erased") || !strings.Contains(doc.Certificate.Records, "no longer held") {
		t.Errorf("certificate's records %q: want it to say which messages are no longer held", doc.Certificate.Records)
	}
}
