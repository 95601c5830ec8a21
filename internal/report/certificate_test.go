package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
