package report_test

import (
	"os"
	"strings"
	"testing"
)

// TestRunsBy: the Runs table says who ran each run, where and with which
// custody, as the ledger records it; for a run it records none of them
// (a diff's entry does not), it says "not recorded" rather than leave
// the column blank, and report.json says so (by_not_recorded).
func TestRunsBy(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, res.Report.JSON)
	b, err := os.ReadFile(res.Report.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	kinds := map[string]int{}
	for _, r := range doc.Runs {
		kinds[r.Kind]++
		recorded := r.Operator != "" || r.Host != "" || r.ToolVersion != ""
		if r.ByNotRecorded == recorded {
			t.Errorf("run %s (%s): operator %q host %q tool %q, by_not_recorded %v", r.RunID, r.Kind, r.Operator, r.Host, r.ToolVersion, r.ByNotRecorded)
		}
		_, row, ok := strings.Cut(html, `<code class="id">`+r.RunID+`</code>`)
		if !ok {
			t.Errorf("run %s is not in the Runs table", r.RunID)
			continue
		}
		row, _, _ = strings.Cut(row, "</tr>")
		_, by, _ := strings.Cut(row, `<td class="run-by">`)
		by, _, _ = strings.Cut(by, "</td>")
		switch {
		case r.ByNotRecorded && !strings.Contains(by, "not recorded"):
			t.Errorf("run %s (%s): the By column says %q, not that nothing was recorded", r.RunID, r.Kind, by)
		case !r.ByNotRecorded && (!strings.Contains(by, r.Operator) || !strings.Contains(by, r.ToolVersion)):
			t.Errorf("run %s (%s): the By column says %q; the ledger records %q with custody %q", r.RunID, r.Kind, by, r.Operator, r.ToolVersion)
		}
	}
	if kinds["diff"] == 0 || kinds["export"] == 0 {
		t.Fatalf("the demo's runs %v: the test needs a diff and an export", kinds)
	}
}
