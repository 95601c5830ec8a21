package report_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/report"
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
	if !strings.Contains(html, `&lt;<bdi class="address">+1555&lt;b&gt;0100&lt;/b&gt;</bdi>&gt;`) {
		t.Error("the sender's address is not in an isolate of its own")
	}
	for _, m := range regexp.MustCompile(`(?s)<bdi[^>]*>.*?</bdi>`).FindAllString(html, -1) {
		if strings.Contains(m, "Mallory") && strings.Contains(m, "0100") {
			t.Fatalf("a name and an address share one isolate: %s", m)
		}
	}
}

// hiddenTexts are captured and custodian-given texts with characters that
// would act on the page instead of being seen.
const (
	spoofedFile = "inv\u202efdp.exe"
	controlText = "NUL\x00 SOH\x01 BEL\x07 BS\x08 ESC\x1b[2J DEL\x7f C1\u009b ZWSP\u200b BOM\ufeff LS\u2028 pay to \u202e0987654321\u202c\r\nnext line\ttab"
	holdReason  = "litigation hold \u202eRTL\u202c"
)

// hiddenReport writes the report of the hostile matter with a spoofed
// attachment name, a message of control characters and a matter hold
// whose reason holds a right-to-left override.
func hiddenReport(t *testing.T) (*report.Result, *report.Doc) {
	t.Helper()
	env := hostileMatter(t, "short", func(i int, m map[string]any) {
		nm := m["normalizedMessage"].(map[string]any)
		switch i {
		case 0:
			nm["content"].([]map[string]any)[0]["attachment"].(map[string]any)["filename"] = spoofedFile
		case 1:
			nm["text"] = controlText
		}
	})
	ctx := context.Background()
	if _, err := erase.Hold(ctx, env.Ledger, env.Store, erase.HoldRequest{Conversations: []string{"c0ffee00-0000-4000-8000-000000000001"},
		Reason: holdReason, Operator: "counsel\u202e", SignerKey: env.Key}); err != nil {
		t.Fatal(err)
	}
	res, err := report.Generate(ctx, env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key, Operator: "J. Smith\u202e"})
	if err != nil {
		t.Fatal(err)
	}
	return res, readDoc(t, res.JSON)
}

// hiddenRune is what docs/report.md says is shown as a marker.
func hiddenRune(r rune) bool {
	if r == '\n' || r == '\t' || r == '\r' || r == '\u200c' || r == '\u200d' {
		return false // \r: the HTML's own line breaks; a CR LF in a message stays one
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// TestHiddenCharactersShown: bidi controls, control characters and
// zero-width characters in captured and custodian-given text — a file
// name, a message, a hold reason, the matter's name — are shown as
// markers everywhere report.html shows them (the title and running
// header too), never written raw to act on the page; report.json keeps
// the text exactly.
func TestHiddenCharactersShown(t *testing.T) {
	res, doc := hiddenReport(t)
	msgs := doc.Transcripts.Items[0].Messages
	if msgs[0].Attachments[0].Name != spoofedFile || msgs[1].Text != controlText {
		t.Errorf("report.json does not keep the captured text exactly: %q, %q", msgs[0].Attachments[0].Name, msgs[1].Text)
	}
	if h := doc.LegalHold.Held; len(h) != 1 || h[0].MatterHold == nil || h[0].MatterHold.Reason != holdReason {
		t.Errorf("report.json's matter hold: %+v", h)
	}
	if !strings.Contains(doc.Certificate.Statement, doc.Matter.Name) {
		t.Errorf("the certificate's statement does not name the matter as it is: %q", doc.Certificate.Statement)
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for i, r := range html {
		if hiddenRune(r) {
			t.Fatalf("report.html holds U+%04X raw: …%q…", r, html[max(0, i-60):min(len(html), i+60)])
		}
	}
	mark := func(s string) string { return `<span class="ctl">⟨U+` + s + `⟩</span>` }
	name := "Hostile &lt;script&gt;alert(&#39;matter&#39;)&lt;/script&gt; " + mark("202E") + "moc.live"
	for what, want := range map[string]string{
		"file name":         "<bdi>inv" + mark("202E") + "fdp.exe</bdi>",
		"message":           "NUL" + mark("0000") + " SOH" + mark("0001") + " BEL" + mark("0007") + " BS" + mark("0008") + " ESC" + mark("001B") + "[2J DEL" + mark("007F") + " C1" + mark("009B") + " ZWSP" + mark("200B") + " BOM" + mark("FEFF") + " LS" + mark("2028") + " pay to " + mark("202E") + "0987654321" + mark("202C") + "\r\nnext line\ttab",
		"hold reason":       "<bdi>litigation hold " + mark("202E") + "RTL" + mark("202C") + "</bdi>",
		"operator":          "J. Smith" + mark("202E"),
		"heading":           `<bdi id="matter-name">` + name + "</bdi>",
		"statement":         "matter “" + name + "”",
		"title":             "<title>custody report: Hostile &lt;script&gt;alert(&#39;matter&#39;)&lt;/script&gt; ⟨U&#43;202E⟩moc.live</title>",
		"running header":    `⟨U\2b 202E⟩moc.live"`, // CSS-escaped
		"matter row":        "<tr><th>Matter</th><td><bdi>" + name + "</bdi>",
		"certificate's row": "<tr><th>Matter</th><td><bdi>" + name + "</bdi> (ledger origin",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("%s: report.html lacks %q", what, want)
		}
	}
}
