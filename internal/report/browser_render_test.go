package report_test

import (
	"strings"
	"testing"
)

// TestBrowserSenderAddress prints the hostile report to PDF: the sender's
// address reads as captured, not reversed by the right-to-left override
// at the end of the sender's nickname.
func TestBrowserSenderAddress(t *testing.T) {
	res, _ := hostileReport(t)
	ctx, bp := openReport(t, res.HTML)
	pages := printPDF(t, ctx, artifacts(t), "sender.pdf")
	bp.quiet(t, res.HTML)
	// pdftotext marks the runs it reads right to left with bidi controls
	// of its own: what is compared is the characters in visual order.
	text := strings.Map(func(r rune) rune {
		if r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, strings.Join(pages, "\n"))
	if !strings.Contains(text, "<+1555<b>0100</b>>") {
		i := strings.Index(text, "0010")
		t.Errorf("the PDF does not show the sender's address as captured, <+1555<b>0100</b>>; near it: %q", text[max(0, i-80):min(len(text), i+80)])
	}
}
