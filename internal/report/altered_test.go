package report_test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
)

// alterEvidence rewrites, in place, the evidence object under dir/evidence
// whose content is a what (edit must change it): the object then no
// longer hashes to its address, as when someone edits the store.
func alterEvidence(t *testing.T, dir, what string, is func(content string) bool, edit func(string) string) {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, "evidence"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); is(string(b)) {
				found = p
			}
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s in the evidence folder", what)
	}
	b, err := os.ReadFile(found)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(b))
	if changed == string(b) {
		t.Fatalf("the edit leaves the %s as it was", what)
	}
	if err := os.WriteFile(found, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// certified is what a report says the certificate certifies, and whether
// the page asks for a signature.
func certifies(t *testing.T, res *report.Result, doc *report.Doc) (json, html bool) {
	t.Helper()
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	json = !doc.Certificate.Withheld && strings.Contains(doc.Certificate.Statement, "are true copies")
	html = strings.Contains(page, "are true copies") || strings.Contains(page, "I declare under penalty of perjury") || strings.Contains(page, `id="signature-line"`)
	return json, html
}

// TestAlteredEvidenceNotShown: a response body changed in the store after
// capture no longer hashes to its address. The report must not show its
// text as the message Genesys returned: each message it holds is marked
// evidence_altered, with none of its content (text, sender, recipient,
// attachments) in report.json or report.html, and the certificate is
// withheld, with nothing to sign. Verification failed, so the report is
// written and recorded (docs/report.md says why) and Verified is false.
func TestAlteredEvidenceNotShown(t *testing.T) {
	env := hostileMatter(t, "short")
	const forged = "FORGED-TEXT-7d1c"
	alterEvidence(t, env.Dir, "bulk body", func(b string) bool { return strings.HasPrefix(b, `{"entities"`) },
		func(b string) string { return strings.ReplaceAll(b, `"text":"short"`, `"text":"`+forged+`"`) })
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key, Proofs: report.ProofsAll})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if res.Verified || doc.Integrity.Verified.OK || doc.Integrity.Verified.EvidenceAltered != 1 {
		t.Errorf("verified %v, section 6 %+v: want failed, 1 object altered", res.Verified, doc.Integrity.Verified)
	}
	msgs := doc.Transcripts.Items[0].Messages
	if res.EvidenceAltered != len(msgs) || doc.Transcripts.Items[0].EvidenceAltered != len(msgs) {
		t.Errorf("evidence_altered: result %d, conversation %d; want every message (%d)", res.EvidenceAltered, doc.Transcripts.Items[0].EvidenceAltered, len(msgs))
	}
	for _, m := range msgs {
		altered := false
		for _, s := range m.Status {
			altered = altered || s == report.StatusAltered
			if s == "captured" {
				t.Errorf("message %s: status %v still says captured", m.ID, m.Status)
			}
		}
		if !altered || m.Text != "" || m.From != "" || m.To != "" || m.Sender != "" || len(m.Attachments) != 0 ||
			!strings.Contains(m.Error, "does not match its address") {
			t.Errorf("message %s: status %v, text %q, from %q, sender %q, %d attachments, error %q; want it marked altered and nothing of the object shown",
				m.ID, m.Status, m.Text, m.From, m.Sender, len(m.Attachments), m.Error)
		}
		if m.Seq == 0 || m.LeafHash == "" || m.Proof == "" {
			t.Errorf("message %s: the ledger's facts are gone: %+v", m.ID, m)
		}
	}
	for _, f := range []string{res.HTML, res.JSON} {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), forged) {
			t.Errorf("%s shows the altered text", filepath.Base(f))
		}
	}
	html, _ := os.ReadFile(res.HTML)
	if n := strings.Count(string(html), `<span class="status bad">evidence_altered</span>`); n != len(msgs) {
		t.Errorf("report.html marks %d messages evidence_altered, want %d", n, len(msgs))
	}
	if !strings.Contains(string(html), "Not shown: the evidence that holds this message does not hash to its address") {
		t.Error("report.html does not say why a message's text is not shown")
	}
	if j, h := certifies(t, res, doc); j || h || !doc.Certificate.Withheld {
		t.Errorf("the certificate certifies (report.json %v, report.html %v, withheld %v): %s", j, h, doc.Certificate.Withheld, doc.Certificate.Statement)
	}
	if !strings.Contains(doc.Certificate.Statement, "verifying the ledger and its evidence failed") ||
		!strings.Contains(doc.Certificate.Statement, "evidence that does not hash to its address") {
		t.Errorf("the withheld certificate does not say why: %s", doc.Certificate.Statement)
	}
	if res.Seq == nil {
		t.Error("the report was not recorded: a report that shows verification failed is recorded (docs/report.md)")
	}
}

// TestAlteredEvidenceNoVerify: with --no-verify the report still checks
// each object it reads, and says the certificate is withheld for both
// reasons.
func TestAlteredEvidenceNoVerify(t *testing.T) {
	env := hostileMatter(t, "short")
	alterEvidence(t, env.Dir, "conversation object", func(b string) bool { return strings.Contains(b, `"participants"`) },
		func(b string) string { return strings.Replace(b, "Mallory", "Mallroy", 1) })
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), NoVerify: true, NoRecord: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	c := doc.Transcripts.Items[0]
	if len(c.Participants) != 0 || !strings.Contains(c.ParticipantsError, "does not match its address") {
		t.Errorf("participants %+v, error %q; want none, and why", c.Participants, c.ParticipantsError)
	}
	if res.EvidenceAltered != 1 || c.EvidenceAltered != 0 {
		t.Errorf("evidence_altered: result %d, conversation %d; want 1 (the conversation object), 0 messages", res.EvidenceAltered, c.EvidenceAltered)
	}
	for _, f := range []string{res.HTML, res.JSON} {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "Mallroy") {
			t.Errorf("%s shows the altered participant", filepath.Base(f))
		}
	}
	html, _ := os.ReadFile(res.HTML)
	if !strings.Contains(string(html), `<span class="status bad">evidence altered</span>`) {
		t.Error("report.html does not mark the conversation's evidence altered")
	}
	if j, h := certifies(t, res, doc); j || h {
		t.Errorf("the certificate certifies: %s", doc.Certificate.Statement)
	}
	if s := doc.Certificate.Statement; !strings.Contains(s, "not verified") || !strings.Contains(s, "1 conversation object") {
		t.Errorf("the withheld certificate does not give both reasons: %s", s)
	}
}

// TestCertificateWithheldUnverified: the certificate certifies only what
// was verified when the report was written: given with verification
// passed, withheld (no "true copies", nothing to sign) with --no-verify.
func TestCertificateWithheldUnverified(t *testing.T) {
	env := hostileMatter(t, "short")
	for _, noVerify := range []bool{false, true} {
		res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), NoVerify: noVerify, NoRecord: true})
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, res.JSON)
		j, h := certifies(t, res, doc)
		switch {
		case noVerify && (j || h || !doc.Certificate.Withheld || !strings.Contains(doc.Certificate.Statement, "--no-verify")):
			t.Errorf("--no-verify: the certificate certifies (report.json %v, report.html %v): %s", j, h, doc.Certificate.Statement)
		case !noVerify && (!j || !h || doc.Certificate.Withheld):
			t.Errorf("verified: the certificate is withheld (report.json %v, report.html %v): %s", j, h, doc.Certificate.Statement)
		}
	}
}

// TestAlteredEvidenceInExceptions: section 7 lists every message, and the
// conversation, whose evidence the transcripts found altered — kind
// evidence_altered, with what the ledger holds for it (the entry's seq,
// leaf hash and payload hash, and the address of the object it names) —
// in report.json and in report.html, paged or not, beside the other
// exceptions.
func TestAlteredEvidenceInExceptions(t *testing.T) {
	for _, paged := range []bool{false, true} {
		t.Run(map[bool]string{false: "one page", true: "paged"}[paged], func(t *testing.T) {
			env := hostileMatter(t, "short")
			alterEvidence(t, env.Dir, "bulk body", func(b string) bool { return strings.HasPrefix(b, `{"entities"`) },
				func(b string) string { return strings.ReplaceAll(b, `"text":"short"`, `"text":"FORGED"`) })
			alterEvidence(t, env.Dir, "conversation object", func(b string) bool { return strings.Contains(b, `"participants"`) },
				func(b string) string { return strings.Replace(b, "Mallory", "Mallroy", 1) })
			o := report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key}
			if paged {
				o.PageAbove, o.PerPage = -1, 1
			}
			res, err := report.Generate(context.Background(), env.Ledger, env.Store, o)
			if err != nil {
				t.Fatal(err)
			}
			doc := readDoc(t, res.JSON)
			c := doc.Transcripts.Items[0]
			want := map[string]*report.Message{"": nil} // "": the conversation object
			for _, m := range c.Messages {
				want[m.ID] = m
			}
			html, _ := os.ReadFile(res.HTML)
			_, section7, _ := strings.Cut(string(html), `<section id="exceptions">`)
			section7, _, _ = strings.Cut(section7, "</section>")
			got := 0
			for _, x := range doc.Exceptions {
				if x.Kind != report.StatusAltered {
					continue
				}
				got++
				m, ok := want[x.MessageID]
				if !ok || x.ConversationID != c.ID || x.Ledger == nil {
					t.Errorf("exception %+v: not one of conversation %s's altered records, or no ledger facts", x, c.ID)
					continue
				}
				delete(want, x.MessageID)
				l := x.Ledger
				switch {
				case m == nil && (l.Seq != c.Seq || l.LeafHash != c.LeafHash || l.PayloadSHA256 != "" || !strings.Contains(x.Reason, c.ParticipantsError)):
					t.Errorf("conversation exception %+v (%+v): want seq %d, leaf hash %s, and why", x, *l, c.Seq, c.LeafHash)
				case m != nil && (l.Seq != m.Seq || l.LeafHash != m.LeafHash || l.PayloadSHA256 != m.PayloadSHA256 || !strings.Contains(x.Reason, m.Error)):
					t.Errorf("message exception %+v (%+v): want seq %d, leaf hash %s, payload %s, and why", x, *l, m.Seq, m.LeafHash, m.PayloadSHA256)
				}
				if _, err := os.Stat(filepath.Join(env.Dir, "evidence", "sha256", l.EvidenceSHA256[:2], l.EvidenceSHA256)); err != nil {
					t.Errorf("exception %s/%s: evidence_sha256 %s names no object in the store: %v", x.ConversationID, x.MessageID, l.EvidenceSHA256, err)
				}
				if !strings.Contains(section7, ">"+cmp.Or(x.MessageID, x.ConversationID)+"</code>") || !strings.Contains(section7, l.LeafHash) {
					t.Errorf("report.html's section 7 does not list %s/%s with its leaf hash", x.ConversationID, x.MessageID)
				}
			}
			if len(want) != 0 || got != res.EvidenceAltered {
				t.Errorf("section 7 lists %d evidence_altered records (result: %d); not listed: %v", got, res.EvidenceAltered, want)
			}
			if strings.Count(section7, `<code class="kind">`+report.StatusAltered+"</code>") != got {
				t.Errorf("report.html's section 7 has %d evidence_altered rows, report.json %d", strings.Count(section7, `<code class="kind">`+report.StatusAltered+"</code>"), got)
			}
			if strings.Contains(section7, "FORGED") || strings.Contains(section7, "Mallroy") {
				t.Error("section 7 shows altered content")
			}
		})
	}
}
