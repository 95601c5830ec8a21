package report_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/dirtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// TestDemoReport checks the report the demo writes against the ledger
// and the stored findings, read independently: its numbers, section 2's
// held conversations that lost messages, the schema, and that the HTML
// says what the JSON says.
func TestDemoReport(t *testing.T) {
	res := demoMatter(t)
	ctx := context.Background()
	doc := readDoc(t, res.Report.JSON)
	m, st, _ := openDemo(t)
	l := m.Ledger
	want := countLedger(t, l, *res.Report.Seq)
	if doc.Summary.Conversations != want.conversations || doc.Summary.Messages != want.messages || doc.Summary.HeldConversations != want.held ||
		doc.Summary.Attachments != want.attachments {
		t.Errorf("summary %+v, ledger has %d conversations, %d messages, %d held", doc.Summary, want.conversations, want.messages, want.held)
	}
	if doc.Integrity.LedgerSize != want.size || doc.Integrity.Root != want.root.String() {
		t.Errorf("integrity: size %d root %s, ledger before the report: %d %s", doc.Integrity.LedgerSize, doc.Integrity.Root, want.size, want.root)
	}
	if !doc.Integrity.Verified.OK || doc.Integrity.Verified.ExternalCheckpoints != 1 || doc.Integrity.Verified.EvidenceReferenced == 0 {
		t.Errorf("verified %+v", doc.Integrity.Verified)
	}
	if doc.Transcripts.Messages != want.messages || len(doc.Transcripts.Items) != want.conversations {
		t.Errorf("transcripts: %d messages in %d conversations", doc.Transcripts.Messages, len(doc.Transcripts.Items))
	}
	n := 0
	for _, c := range doc.Transcripts.Items {
		n += len(c.Messages)
		for _, msg := range c.Messages {
			if msg.Error != "" || msg.TimeLocal == "" || msg.Sender == "" {
				t.Fatalf("message %s: %+v", msg.ID, msg)
			}
		}
	}
	if n != want.messages {
		t.Errorf("transcripts carry %d messages, ledger %d", n, want.messages)
	}

	// The diff: the latest one, its counts as recorded.
	if doc.Diff == nil || doc.Diff.RunID != res.SecondDiff.RunID {
		t.Fatalf("diff %+v, want the latest (%s)", doc.Diff, res.SecondDiff.RunID)
	}
	for k, c := range res.SecondDiff.Summary.Counts {
		if doc.Diff.Counts[string(k)] != c {
			t.Errorf("diff count %s: %d, recorded %d", k, doc.Diff.Counts[string(k)], c)
		}
	}

	// Section 2, from the findings read back independently.
	run, dr, err := reconcile.FindDiff(ctx, l, res.SecondDiff.RunID)
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]map[string]bool{} // held conversation → messages missing from the export
	holdsLost, heldUnmarked := 0, 0
	err = reconcile.StreamFindings(ctx, st, run.ID, dr, func(f diff.Finding) error {
		if f.Kind == finding.FormatLacks && f.Field == finding.FieldLegalHold {
			for _, pair := range strings.Split(f.Expected, ";") {
				if v, n, _ := strings.Cut(pair, "="); v == "true" {
					heldUnmarked, _ = strconv.Atoi(n)
				}
			}
		}
		if !want.heldIDs[f.ConversationID] {
			return nil
		}
		if f.Kind == finding.MissingFromExport {
			if missing[f.ConversationID] == nil {
				missing[f.ConversationID] = map[string]bool{}
			}
			missing[f.ConversationID][f.MessageID] = true
		}
		if f.Kind == finding.FieldStripped && f.Field == finding.FieldLegalHold && f.Expected == "true" {
			holdsLost++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) == 0 {
		t.Fatal("the demo's export lost no message of a held conversation: the test needs a seed where it does")
	}
	// A Genesys export cannot hold a legal hold at all: no message of it
	// lost one (holds_stripped 0), and section 2 says how many captured
	// under a hold of true its format could not mark.
	if doc.LegalHold.HoldsStripped != holdsLost || holdsLost != 0 {
		t.Errorf("holds stripped %d, findings say %d (a Genesys export has no legal-hold field to lose)", doc.LegalHold.HoldsStripped, holdsLost)
	}
	if !doc.LegalHold.FormatCannotHold || doc.LegalHold.HeldUnmarked != heldUnmarked || heldUnmarked == 0 {
		t.Errorf("section 2: format cannot hold %v, %d held messages unmarked; the format_lacks finding says %d",
			doc.LegalHold.FormatCannotHold, doc.LegalHold.HeldUnmarked, heldUnmarked)
	}
	total := 0
	for conv, msgs := range missing {
		total += len(msgs)
		var hc *report.HeldConversation
		for i := range doc.LegalHold.Held {
			if doc.LegalHold.Held[i].ID == conv {
				hc = &doc.LegalHold.Held[i]
			}
		}
		if hc == nil || hc.Counts[string(finding.MissingFromExport)] != len(msgs) {
			t.Errorf("held conversation %s lost %d messages; section 2 has %+v", conv, len(msgs), hc)
			continue
		}
		for id := range msgs {
			found := false
			for _, a := range hc.Affected {
				found = found || a.MessageID == id && strings.Contains(strings.Join(a.Kinds, " "), string(finding.MissingFromExport))
			}
			if !found {
				t.Errorf("held conversation %s: message %s missing from the export is not named", conv, id)
			}
		}
	}
	if doc.LegalHold.Missing != total {
		t.Errorf("held messages missing: %d, findings say %d", doc.LegalHold.Missing, total)
	}
	if len(doc.LegalHold.Held) != want.held || doc.LegalHold.Affected == 0 {
		t.Errorf("section 2 lists %d held conversations (ledger %d), %d affected", len(doc.LegalHold.Held), want.held, doc.LegalHold.Affected)
	}

	// Section 3 states the legal-hold field once, with the true values.
	var lh *report.FormatGap
	for i := range doc.FormatGaps {
		if doc.FormatGaps[i].Field == finding.FieldLegalHold {
			lh = &doc.FormatGaps[i]
		}
	}
	if lh == nil || !lh.Format || lh.Kind != string(finding.FormatLacks) || lh.TrueValues["true"] != heldUnmarked {
		t.Errorf("format limits: legal_hold %+v", lh)
	}
	// Each row's true values account for every message it counts
	// (TestTrueValuesAddUp has such rows; the demo's Genesys export only
	// format_lacks ones).
	for _, g := range doc.FormatGaps {
		sum := 0
		for _, n := range g.TrueValues {
			sum += n
		}
		if g.Kind == string(finding.FieldStripped) {
			if sum != g.Absent {
				t.Errorf("format limits: %s absent from %d messages, true values %v add up to %d", g.Field, g.Absent, g.TrueValues, sum)
			}
		}
	}
	// Section 4: every kind of the table, with its meaning.
	if len(doc.Findings) != len(finding.Kinds()) {
		t.Errorf("findings table has %d kinds, the finding table %d", len(doc.Findings), len(finding.Kinds()))
	}
	for _, k := range doc.Findings {
		if k.Meaning == "" || k.Severity == "" {
			t.Errorf("kind %s: no meaning or severity", k.Kind)
		}
	}

	// The HTML says what the JSON says.
	html, err := os.ReadFile(res.Report.HTML)
	if err != nil {
		t.Fatal(err)
	}
	nums := htmlNumbers(t, string(html))
	for id, v := range map[string]int{"n-conversations": doc.Summary.Conversations, "n-messages": doc.Summary.Messages,
		"n-held": doc.Summary.HeldConversations, "n-held-affected": doc.LegalHold.Affected, "n-holds-stripped": doc.LegalHold.HoldsStripped,
		"n-held-missing": doc.LegalHold.Missing, "n-findings": doc.Diff.Findings, "n-ledger-size": int(doc.Integrity.LedgerSize)} {
		if got, ok := nums[id]; !ok || got != v {
			t.Errorf("report.html #%s = %d (present %v), report.json %d", id, got, ok, v)
		}
	}
	if !strings.Contains(string(html), doc.Integrity.Root) {
		t.Error("report.html lacks the Merkle root")
	}
	// Proofs of the held conversations' messages verify offline.
	proofs := 0
	for _, c := range doc.Transcripts.Items {
		for _, msg := range c.Messages {
			if msg.Proof == "" {
				if c.Held {
					t.Errorf("message %s of held conversation %s has no proof", msg.ID, c.ID)
				}
				continue
			}
			proofs++
			b, err := os.ReadFile(filepath.Join(res.ReportDir, msg.Proof))
			if err != nil {
				t.Fatal(err)
			}
			p, err := leaf.ParseProof(b)
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Verify(l.VerifierKey())
			if err != nil || r.Entry.MessageID != msg.ID || r.Entry.Seq != msg.Seq {
				t.Fatalf("proof %s: %v (%s seq %d)", msg.Proof, err, r.Entry.MessageID, r.Entry.Seq)
			}
		}
	}
	if proofs == 0 || proofs != res.Report.Proofs {
		t.Errorf("%d proofs linked, %d written", proofs, res.Report.Proofs)
	}
}

// TestReportRecorded checks the report entry: it names every file, the
// files verify, and one byte changed does not.
func TestReportRecorded(t *testing.T) {
	res := demoMatter(t)
	m, _, _ := openDemo(t)
	ctx := context.Background()
	e, err := m.Ledger.Entry(ctx, *res.Report.Seq)
	if err != nil {
		t.Fatal(err)
	}
	d, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil || e.Kind != leaf.KindReport {
		t.Fatalf("entry %d: %s %v", e.Seq, e.Kind, err)
	}
	rd := d.(*leaf.ReportDetail)
	if len(rd.Files) != 2 || rd.Files[0].Name != "report.html" || rd.Files[1].Name != "report.json" || rd.LedgerSize != *res.Report.Seq {
		t.Errorf("report detail %+v", rd)
	}
	for _, name := range []string{"report.html", "report.json"} {
		b, err := os.ReadFile(filepath.Join(res.ReportDir, name))
		if err != nil {
			t.Fatal(err)
		}
		match, err := verify.ReportFile(ctx, m.Ledger, name, strings.NewReader(string(b)))
		if err != nil || !match.Found || !match.Covered || match.Name != name || match.Finding() != nil {
			t.Errorf("%s: %+v %v", name, match, err)
		}
		for _, at := range []int{0, len(b) / 2, len(b) - 1} {
			c := []byte(string(b))
			c[at] ^= 0x01
			match, err := verify.ReportFile(ctx, m.Ledger, name, strings.NewReader(string(c)))
			if err != nil || match.Found || match.Finding() == nil {
				t.Errorf("%s with byte %d flipped: %+v %v", name, at, match, err)
			}
		}
	}
	// Proof files are not recorded (docs/report.md): verify --report of
	// one fails, and says it is a proof file and how to check it.
	proofs, err := filepath.Glob(filepath.Join(res.ReportDir, "proofs", "*.proof.json"))
	if err != nil || len(proofs) == 0 {
		t.Fatalf("no proof files in the demo's report: %v", err)
	}
	b, err := os.ReadFile(proofs[0])
	if err != nil {
		t.Fatal(err)
	}
	match, err := verify.ReportFile(ctx, m.Ledger, proofs[0], strings.NewReader(string(b)))
	if err != nil || match.Found {
		t.Fatalf("%s: %+v %v", proofs[0], match, err)
	}
	if f := match.Finding(); f == nil || !strings.Contains(f.Message, "it is a proof file (custody-proof/v1, of seq ") ||
		!strings.Contains(f.Message, "custody verify --proof "+proofs[0]) {
		t.Errorf("%s: the finding does not say it is a proof file: %v", proofs[0], f)
	}
}

// TestNoDiffReport: a report on no diff says so plainly, in both files.
func TestNoDiffReport(t *testing.T) {
	m, st, key := openDemo(t)
	out := filepath.Join(t.TempDir(), "r")
	res, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: out, Diff: report.DiffNone, SignerKey: key, Proofs: report.ProofsNone, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if doc.Diff != nil || len(doc.Findings) != 0 || res.DiffRun != "" {
		t.Errorf("diff %+v findings %d", doc.Diff, len(doc.Findings))
	}
	if len(doc.LegalHold.Held) != doc.Summary.HeldConversations || doc.Summary.HeldConversations == 0 {
		t.Errorf("held conversations listed: %d of %d", len(doc.LegalHold.Held), doc.Summary.HeldConversations)
	}
	html, _ := os.ReadFile(res.HTML)
	if !strings.Contains(string(html), `id="no-diff"`) || !strings.Contains(string(html), "No export has been diffed against this ledger") {
		t.Error("report.html does not say that no export was diffed")
	}
	if doc.Integrity.Verified.OK || !strings.Contains(strings.Join(doc.Integrity.Verified.Failures, " "), "not verified") {
		t.Errorf("--no-verify: %+v", doc.Integrity.Verified)
	}
	// A report is never overwritten.
	if _, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: out, Diff: report.DiffNone}); !errors.Is(err, report.ErrExists) {
		t.Errorf("second report into %s: %v, want ErrExists", out, err)
	}
}

// TestPagedReport: past PageAbove conversations the transcripts go to
// pages beside an index; every page is recorded and every conversation is
// on exactly one page.
func TestPagedReport(t *testing.T) {
	m, st, key := openDemo(t)
	out := filepath.Join(t.TempDir(), "r")
	res, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: out, SignerKey: key, PageAbove: 10, PerPage: 16,
		Location: time.FixedZone("X", 5*3600)})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	wantPages := (len(doc.Transcripts.Items) + 15) / 16
	if len(doc.Transcripts.Pages) != wantPages || wantPages < 2 {
		t.Fatalf("pages %v for %d conversations", doc.Transcripts.Pages, len(doc.Transcripts.Items))
	}
	if len(res.Files) != 2+wantPages {
		t.Errorf("files recorded: %+v", res.Files)
	}
	index, _ := os.ReadFile(res.HTML)
	seen := map[string]int{}
	for _, p := range doc.Transcripts.Pages {
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range doc.Transcripts.Items {
			if strings.Contains(string(b), `id="c-`+c.ID+`"`) {
				seen[c.ID]++
				if c.Page != p {
					t.Errorf("conversation %s on %s, report.json says %s", c.ID, p, c.Page)
				}
			}
		}
		match, err := verify.ReportFile(context.Background(), m.Ledger, p, strings.NewReader(string(b)))
		if err != nil || !match.Found {
			t.Errorf("page %s not recorded: %+v %v", p, match, err)
		}
	}
	for _, c := range doc.Transcripts.Items {
		if seen[c.ID] != 1 || !strings.Contains(string(index), `href="`+c.Page+`#c-`+c.ID+`"`) {
			t.Errorf("conversation %s: on %d pages; in the index: %v", c.ID, seen[c.ID], strings.Contains(string(index), c.ID))
		}
	}
	if strings.Contains(string(index), `class="msg `) {
		t.Error("the index page holds transcripts")
	}
}

// TestFilteredReport: --conversation and --interval limit the transcripts,
// not the matter's facts.
func TestFilteredReport(t *testing.T) {
	m, st, key := openDemo(t)
	full := readDoc(t, demoMatter(t).Report.JSON)
	pick := full.Transcripts.Items[len(full.Transcripts.Items)/2]
	out := filepath.Join(t.TempDir(), "r")
	res, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: out, SignerKey: key, // verified: a certificate
		Conversations: []string{pick.ID}, Interval: "2000-01-01/2100-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if len(doc.Transcripts.Items) != 1 || doc.Transcripts.Items[0].ID != pick.ID || len(doc.Transcripts.Items[0].Messages) != len(pick.Messages) {
		t.Fatalf("filtered transcripts: %d conversations", len(doc.Transcripts.Items))
	}
	if doc.Summary.Messages != full.Summary.Messages || doc.Transcripts.Messages != len(pick.Messages) || doc.Transcripts.Filter == "" {
		t.Errorf("summary %d messages (full %d), transcripts %d, filter %q", doc.Summary.Messages, full.Summary.Messages, doc.Transcripts.Messages, doc.Transcripts.Filter)
	}
	// The certificate counts what the report lists, filtered or not
	// (it counted the whole matter).
	for name, d := range map[string]*report.Doc{"full": full, "filtered": doc} {
		checkCertificateCounts(t, name, d)
	}
	if want := "— 1 conversation and " + nouns(len(pick.Messages), "message") + " captured"; !strings.Contains(doc.Certificate.Statement, want) {
		t.Errorf("filtered certificate: %q, want %q", doc.Certificate.Statement, want)
	}
	// An interval that selects no message is refused, as an unknown
	// --conversation is: nothing written, nothing recorded (it wrote an
	// empty report, and recorded it).
	for _, noRecord := range []bool{true, false} {
		before, _ := m.Ledger.Head(context.Background())
		out2 := filepath.Join(t.TempDir(), "r")
		o := report.Options{Out: out2, NoVerify: true, NoRecord: noRecord, Interval: "1990-01-01/1990-01-02"}
		if !noRecord {
			o.SignerKey = key
		}
		if _, err := report.Generate(context.Background(), m.Ledger, st, o); !errors.Is(err, report.ErrEmptySelection) {
			t.Errorf("an interval with no messages (no-record %v): %v, want ErrEmptySelection", noRecord, err)
		}
		if _, err := os.Lstat(out2); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an interval with no messages (no-record %v) left %s: %v", noRecord, out2, err)
		}
		if after, _ := m.Ledger.Head(context.Background()); after.Size != before.Size {
			t.Errorf("an interval with no messages (no-record %v): the ledger grew from %d to %d entries", noRecord, before.Size, after.Size)
		}
	}
	if _, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: filepath.Join(t.TempDir(), "x"), Interval: "soon"}); !errors.Is(err, report.ErrInterval) {
		t.Errorf("bad interval: %v", err)
	}
}

// checkCertificateCounts: the certificate's statement counts the
// conversations and messages the report lists.
func checkCertificateCounts(t *testing.T, name string, d *report.Doc) {
	t.Helper()
	msgs := 0
	for _, c := range d.Transcripts.Items {
		msgs += len(c.Messages)
	}
	if len(d.Transcripts.Items) != d.Transcripts.Conversations || msgs != d.Transcripts.Messages {
		t.Errorf("%s: transcripts list %d conversations and %d messages, say %d and %d", name, len(d.Transcripts.Items), msgs, d.Transcripts.Conversations, d.Transcripts.Messages)
	}
	if want := "listed in this report — " + nouns(len(d.Transcripts.Items), "conversation") + " and " + nouns(msgs, "message") + " captured"; !strings.Contains(d.Certificate.Statement, want) {
		t.Errorf("%s: certificate %q, want %q", name, d.Certificate.Statement, want)
	}
}

// nouns is n and noun, plural but for 1.
func nouns(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprint(n, " ", noun, "s")
}

// TestFailedReportRemovesItsFolder: a report that fails (a --diff no
// diff names) removes the folder it created for itself, parents
// included, as produce leaves nothing; a folder that was there before,
// or that holds anything else, stays. It left an empty folder.
func TestFailedReportRemovesItsFolder(t *testing.T) {
	env := hostileMatter(t, "short")
	ctx := context.Background()
	top := filepath.Join(t.TempDir(), "a")
	out := filepath.Join(top, "b", "report")
	if _, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: out, SignerKey: env.Key, NoVerify: true, Diff: "nope"}); !errors.Is(err, reconcile.ErrNoDiff) {
		t.Fatalf("--diff nope: %v, want ErrNoDiff", err)
	}
	if _, err := os.Lstat(top); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed report left %s: %v", top, err)
	}
	// A folder of the user's stays, and what it holds.
	mine := filepath.Join(t.TempDir(), "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: mine, SignerKey: env.Key, NoVerify: true, Diff: "nope"}); !errors.Is(err, reconcile.ErrNoDiff) {
		t.Fatalf("--diff nope: %v, want ErrNoDiff", err)
	}
	if fi, err := os.Lstat(mine); err != nil || !fi.IsDir() {
		t.Errorf("a failed report removed the folder it was given: %v", err)
	}
	if names := dirtest.Names(t, mine); len(names) != 0 {
		t.Errorf("a failed report left %v in %s", names, mine)
	}
}

// TestSchemaDocumented holds docs/report.md's copy of the schema equal to
// schema.json, the one the tests validate against.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```json\n"+strings.TrimRight(string(schema), "\n")+"\n```") {
		t.Error("docs/report.md does not hold schema.json verbatim in a json block")
	}
}

// TestReportKeepsLeftoverPage: a transcript page of an earlier report,
// left in a folder whose report.html and report.json were removed, is
// not replaced by a new report into that folder (a report is never
// overwritten, whichever of its files is left), and nothing is recorded.
func TestReportKeepsLeftoverPage(t *testing.T) {
	m, st, key := openDemo(t)
	out := filepath.Join(t.TempDir(), "r")
	opts := report.Options{Out: out, SignerKey: key, PageAbove: 10, PerPage: 16, NoVerify: true}
	if _, err := report.Generate(context.Background(), m.Ledger, st, opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.html", "report.json"} {
		if err := os.Remove(filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	proofs := dirtest.Names(t, filepath.Join(out, "proofs"))
	if len(proofs) == 0 {
		t.Fatal("the report wrote no proofs: the test needs some")
	}
	// Proofs left: refused before anything is written, the proofs kept as
	// they are (a new report's would be mixed into them).
	if _, err := report.Generate(context.Background(), m.Ledger, st, opts); !errors.Is(err, report.ErrExists) || !strings.Contains(err.Error(), "proofs") {
		t.Errorf("a report into a folder with proofs left: %v, want ErrExists naming them", err)
	}
	noProofs := opts
	noProofs.Proofs = report.ProofsNone
	if _, err := report.Generate(context.Background(), m.Ledger, st, noProofs); !errors.Is(err, report.ErrExists) || !strings.Contains(err.Error(), "proofs") {
		t.Errorf("a report without proofs into a folder with proofs left: %v, want ErrExists naming them", err)
	}
	if got := dirtest.Names(t, filepath.Join(out, "proofs")); !slices.Equal(got, proofs) {
		t.Errorf("the proofs left are now %v, were %v", got, proofs)
	}
	if err := os.RemoveAll(filepath.Join(out, "proofs")); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(out, "transcripts-0001.html")
	before, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(before, "<!-- kept -->"...), 0o644); err != nil {
		t.Fatal(err)
	}
	size := func() uint64 {
		h, err := m.Ledger.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h.Size
	}
	n := size()
	if _, err := report.Generate(context.Background(), m.Ledger, st, opts); !errors.Is(err, report.ErrExists) {
		t.Errorf("a report into a folder with a page left: %v, want ErrExists", err)
	}
	// Its renderers have stopped, not just been told to: one left running
	// wrote a proof file into the folder after Generate returned.
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "report.renderAll") {
		t.Errorf("a renderer still running after the refused report:\n%s", stacks)
	}
	if after, _ := os.ReadFile(page); !bytes.HasSuffix(after, []byte("<!-- kept -->")) {
		t.Error("the page left by the earlier report was replaced")
	}
	if size() != n {
		t.Error("the refused report was recorded")
	}
	// The proofs it wrote before it stopped are gone with it.
	for _, name := range []string{"proofs", ".proofs.partial"} {
		if _, err := os.Lstat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the refused report: %v", name, err)
		}
	}
}

// TestReportUnendedRun: a run killed before its end has no accounting;
// section 1 says it did not end and what its run state holds, not "0
// conversations captured", and its failed conversations are among the
// exceptions.
func TestReportUnendedRun(t *testing.T) {
	ctx := context.Background()
	env := ledgertest.New(t, "matter-1")
	err := env.Ledger.Update(ctx, func(tx *ledger.Tx) error {
		if err := tx.PutRun(ledger.Run{ID: "export-killed", Kind: "export", Matter: "matter-1", Status: ledger.RunRunning, StartedAt: time.Now()}); err != nil {
			return err
		}
		for id, st := range map[string]string{"c-done": ledger.ItemDone, "c-failed": ledger.ItemFailed, "c-pending": ledger.ItemPending} {
			if err := tx.PutRunItem(ledger.RunItem{RunID: "export-killed", ItemID: id, Status: st, Reason: map[bool]string{true: "HTTP 500 eight times"}[st == ledger.ItemFailed]}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), SignerKey: env.Key, Diff: report.DiffNone, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	var run *report.RunInfo
	for i := range doc.Runs {
		if doc.Runs[i].RunID == "export-killed" {
			run = &doc.Runs[i]
		}
	}
	if run == nil || !strings.HasPrefix(run.Outcome, "not ended") || !strings.Contains(run.Outcome, "1 conversations done, 1 failed, 0 gone at the source, 1 pending") {
		t.Errorf("the killed run in section 1: %+v", run)
	}
	if !slices.ContainsFunc(doc.Exceptions, func(e report.Exception) bool {
		return e.Kind == "failed" && e.ConversationID == "c-failed" && strings.Contains(e.Reason, "HTTP 500")
	}) {
		t.Errorf("exceptions %+v: the killed run's failed conversation is not among them", doc.Exceptions)
	}
}
