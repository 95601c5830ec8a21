package report_test

import (
	"context"
	"fmt"
	stdhtml "html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
)

// TestCertificateTransport: the demo captures from its simulator over
// plain HTTP on the loopback address, so its certificate must not say
// HTTPS, in report.html or in report.json.
func TestCertificateTransport(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, filepath.Join(res.ReportDir, "report.json"))
	if len(doc.Summary.APIHosts) == 0 || !strings.HasPrefix(doc.Summary.APIHosts[0], "http://127.0.0.1:") {
		t.Fatalf("the demo's API hosts are %v, want its simulator's", doc.Summary.APIHosts)
	}
	want := "over plain HTTP, unencrypted (" + doc.Summary.APIHosts[0] + ", a local endpoint"
	if !strings.Contains(doc.Certificate.Process, want) || strings.Contains(doc.Certificate.Process, "HTTPS") {
		t.Errorf("report.json certificate process: %q", doc.Certificate.Process)
	}
	html, err := os.ReadFile(filepath.Join(res.ReportDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(html), "HTTPS") || !strings.Contains(string(html), want) {
		t.Error("report.html's certificate does not state the simulator's plain HTTP")
	}
}

// TestCertificateSaysVerification: the certificate says when the ledger
// and its evidence were verified and what was checked — the entries,
// the checkpoints, the evidence objects re-hashed and the entries
// re-derived — from the verification section 6 gives, in report.html
// and report.json alike; a report not verified says so there and its
// certificate stays withheld.
func TestCertificateSaysVerification(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, filepath.Join(res.ReportDir, "report.json"))
	v, c := doc.Integrity.Verified, doc.Certificate
	if !v.OK || v.At == "" || c.Withheld {
		t.Fatalf("the demo's report: verified %+v, certificate withheld %v", v, c.Withheld)
	}
	for _, want := range []string{
		v.At + ", when this report was written: OK.",
		fmt.Sprintf("%d entries (leaf hashes, hash chain and Merkle root recomputed)", v.Entries),
		fmt.Sprintf("%d covered by a signed checkpoint", v.CoveredEntries),
		fmt.Sprintf("%d stored and %d outside checkpoints checked", v.Checkpoints, v.ExternalCheckpoints),
		fmt.Sprintf("%d evidence objects re-hashed (%d missing, %d altered)", v.EvidenceReferenced, v.EvidenceMissing, v.EvidenceAltered),
		fmt.Sprintf("%d entries re-derived from their evidence", v.Derived),
	} {
		if !strings.Contains(c.Verification, want) {
			t.Errorf("report.json certificate verification lacks %q: %q", want, c.Verification)
		}
	}
	if !strings.Contains(c.Statement, "verified at "+v.At) {
		t.Errorf("the certificate's statement does not say when it was verified: %q", c.Statement)
	}
	html, err := os.ReadFile(filepath.Join(res.ReportDir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	_, cell, _ := strings.Cut(string(html), `id="certificate-verification">`)
	cell, _, _ = strings.Cut(cell, "</td>")
	if stdhtml.UnescapeString(cell) != c.Verification {
		t.Errorf("report.html's certificate says %q of the verification, report.json %q", cell, c.Verification)
	}

	// Not verified: withheld, and saying so.
	m, st, _ := openDemo(t)
	rr, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: filepath.Join(t.TempDir(), "r"), Proofs: report.ProofsNone, NoVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	nd := readDoc(t, rr.JSON)
	if !nd.Certificate.Withheld || nd.Integrity.Verified.At != "" || !strings.HasPrefix(nd.Certificate.Verification, "Not verified") {
		t.Errorf("--no-verify: certificate withheld %v, verified at %q, verification %q", nd.Certificate.Withheld, nd.Integrity.Verified.At, nd.Certificate.Verification)
	}
}
