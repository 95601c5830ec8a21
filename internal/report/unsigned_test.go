package report_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/verify"
)

// TestUnsignedEntriesSaid: entries no signed checkpoint covers when the
// report verifies the ledger (a run cut short, or anyone who appended to
// the file) fail no check, so the report is written and recorded, and
// its checkpoint then covers them, but the report does not present them
// as signed: report.json's verified.unsigned and the certificate's
// Verification row name them. custody verify says UNSIGNED for them, not
// OK; the report, which verify.Ledger's OK no longer covers, said OK
// and nothing else.
func TestUnsignedEntriesSaid(t *testing.T) {
	ctx := context.Background()
	env := hostileMatter(t, "short")
	detail, err := leaf.EncodeDetail(&leaf.HoldDetail{Action: leaf.HoldSet, Conversations: []string{"c0ffee00-0000-4000-8000-000000000001"},
		ObjectLock: "unsupported", Operator: "u", Reason: "lit hold"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.Ledger.Append(ctx, leaf.Entry{Kind: leaf.KindHold, Detail: detail})
	if err != nil {
		t.Fatal(err)
	}
	seq := out[0].Seq
	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: t.TempDir(), SignerKey: env.Key, VerifierKey: env.Ledger.VerifierKey(), Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	v := doc.Integrity.Verified
	if !v.OK || !res.Verified || doc.Certificate.Withheld || len(v.Failures) != 0 {
		t.Fatalf("an unsigned entry failed the report: ok %v, failures %v, certificate withheld %v", v.OK, v.Failures, doc.Certificate.Withheld)
	}
	want := "entry " + strconv.FormatUint(seq, 10) + " was covered by no signed checkpoint when this report verified the ledger: only the hash chain vouched for it"
	if !strings.HasPrefix(v.Unsigned, want) || !strings.Contains(v.Unsigned, "The checkpoint signed with this report covers it") {
		t.Errorf("verified.unsigned %q, want it to start %q", v.Unsigned, want)
	}
	if !strings.Contains(doc.Certificate.Verification, "every check held, but UNSIGNED: "+want) {
		t.Errorf("the certificate's Verification row does not name the unsigned entry: %q", doc.Certificate.Verification)
	}
	page, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `id="verified-unsigned">UNSIGNED: entry `+strconv.FormatUint(seq, 10)+` was covered by no signed checkpoint`) {
		t.Error("section 6 of report.html does not name the unsigned entry")
	}
	// The report signed its checkpoint at its end: now nothing is unsigned.
	rep, err := verify.Ledger(ctx, env.Ledger, verify.Options{VerifierKey: env.Ledger.VerifierKey()})
	if err != nil || !rep.OK {
		t.Fatalf("after the report: %v, ok %v, findings %v, unsigned %+v", err, rep.OK, rep.Findings, rep.Unsigned)
	}
}
