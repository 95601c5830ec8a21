package report_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestEvidenceProblemsInExceptions: section 7 lists every evidence object
// verification finds altered or missing that the report's records depend
// on, not only the response bodies and conversation objects the
// transcripts read: an attachment's bytes and a message's opening
// altered, a hold answer altered, a bulk body deleted. Each object
// section 6 counts is in section 7 (report.json and report.html) with
// the entry that names it; the attachment's transcript says
// evidence_altered, not downloaded; the messages of the deleted body are
// evidence_missing, not captured; the certificate is withheld. Before,
// section 7 listed none of them and the attachment read "downloaded".
func TestEvidenceProblemsInExceptions(t *testing.T) {
	ctx := context.Background()
	env, _ := capturedMatter(t)
	path := func(sum string) string { return filepath.Join(env.Dir, "evidence", "sha256", sum[:2], sum) }
	alter := func(sum string) {
		t.Helper()
		b, err := os.ReadFile(path(sum))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path(sum), append(b, 'X'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Pick the objects: an attachment and an opening of one message, the
	// hold answer of one conversation, the bulk body of another.
	var media, opening, hold, body, mediaMsg, mediaConv, bodyConv string
	type bulk struct{ sum, conv string }
	var bodies []bulk // the bulk body deleted must not be the attachment's message's
	for e, err := range env.Ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			continue
		}
		switch d := d.(type) {
		case *leaf.MessageDetail:
			if media == "" && d.OpeningEvidence != "" {
				for _, m := range d.Media {
					if m.Evidence != "" && m.Status == "" {
						media, opening, mediaMsg, mediaConv = m.Evidence, d.OpeningEvidence, e.MessageID, e.ConversationID
						break
					}
				}
			}
		case *leaf.ConversationDetail:
			if hold == "" && d.HoldEvidenceSHA256 != "" {
				hold = d.HoldEvidenceSHA256
			} else if len(d.BulkEvidenceSHA256) == 1 && d.BulkEvidenceSHA256[0] != "" && d.Messages > 0 {
				bodies = append(bodies, bulk{d.BulkEvidenceSHA256[0], e.ConversationID})
			}
		}
	}
	for _, b := range bodies {
		if b.conv != mediaConv {
			body, bodyConv = b.sum, b.conv
			break
		}
	}
	if media == "" || hold == "" || body == "" {
		t.Fatalf("the captured matter lacks an attachment with a v3 opening (%q), a hold answer (%q) or a bulk body (%q)", media, hold, body)
	}
	alter(media)
	alter(opening)
	alter(hold)
	if err := os.Remove(path(body)); err != nil {
		t.Fatal(err)
	}

	for _, paged := range []bool{false, true} {
		o := report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone}
		if paged {
			o.PageAbove, o.PerPage = -1, 2
		}
		res, err := report.Generate(ctx, env.Ledger, env.Store, o)
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, res.JSON)
		if v := doc.Integrity.Verified; v.OK || v.EvidenceAltered != 3 || v.EvidenceMissing != 1 {
			t.Errorf("section 6: %+v; want 3 altered, 1 missing", v)
		}
		// Every object section 6 counts is in section 7, with its kind.
		want := map[string]string{media: report.StatusAltered, opening: report.StatusAltered, hold: report.StatusAltered, body: report.StatusMissing}
		got := map[string]string{}
		for _, x := range doc.Exceptions {
			if x.Ledger != nil {
				got[x.Ledger.EvidenceSHA256] = x.Kind
			}
		}
		for sum, kind := range want {
			if got[sum] != kind {
				t.Errorf("paged %v: section 7 lists object %s as %q, want %q", paged, sum, got[sum], kind)
			}
		}
		b, _ := os.ReadFile(res.HTML)
		_, section7, _ := strings.Cut(string(b), `<section id="exceptions">`)
		section7, _, _ = strings.Cut(section7, "</section>")
		for sum := range want {
			if !strings.Contains(section7, sum) {
				t.Errorf("paged %v: report.html's section 7 does not name object %s", paged, sum)
			}
		}
		missing := 0
		for _, c := range doc.Transcripts.Items {
			for _, m := range c.Messages {
				if c.ID == bodyConv {
					if !slices.Contains(m.Status, report.StatusMissing) || slices.Contains(m.Status, "captured") {
						t.Errorf("paged %v: message %s of the deleted body: status %v", paged, m.ID, m.Status)
					}
					missing++
					if !slices.ContainsFunc(doc.Exceptions, func(x report.Exception) bool {
						return x.Kind == report.StatusMissing && x.MessageID == m.ID && x.Ledger != nil && x.Ledger.EvidenceSHA256 == body
					}) {
						t.Errorf("paged %v: message %s of the deleted body is not in section 7", paged, m.ID)
					}
				}
			}
		}
		if missing == 0 || res.EvidenceMissing != missing {
			t.Errorf("paged %v: %d messages of the deleted body shown, result evidence_missing %d", paged, missing, res.EvidenceMissing)
		}
		if statuses := attachmentStatuses(doc, mediaMsg); !slices.Contains(statuses, report.StatusAltered) {
			t.Errorf("paged %v: message %s's attachments %v: the altered one is not shown evidence_altered", paged, mediaMsg, statuses)
		}
		if !doc.Certificate.Withheld || res.Verified {
			t.Errorf("paged %v: certificate withheld %v, verified %v", paged, doc.Certificate.Withheld, res.Verified)
		}
	}
}

// attachmentStatuses are the statuses of message id's attachments in doc.
func attachmentStatuses(doc *report.Doc, id string) []string {
	var out []string
	for _, c := range doc.Transcripts.Items {
		for _, m := range c.Messages {
			if m.ID == id {
				for _, a := range m.Attachments {
					out = append(out, a.Status)
				}
			}
		}
	}
	return out
}
