package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/finding"
)

// TestSummaryWorstConversations: the text summary lists the kind counts,
// then only the conversations with the most findings, worst first, and
// says how many it left out; asked for all, it lists every one.
func TestSummaryWorstConversations(t *testing.T) {
	var s Summary
	// conv-00 … conv-29; conv-i has i+1 findings, so the worst are the last.
	for i := range 30 {
		for range i + 1 {
			s.add(Finding{Kind: finding.FieldStripped, ConversationID: fmt.Sprintf("conv-%02d", i)})
		}
	}
	s.add(Finding{Kind: finding.NotCaptured, ConversationID: "conv-03"})

	var buf bytes.Buffer
	if err := WriteSummaryWith(&buf, s, SummaryOptions{MoreHint: "--all-conversations lists them"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !regexp.MustCompile(`(?m)^field_stripped +465$`).MatchString(out) || !regexp.MustCompile(`(?m)^not_captured +1$`).MatchString(out) {
		t.Errorf("kind counts missing:\n%s", out)
	}
	rows := regexp.MustCompile(`(?m)^ *conv-\d\d\b`).FindAllString(out, -1)
	if len(rows) != SummaryConversations {
		t.Fatalf("%d conversation rows, want %d:\n%s", len(rows), SummaryConversations, out)
	}
	for i, r := range rows {
		if want := fmt.Sprintf("conv-%02d", 29-i); strings.TrimSpace(r) != want {
			t.Errorf("row %d is %s, want %s (most findings first)", i, r, want)
		}
	}
	for _, want := range []string{
		"the 20 conversations with the most findings, of 30 with findings:",
		"… and 10 more conversations with findings (--all-conversations lists them)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines > 45 {
		t.Errorf("summary of 30 conversations is %d lines", lines)
	}

	buf.Reset()
	if err := WriteSummaryWith(&buf, s, SummaryOptions{MaxConversations: -1}); err != nil {
		t.Fatal(err)
	}
	all := regexp.MustCompile(`(?m)^ *conv-\d\d\b`).FindAllString(buf.String(), -1)
	if len(all) != 30 || strings.TrimSpace(all[0]) != "conv-00" || strings.Contains(buf.String(), "more conversations") {
		t.Errorf("all conversations: %d rows, first %v:\n%s", len(all), all[:1], buf.String())
	}

	// Few conversations: all listed, nothing said about the rest.
	var small Summary
	small.add(Finding{Kind: finding.Duplicated, ConversationID: "c1"})
	buf.Reset()
	if err := WriteSummary(&buf, small); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "most findings") || !strings.Contains(buf.String(), "c1") {
		t.Errorf("small summary:\n%s", buf.String())
	}
}

// TestSummaryEscapesConversationIDs: a conversation id is export content;
// the text summary shows its control characters escaped, never raw (an
// escape sequence, BEL, CR or LF would act on the terminal).
func TestSummaryEscapesConversationIDs(t *testing.T) {
	var s Summary
	s.add(Finding{Kind: finding.NotCaptured, ConversationID: "a\x1b]0;pwned\x07b\x1b[2J\r\nc\td"})
	var buf bytes.Buffer
	if err := WriteSummaryWith(&buf, s, SummaryOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\x07\r\t") || !strings.Contains(out, `a\x1b]0;pwned\ab\x1b[2J\r\nc\td`) {
		t.Errorf("conversation id not escaped:\n%q", out)
	}
}

// TestWriterAbort: a diff that fails leaves no torn document: the json
// writer closes the one it started with an "error" member (and writes
// nothing if it started none); jsonl ends with an error record; csv
// flushes whole rows.
func TestWriterAbort(t *testing.T) {
	f := Finding{Kind: finding.FileUnreadable, File: "a.json", Detail: "not JSON"}
	for _, tc := range []struct {
		format string
		n      int
		check  func(string) bool
	}{
		{OutputJSON, 0, func(s string) bool { return s == "" }},
		{OutputJSON, 2, func(s string) bool {
			var doc struct {
				Findings []Finding
				Error    string
			}
			return json.Valid([]byte(s)) && json.Unmarshal([]byte(s), &doc) == nil && len(doc.Findings) == 2 && doc.Error == "boom"
		}},
		{OutputCSV, 2, func(s string) bool { return strings.Count(s, "\n") == 3 && strings.HasSuffix(s, "not JSON,,\n") }},
		{OutputJSONL, 2, func(s string) bool {
			return strings.Count(s, "\n") == 3 && strings.HasSuffix(s, "}\n{\"error\":\"boom\"}\n")
		}},
	} {
		var buf bytes.Buffer
		w, err := NewWriter(tc.format, &buf)
		if err != nil {
			t.Fatal(err)
		}
		for range tc.n {
			if err := w.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Abort(errors.New("boom")); err != nil {
			t.Fatal(err)
		}
		if !tc.check(buf.String()) {
			t.Errorf("%s, %d findings, aborted: %q", tc.format, tc.n, buf.String())
		}
	}
}

// TestHostileNamesStayApart: a folder literally named with a backslash
// and an n, and one with a line feed, are shown apart (the backslash
// escaped too) and name two conversations, read from the raw names — not
// one conversation whose second message is a duplicate of the first.
func TestHostileNamesStayApart(t *testing.T) {
	dir := t.TempDir()
	for _, conv := range []string{`a\nb`, "a\nb"} {
		sub := filepath.Join(dir, "conversation_id="+conv)
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "r.json"), []byte(`{"messagingTranscript":[{"id":"m1"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, _ := runDir(t, dir, &MemIndex{}, Options{})
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s %q %s", f.Kind, f.ConversationID, f.File))
	}
	want := []string{
		`not_captured "a\nb" conversation_id=a\nb/r.json`,
		`not_captured "a\\nb" conversation_id=a\\nb/r.json`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOffBy: a timestamp shift beyond a time.Duration (about 292 years)
// is told in days and years, not as the saturated -2562047h47m16.854775808s.
func TestOffBy(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	capt := ts("2024-01-05T10:00:00.500Z")
	for _, tc := range []struct{ t, want string }{
		{"2024-01-05T11:00:01.500Z", "+1h0m1s"},
		{"2024-01-05T09:59:59.750Z", "-750ms"},
		{"0001-01-01T00:00:00Z", "-738889d10h0m0.5s, about 2023 years"},
		{"9999-12-31T23:59:59.999Z", "+2913169d13h59m59.499s, about 7976 years"},
	} {
		if got := offBy(ts(tc.t), capt); got != tc.want {
			t.Errorf("offBy(%s) = %s, want %s", tc.t, got, tc.want)
		}
	}
	if got := offBy(ts("0001-01-01T00:00:00Z"), ts("9999-12-31T23:59:59.999Z")); !strings.HasPrefix(got, "-3652058d23h59m59.999s") {
		t.Errorf("0001 against 9999: %s", got)
	}
}

// TestWhiteSpaceRun: a run of white space longer than the value limit is
// said to be one — not "the value at byte N is larger", there being no
// such value; messages before it count as read.
func TestWhiteSpaceRun(t *testing.T) {
	dir := t.TempDir()
	const limit = 4096
	for name, body := range map[string]string{
		"a.json": `{"conversationId":"c1","messagingTranscript":[{"id":"m1"},` + strings.Repeat(" \n", 40000) + `{"id":"ws1"}]}`,
		"b.json": `{"conversationId":"c2","messagingTranscript":[{"id":"m2","x":"` + strings.Repeat("y", 80000) + `"}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, _ := runDir(t, dir, &MemIndex{}, Options{MaxValueBytes: limit})
	var got []string
	for _, f := range fs {
		got = append(got, f.File+" "+string(f.Kind)+" "+f.MessageID+" "+f.Detail)
	}
	want := []string{
		"a.json not_captured m1 messagingTranscript[0]: in the export but never captured: refetch",
		"a.json file_unreadable  white space too long: the run at byte 58 is longer than 4096 bytes (the limit of a JSON value): read no further",
		"b.json file_unreadable  JSON value too large: the value at byte 46 is larger than 4096 bytes: read no further",
		// c2, never captured, no message of it read: a gap for refetch.
		" not_captured  the export names this conversation but custody never captured it, and no message of it could be read (see its file_unreadable finding): refetch",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
