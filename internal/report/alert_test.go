package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/report"
)

// TestFailedVerificationOnPageOne: a report whose verification failed
// says so at the top of page 1, before the headline counts, with the
// certificate withheld; and the withheld certificate's process row no
// longer states that every response body was stored unaltered, in the
// report that shows evidence altered. Before, the first word of it was
// in section 6, and the process row still claimed it.
func TestFailedVerificationOnPageOne(t *testing.T) {
	for _, noVerify := range []bool{false, true} {
		env := hostileMatter(t, "short")
		alterEvidence(t, env.Dir, "bulk body", func(b string) bool { return strings.HasPrefix(b, `{"entities"`) },
			func(b string) string { return strings.ReplaceAll(b, `"text":"short"`, `"text":"FORGED"`) })
		res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), NoRecord: true, NoVerify: noVerify})
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, res.JSON)
		b, err := os.ReadFile(res.HTML)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		alert, counts := strings.Index(page, `id="verification-alert"`), strings.Index(page, `id="n-conversations"`)
		if alert < 0 || counts < 0 || alert > counts {
			t.Errorf("no-verify %v: the failed verification is not said before section 1's counts (alert at %d, counts at %d)", noVerify, alert, counts)
		} else if first := page[alert:counts]; !strings.Contains(first, "withheld") || (!noVerify && !strings.Contains(first, "FAILED")) || (noVerify && !strings.Contains(first, "--no-verify")) {
			t.Errorf("no-verify %v: page 1 says %q", noVerify, first)
		}
		if !doc.Certificate.Withheld || strings.Contains(doc.Certificate.Process, "stored unaltered") {
			t.Errorf("no-verify %v: withheld %v, process %q; want no claim the evidence is unaltered", noVerify, doc.Certificate.Withheld, doc.Certificate.Process)
		}
	}
}
