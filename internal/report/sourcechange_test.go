package report_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
)

// TestDeletedAndEditedAtSource: a message its sender deleted at the
// source before capture (normalizedMessage.channel.dateDeleted, the
// ledger's detail.date_deleted) and one edited there (dateModified) are
// marked as such in report.json (date_deleted, date_modified, and the
// status) and on the page. Before, both read as ordinary captured
// messages: an empty text, and an edited text under the original time.
func TestDeletedAndEditedAtSource(t *testing.T) {
	const deleted, edited = "2024-03-01T10:10:04.961Z", "2024-03-01T10:11:07.000Z"
	env := hostileMatter(t, "short", func(i int, m map[string]any) {
		ch := m["normalizedMessage"].(map[string]any)["channel"].(map[string]any)
		switch i {
		case 0:
			ch["dateDeleted"] = deleted
		case 1:
			ch["dateModified"] = edited
		}
	})
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if !doc.Integrity.Verified.OK {
		t.Fatalf("the fixture does not verify: %v", doc.Integrity.Verified.Failures)
	}
	byID := map[string]*report.Message{}
	for _, m := range doc.Transcripts.Items[0].Messages {
		byID[m.ID] = m
	}
	if m := byID["m00"]; m == nil || m.DateDeleted != deleted || !slices.Contains(m.Status, report.StatusDeletedAtSource) {
		t.Errorf("the message deleted at the source: %+v; want date_deleted %s and its status", m, deleted)
	}
	if m := byID["m01"]; m == nil || m.DateModified != edited || !slices.Contains(m.Status, report.StatusEditedAtSource) {
		t.Errorf("the message edited at the source: %+v; want date_modified %s and its status", m, edited)
	}
	if m := byID["m02"]; m == nil || m.DateDeleted != "" || m.DateModified != "" || len(m.Status) != 1 {
		t.Errorf("a message neither deleted nor edited: %+v", m)
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if page := string(b); !strings.Contains(page, "Deleted by its sender at the source at "+deleted) || !strings.Contains(page, "Edited at the source at "+edited) {
		t.Error("report.html does not mark the messages deleted and edited at the source")
	}
}
