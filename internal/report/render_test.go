package report_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestSenderAddressIsolated: the sender's name (a WhatsApp nickname the
// sender chose) and address are each in their own isolate, so a
// right-to-left override in the name cannot reverse the address.
func TestSenderAddressIsolated(t *testing.T) {
	res, _ := hostileReport(t)
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if !strings.Contains(html, `&lt;<bdi class="address">&#43;1555&lt;b&gt;0100&lt;/b&gt;</bdi>&gt;`) {
		t.Error("the sender's address is not in an isolate of its own")
	}
	for _, m := range regexp.MustCompile(`(?s)<bdi[^>]*>.*?</bdi>`).FindAllString(html, -1) {
		if strings.Contains(m, "Mallory") && strings.Contains(m, "0100") {
			t.Fatalf("a name and an address share one isolate: %s", m)
		}
	}
}
