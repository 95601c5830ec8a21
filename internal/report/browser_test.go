package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/custodyhq/custody/internal/report"
)

// The browser tests open the report in a real Chromium (Debian package
// chromium, installed by scripts/install-test-deps.sh) from file://, as an
// auditor would, and print it to PDF. They need poppler-utils (pdfinfo,
// pdftotext) for the PDF's pages.

// chromium returns the browser's path, or skips the test — loudly, and
// never in CI, where scripts/install-test-deps.sh installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CUSTODY_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			for _, tool := range []string{"pdfinfo", "pdftotext"} {
				if _, err := exec.LookPath(tool); err != nil {
					browserMissing(t, tool+" (poppler-utils) is not installed")
				}
			}
			return p
		}
	}
	browserMissing(t, "chromium is not installed")
	return ""
}

func browserMissing(t *testing.T, why string) {
	t.Helper()
	msg := "SKIPPING the report's browser test: " + why + "; run scripts/install-test-deps.sh"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Log(strings.Repeat("!", 72))
	t.Skip(msg)
}

// artifacts is where the browser tests leave screenshots and PDFs:
// $CUSTODY_TEST_ARTIFACTS when set (CI uploads it), else a temporary
// folder named in the test log.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CUSTODY_TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browserPage is what the browser saw while showing one page.
type browserPage struct {
	mu       sync.Mutex
	requests []string // every request's URL
	console  []string // console calls, exceptions, log entries
	dialogs  []string
}

func (p *browserPage) add(list *[]string, s string) {
	p.mu.Lock()
	(*list) = append(*list, s)
	p.mu.Unlock()
}

// openReport opens file in a fresh headless Chromium and returns the tab's
// context and what it observes. The browser stops with the test.
func openReport(t *testing.T, file string) (context.Context, *browserPage) {
	t.Helper()
	path := chromium(t)
	parent, stop := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(stop)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	bp := &browserPage{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			bp.add(&bp.requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value))
			}
			bp.add(&bp.console, fmt.Sprintf("console.%s %s", e.Type, strings.Join(args, " ")))
		case *runtime.EventExceptionThrown:
			bp.add(&bp.console, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			bp.add(&bp.console, fmt.Sprintf("log %s %s: %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
		case *page.EventJavascriptDialogOpening:
			bp.add(&bp.dialogs, e.Message)
		}
	})
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, step := range []error{
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err }(),
		func() error { _, err := chromedp.Call(ctx, log.Enable, struct{}{}); return err }(),
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, struct{}{}); return err }(),
	} {
		if step != nil {
			t.Fatalf("chromium: %v", step)
		}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 1600), chromedp.Navigate("file://"+abs)); err != nil {
		t.Fatalf("chromium: open %s: %v", abs, err)
	}
	t.Cleanup(func() { t.Logf("browser: %d requests, %d console entries", len(bp.requests), len(bp.console)) })
	return ctx, bp
}

// quiet checks that the page made no request but its own and wrote
// nothing to the console.
func (p *browserPage) quiet(t *testing.T, self string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	abs, _ := filepath.Abs(self)
	for _, u := range p.requests {
		if u != "file://"+abs {
			t.Errorf("the report made a request: %s", u)
		}
	}
	for _, c := range p.console {
		t.Errorf("console: %s", c)
	}
	for _, d := range p.dialogs {
		t.Errorf("a dialog opened: %s", d)
	}
}

// printPDF prints the page to PDF with its own CSS page size, writes it
// to dir and returns the text of each page (pdftotext).
func printPDF(t *testing.T, ctx context.Context, dir, name string) []string {
	t.Helper()
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("pdfinfo", file).Output()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v", file, err)
	}
	pages := 0
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			pages, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	text, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", file, err)
	}
	out := strings.Split(strings.TrimSuffix(string(text), "\f"), "\f")
	if pages == 0 || len(out) != pages {
		t.Fatalf("%s: pdfinfo says %d pages, pdftotext gave %d", file, pages, len(out))
	}
	t.Logf("%s: %d pages", file, pages)
	return out
}

// screenshot saves the viewport as PNG.
func screenshot(t *testing.T, ctx context.Context, file string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", file)
	return png
}

// TestBrowserDemoReport opens the demo's report in Chromium: no request,
// no console message; the numbers the page shows are the ledger's; it
// prints to PDF with the certificate alone on its last page.
func TestBrowserDemoReport(t *testing.T) {
	res := demoMatter(t)
	doc := readDoc(t, res.Report.JSON)
	m, _, _ := openDemo(t)
	want := countLedger(t, m.Ledger, *res.Report.Seq)
	m.Close()
	ctx, bp := openReport(t, res.Report.HTML)
	dir := artifacts(t)

	type dom struct {
		Numbers map[string]int `json:"numbers"`
		Kinds   map[string]int `json:"kinds"`
		Root    string         `json:"root"`
		Convs   int            `json:"convs"`
		Msgs    int            `json:"msgs"`
		Scripts int            `json:"scripts"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[dom](`(() => {
		const numbers = {}, kinds = {};
		for (const e of document.querySelectorAll('[id][data-n]')) numbers[e.id] = Number(e.dataset.n);
		for (const e of document.querySelectorAll('td[data-kind]')) kinds[e.dataset.kind] = Number(e.textContent);
		return {numbers, kinds, root: document.getElementById('merkle-root').textContent,
			convs: document.querySelectorAll('div.conv').length, msgs: document.querySelectorAll('div.msg').length,
			scripts: document.scripts.length};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	for id, v := range map[string]int{"n-conversations": want.conversations, "n-messages": want.messages, "n-held": want.held,
		"n-held-affected": doc.LegalHold.Affected, "n-holds-stripped": doc.LegalHold.HoldsStripped, "n-held-missing": doc.LegalHold.Missing,
		"n-findings": doc.Diff.Findings, "n-ledger-size": int(want.size)} {
		if got.Numbers[id] != v {
			t.Errorf("the page shows #%s = %d, want %d", id, got.Numbers[id], v)
		}
	}
	if doc.LegalHold.Affected == 0 {
		t.Error("no held conversation affected: the page's number tests nothing")
	}
	for k, n := range res.SecondDiff.Summary.Counts {
		if got.Kinds[string(k)] != n {
			t.Errorf("findings of kind %s: the page shows %d, the diff recorded %d", k, got.Kinds[string(k)], n)
		}
	}
	if got.Root != want.root.String() || got.Convs != want.conversations || got.Msgs != want.messages || got.Scripts != 0 {
		t.Errorf("the page shows root %s, %d conversations, %d messages, %d scripts; the ledger has root %s, %d, %d",
			got.Root, got.Convs, got.Msgs, got.Scripts, want.root, want.conversations, want.messages)
	}
	png := screenshot(t, ctx, filepath.Join(dir, "report.png"))
	if os.Getenv("CUSTODY_UPDATE_SCREENSHOT") != "" { // the README's picture
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pages := printPDF(t, ctx, dir, "report.pdf")
	certificatePages(t, pages, 1)
	// The ids a reader copies from page 1 come out of the PDF's text
	// whole: the ledger's origin and the OAuth client ids on one line,
	// the verifier key broken, if at all, only after a '+'.
	if len(doc.Summary.ClientIDs) == 0 {
		t.Fatal("the demo's runs record no OAuth client id: the test needs one")
	}
	top := strings.Join(pages[:2], "\n")
	for _, id := range append([]string{doc.Matter.Origin, doc.Matter.VerifierKey}, doc.Summary.ClientIDs...) {
		parts := strings.Split(id, "+")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		if !regexp.MustCompile(strings.Join(parts, `\+\s*`)).MatchString(top) {
			t.Errorf("the PDF's first pages do not give %s whole (broken inside a field, or a character lost)", id)
		}
	}
	bp.quiet(t, res.Report.HTML)
}

// certificatePages checks that the certificate takes want pages, the
// last ones, and shares none with the report before it.
func certificatePages(t *testing.T, pages []string, want int) {
	t.Helper()
	first, last := -1, -1
	for i, p := range pages {
		if strings.Contains(p, "8. Certificate of authenticity") {
			first = i
		}
		if strings.Contains(p, "I declare under penalty of perjury") && strings.Contains(p, "Signature") {
			last = i
		}
	}
	if first < 0 || last < first {
		t.Fatalf("certificate from page %d to %d of %d", first+1, last+1, len(pages))
	}
	if n := last - first + 1; n != want || last != len(pages)-1 {
		t.Errorf("certificate on pages %d-%d of %d: want %d page(s), the last", first+1, last+1, len(pages), want)
	}
	if strings.Contains(pages[first], "7. Exceptions") || strings.Contains(pages[first], "Signed checkpoints") {
		t.Error("the certificate shares its page with the report")
	}
	for i, p := range pages {
		if !strings.Contains(p, fmt.Sprintf("page %d of %d", i+1, len(pages))) {
			t.Errorf("page %d has no running page number", i+1)
			break
		}
	}
}

// TestBrowserHostileContent opens the report of hostile messages: nothing
// in them runs, loads, styles the page or escapes its element.
func TestBrowserHostileContent(t *testing.T) {
	res, doc := hostileReport(t)
	ctx, bp := openReport(t, res.HTML)
	type dom struct {
		Active  int    `json:"active"`
		Title   string `json:"title"`
		Hidden  bool   `json:"hidden"`
		BigLen  int    `json:"biglen"`
		RLOInBd bool   `json:"rlo"`
		Texts   int    `json:"texts"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[dom](`(() => {
		const texts = [...document.querySelectorAll('div.text')];
		const rlo = texts.find(e => e.textContent.includes('⟨U+202E⟩evil.exe'));
		return {
			active: document.querySelectorAll('script, img, iframe, object, embed, a[href^="http"], a[href^="javascript"], #injected, body style').length,
			title: document.title,
			hidden: getComputedStyle(document.body).display === 'none',
			biglen: Math.max(...texts.map(e => e.textContent.length)),
			rlo: !!rlo && !!rlo.querySelector('bdi') && rlo.querySelector('bdi .ctl') && rlo.querySelector('bdi').textContent.includes('⟨U+202E⟩evil.exe'),
			texts: texts.length,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Active != 0 || got.Hidden || !strings.HasPrefix(got.Title, "custody report: Hostile <script>") {
		t.Errorf("hostile content took effect: %d active elements, body hidden %v, title %q", got.Active, got.Hidden, got.Title)
	}
	if got.Texts != len(doc.Transcripts.Items[0].Messages) || got.BigLen != len(bigText) || !got.RLOInBd {
		t.Errorf("texts %d, longest %d (want %d), bidi isolated %v", got.Texts, got.BigLen, len(bigText), got.RLOInBd)
	}
	dir := artifacts(t)
	screenshot(t, ctx, filepath.Join(dir, "hostile.png"))
	pages := printPDF(t, ctx, dir, "hostile.pdf")
	certificatePages(t, pages, 1)
	bp.quiet(t, res.HTML)
	if !bytes.Contains([]byte(strings.Join(pages, "")), []byte("1 MB of <b>text</b>")) {
		t.Error("the PDF lacks the 1 MB message's text, as text")
	}
}

// TestBrowserPagedReport: a report past PageAbove conversations is an
// index beside transcript pages; each opens on its own, loads nothing,
// and the index still prints with its certificate alone on the last page.
func TestBrowserPagedReport(t *testing.T) {
	m, st, key := openDemo(t)
	out := filepath.Join(t.TempDir(), "r")
	// Verified: a report written with --no-verify withholds its
	// certificate, and this one is printed with it.
	res, err := report.Generate(context.Background(), m.Ledger, st, report.Options{Out: out, SignerKey: key, PageAbove: 10, PerPage: 20})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	doc := readDoc(t, res.JSON)
	ctx, bp := openReport(t, res.HTML)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#transcript-index tr').length - 1`))
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(doc.Transcripts.Items) {
		t.Errorf("the index lists %d conversations, report.json %d", rows, len(doc.Transcripts.Items))
	}
	dir := artifacts(t)
	certificatePages(t, printPDF(t, ctx, dir, "index.pdf"), 1)
	bp.quiet(t, res.HTML)

	first := filepath.Join(out, doc.Transcripts.Pages[0])
	ctx, bp = openReport(t, first)
	convs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('div.conv').length`))
	if err != nil {
		t.Fatal(err)
	}
	if convs != 20 {
		t.Errorf("%s holds %d conversations, want 20", doc.Transcripts.Pages[0], convs)
	}
	screenshot(t, ctx, filepath.Join(dir, "transcripts.png"))
	bp.quiet(t, first)
}
