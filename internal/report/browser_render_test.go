package report_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
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

// visualText is the PDF's text with the bidi controls pdftotext writes
// around the runs it reads right to left taken out: the characters in
// the order they are seen.
func visualText(pages []string) string {
	return strings.Map(func(r rune) rune {
		if r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' {
			return -1
		}
		return r
	}, strings.Join(pages, "\n"))
}

// TestBrowserHiddenCharacters prints the report of hiddenReport: the
// spoofed file name, the control characters and the matter's name in
// every page's running header read as markers, not as what the
// characters would make of the text around them.
func TestBrowserHiddenCharacters(t *testing.T) {
	res, _ := hiddenReport(t)
	ctx, bp := openReport(t, res.HTML)
	pages := printPDF(t, ctx, artifacts(t), "hidden.pdf")
	bp.quiet(t, res.HTML)
	for i, p := range pages {
		if !strings.Contains(strings.ReplaceAll(visualText([]string{p}), " ", ""), "⟨U+202E⟩moc.live") {
			t.Errorf("page %d's running header does not show the matter's name with its marker: %.200q", i+1, p)
			break
		}
	}
	// A marker is set apart from the text (a border, another font), which
	// pdftotext reads as spaces around it: spaces are not compared.
	text := strings.ReplaceAll(visualText(pages), " ", "")
	for _, want := range []string{"inv⟨U+202E⟩fdp.exe", "NUL⟨U+0000⟩SOH⟨U+0001⟩", "payto⟨U+202E⟩0987654321⟨U+202C⟩",
		"matter“Hostile<script>alert('matter')</script>⟨U+202E⟩moc.live”"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF does not show %q", want)
		}
	}
	for _, spoof := range []string{"invexe.pdf", "1234567890", "LTR"} {
		if strings.Contains(text, spoof) {
			t.Errorf("the PDF shows %q: a bidi control acted", spoof)
		}
	}
}

// TestBrowserIDsUnbroken lays the demo's report out as printed, at the
// width of an A4 page inside its margins: every id (conversation,
// message, run) stays on one line, so one copied from the PDF is whole;
// no table nor anything else is wider than the page, so nothing is cut
// off; and the PDF's text holds every run id whole.
func TestBrowserIDsUnbroken(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, res.Report.JSON)
	ctx, bp := openReport(t, res.Report.HTML)
	// 210 mm less the @page margins of 14 mm each side, at 96 px an inch.
	const width = 688
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 1000)); err != nil {
		t.Fatal(err)
	}
	type layout struct {
		IDs      int      `json:"ids"`
		Broken   []string `json:"broken"`
		Wide     []string `json:"wide"`
		Overflow int      `json:"overflow"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`(() => {
		const w = document.documentElement.clientWidth, broken = [], wide = [];
		const ids = document.querySelectorAll('code.id');
		for (const e of ids) {
			if (e.getClientRects().length > 1 || e.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(e).lineHeight || 20)) broken.push(e.textContent);
		}
		for (const e of document.querySelectorAll('table, pre, .msg, section')) {
			const r = e.getBoundingClientRect();
			if (r.right > w + 0.5) wide.push(e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(r.right));
		}
		return {ids: ids.length, broken, wide, overflow: document.documentElement.scrollWidth - w};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.IDs < len(doc.Runs)+len(doc.LegalHold.Held) {
		t.Errorf("%d ids marked on the page, fewer than the runs and held conversations (%d)", got.IDs, len(doc.Runs)+len(doc.LegalHold.Held))
	}
	if len(got.Broken) > 0 {
		t.Errorf("%d of %d ids wrap over lines, e.g. %q", len(got.Broken), got.IDs, got.Broken[0])
	}
	if len(got.Wide) > 0 || got.Overflow > 0 {
		t.Errorf("wider than the page (%d px): %v; the page scrolls %d px", width, got.Wide, got.Overflow)
	}
	text := strings.Join(printPDF(t, ctx, artifacts(t), "ids.pdf"), "\n")
	for _, r := range doc.Runs {
		if !strings.Contains(text, r.RunID) {
			t.Errorf("the PDF does not hold run id %s whole", r.RunID)
		}
	}
	bp.quiet(t, res.Report.HTML)
}
