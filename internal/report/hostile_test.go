package report_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/report"
)

// bigText is a 1 MB message: long, one line, and with characters that
// need escaping throughout.
var bigText = strings.Repeat("1 MB of <b>text</b> & \"quotes\" ", 1<<20/32)

// hostileReport writes the report of hostileMatter.
func hostileReport(t *testing.T) (*report.Result, *report.Doc) {
	t.Helper()
	env := hostileMatter(t, bigText)
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"),
		SignerKey: env.Key, Proofs: report.ProofsAll, Operator: "<script>op</script>", Tool: report.Tool{Name: "custody", Version: "<v>"}})
	if err != nil {
		t.Fatal(err)
	}
	return res, readDoc(t, res.JSON)
}

// TestHostileContentEscaped: message text with HTML, scripts, bidi
// controls and 1 MB is carried exactly in report.json and escaped in
// report.html, whose only markup is the template's.
func TestHostileContentEscaped(t *testing.T) {
	res, doc := hostileReport(t)
	if !doc.Integrity.Verified.OK {
		t.Fatalf("the hand-built matter does not verify: %v", doc.Integrity.Verified.Failures)
	}
	if len(doc.Transcripts.Items) != 1 {
		t.Fatalf("%d conversations", len(doc.Transcripts.Items))
	}
	msgs := doc.Transcripts.Items[0].Messages
	want := append(append([]string{}, hostileTexts...), bigText)
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.Text != want[i] {
			t.Errorf("message %d: report.json text differs from the evidence's (%d bytes, want %d)", i, len(m.Text), len(want[i]))
		}
		if m.Proof == "" {
			t.Errorf("message %d: no proof (--proofs all)", i)
		}
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, bad := range []string{"<script", "<img", "<a href=\"http", "<style>body", "onerror=\"", "onmouseover=\"", "<b>Mallory", "<b>0100", "<b>text", "<i>Mallory", `id="injected"`} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q unescaped", bad)
		}
	}
	if strings.Count(html, "<style>") != 2 || strings.Contains(html, "<script") {
		t.Error("report.html has markup beyond its template's")
	}
	// The bidi controls are kept (they are evidence: report.json holds
	// them, checked above) but shown as markers, in a bdi element.
	if !strings.Contains(html, `<bdi><span class="ctl">⟨U+202E⟩</span>evil.exe<span class="ctl">⟨U+202C⟩</span>`) {
		t.Errorf("the right-to-left override is not shown as a marker in a bdi element")
	}
	escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&#34;").Replace(bigText)
	if !strings.Contains(html, escaped) {
		t.Error("the 1 MB message is not in report.html whole and escaped")
	}
	if strings.Contains(html, "{{") && !strings.Contains(html, "{{.Doc.Matter.Name}} ${7*7}") {
		t.Error("template syntax in a message was interpreted")
	}
}

// TestMissingEvidence: with the messages' evidence gone the report is
// still written, each message saying its evidence is unreadable, and
// section 6 says verification failed.
func TestMissingEvidence(t *testing.T) {
	env := hostileMatter(t, "short")
	removeEvidence(t, env.Dir, "bulk body", func(b string) bool { return strings.HasPrefix(b, `{"entities"`) })
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if doc.Integrity.Verified.OK || doc.Integrity.Verified.EvidenceMissing != 1 || res.Verified {
		t.Errorf("verified %+v", doc.Integrity.Verified)
	}
	// The messages whose body is gone were not re-derived, and it says so.
	if n := doc.Integrity.Verified.NotRederived; n != len(doc.Transcripts.Items[0].Messages) {
		t.Errorf("%d entries not re-derived, want the %d messages of the body gone", n, len(doc.Transcripts.Items[0].Messages))
	}
	for _, m := range doc.Transcripts.Items[0].Messages {
		if !strings.HasPrefix(m.Error, "evidence unreadable") || m.Text != "" {
			t.Errorf("message %s: error %q, text %q", m.ID, m.Error, m.Text)
		}
	}
	html, _ := os.ReadFile(res.HTML)
	if !strings.Contains(string(html), "FAILED") {
		t.Error("report.html does not say verification failed")
	}
	if !strings.Contains(string(html), "not (their evidence unreadable, or erased)") {
		t.Error("report.html does not say which entries were not re-derived")
	}
}

// removeEvidence removes the evidence object under dir/evidence whose
// content is (the last one walked that is) a what, failing when there is
// none.
func removeEvidence(t *testing.T, dir, what string, is func(content string) bool) {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, "evidence"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); is(string(b)) {
				found = p
			}
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s in the evidence folder", what)
	}
	if err := os.Remove(found); err != nil {
		t.Fatal(err)
	}
}

// TestMissingConversationEvidence: with a conversation's own evidence
// gone, its transcript says its participants' evidence is unreadable, not
// that none were recorded.
func TestMissingConversationEvidence(t *testing.T) {
	env := hostileMatter(t, "short")
	removeEvidence(t, env.Dir, "conversation object", func(b string) bool { return strings.Contains(b, `"participants"`) })
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key})
	if err != nil {
		t.Fatal(err)
	}
	c := readDoc(t, res.JSON).Transcripts.Items[0]
	if len(c.Participants) != 0 || !strings.HasPrefix(c.ParticipantsError, "evidence unreadable") {
		t.Errorf("participants %+v, error %q; want none and why", c.Participants, c.ParticipantsError)
	}
	if html, _ := os.ReadFile(res.HTML); !strings.Contains(string(html), "Participants: <span class=\"sev-high\">evidence unreadable") {
		t.Error("report.html does not say the participants' evidence is unreadable")
	}
}

// TestIntervalKeepsUnreadableTimestamp: a message whose timestamp cannot
// be read cannot be placed outside --interval: the report shows it, and
// its filter says so, instead of dropping it unsaid.
func TestIntervalKeepsUnreadableTimestamp(t *testing.T) {
	env := hostileMatter(t, "short", func(i int, m map[string]any) {
		if i == 0 {
			m["timestamp"] = "the day before yesterday"
		}
	})
	res, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key,
		NoVerify: true, Interval: "2024-03-01T10:05:00Z/2024-03-02T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	shown := map[string]bool{}
	for _, c := range doc.Transcripts.Items {
		for _, m := range c.Messages {
			shown[m.ID] = true
		}
	}
	if !shown["m00"] || shown["m01"] || !shown["m05"] {
		t.Errorf("shown %v: want m00 (timestamp unreadable) and m05 on, not m01 (before the interval)", shown)
	}
	if !strings.Contains(doc.Transcripts.Filter, "cannot be read") {
		t.Errorf("filter %q does not say messages of unreadable timestamps are shown", doc.Transcripts.Filter)
	}
}

// countingStore counts reads, and cancels at the at-th (0: never).
type countingStore struct {
	evidence.Store
	n      *atomic.Int64
	at     int64
	cancel context.CancelFunc
}

func (s countingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	if s.n.Add(1) == s.at {
		s.cancel()
	}
	return s.Store.Get(ctx, sum)
}

// TestReportCancelledAtLastRead: cancelled at its very last evidence read,
// a report is neither recorded nor left with a message that says its
// evidence is unreadable ("context canceled") when it was only
// interrupted.
func TestReportCancelledAtLastRead(t *testing.T) {
	env := hostileMatter(t, "short")
	var reads atomic.Int64
	if _, err := report.Generate(context.Background(), env.Ledger, countingStore{Store: env.Store, n: &reads}, report.Options{Out: filepath.Join(env.Dir, "dry"), NoRecord: true, NoVerify: true, Diff: report.DiffNone}); err != nil {
		t.Fatal(err)
	}
	if reads.Load() < 2 {
		t.Fatalf("%d evidence reads: the test needs the last to come after others", reads.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, _ := env.Ledger.Head(context.Background())
	var n atomic.Int64
	_, err := report.Generate(ctx, env.Ledger, countingStore{Store: env.Store, n: &n, at: reads.Load(), cancel: cancel}, report.Options{Out: filepath.Join(env.Dir, "report"), SignerKey: env.Key, NoVerify: true, Diff: report.DiffNone})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled at the last read: %v, want context.Canceled", err)
	}
	if after, _ := env.Ledger.Head(context.Background()); after.Size != before.Size {
		t.Errorf("the ledger grew from %d to %d entries", before.Size, after.Size)
	}
}

// cancellingStore cancels the context at its first read.
type cancellingStore struct {
	evidence.Store
	cancel context.CancelFunc
}

func (s cancellingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.cancel()
	return s.Store.Get(ctx, sum)
}

// TestInterruptedReport: a report cut short records nothing and leaves no
// partial report.html or report.json, so the same folder can be used again.
func TestInterruptedReport(t *testing.T) {
	env := hostileMatter(t, "short")
	out := filepath.Join(env.Dir, "report")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, _ := env.Ledger.Head(context.Background())
	_, err := report.Generate(ctx, env.Ledger, cancellingStore{env.Store, cancel}, report.Options{Out: out, SignerKey: env.Key, NoVerify: true, Diff: report.DiffNone})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate: %v, want context.Canceled", err)
	}
	for _, name := range []string{"report.html", "report.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	if after, _ := env.Ledger.Head(context.Background()); after.Size != before.Size {
		t.Errorf("the ledger grew from %d to %d entries", before.Size, after.Size)
	}
	// Nor the folder it created (it left it empty).
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the folder it created is left: %v", err)
	}
	if _, err := report.Generate(context.Background(), env.Ledger, env.Store, report.Options{Out: out, SignerKey: env.Key, NoVerify: true}); err != nil {
		t.Errorf("a second report into the same folder: %v", err)
	}
}
