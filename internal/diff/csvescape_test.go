package diff

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
)

// csvValue reads a cell of the CSV output back as docs/diff.md says: a
// cell holding a backslash is the body of a Go string literal, any other
// is the value itself; a leading ' before = + - @ is the formula guard.
func csvValue(t *testing.T, cell string) string {
	t.Helper()
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune("=+-@", rune(cell[1])) {
		cell = cell[1:]
	}
	if !strings.Contains(cell, `\`) {
		return cell
	}
	v, err := strconv.Unquote(`"` + cell + `"`)
	if err != nil {
		t.Fatalf("cell %q is not a Go string literal's body: %v", cell, err)
	}
	return v
}

// hostileFindings hold what a hostile export puts in findings: escape
// sequences, NUL, a C1 CSI (U+009B), bidi overrides, line separators,
// invalid UTF-8, backslashes, formulas.
var hostileFindings = []Finding{
	{Kind: finding.NotCaptured, ConversationID: "\x1b[2Jx", MessageID: "\x00", File: exportfile.SafeDisplay("esc\x1b[2J.jsonl"), Detail: "line 1: in the export but never captured: refetch", Cause: finding.CauseNotCaptured},
	{Kind: finding.NotCaptured, ConversationID: "abc\u202edcba", MessageID: "\u009b31m", File: "a.jsonl", Detail: "line 2", Cause: finding.CauseNotCaptured},
	{Kind: finding.ValueAltered, ConversationID: "c1", MessageID: "m1", Field: finding.FieldSender, Expected: "Ann\u2028Bob", Got: "=HYPERLINK(\"x\")\x07\r\n\u2066", File: "a.jsonl", Detail: `differs: a\b`},
	{Kind: finding.ValueAltered, ConversationID: "-\x1b]0;pwn\a", MessageID: "m\xff", Field: finding.FieldTimestamp, Got: `"m\xff"`, File: "a.jsonl", Detail: "\u0085next line"},
}

// TestCSVEscapes: no control character (C0, DEL, C1), bidi control or
// line separator from an export reaches a CSV cell raw: each is escaped
// as the text summary escapes a conversation id (exportfile.SafeDisplay,
// '\x1b', '\u202e'), backslashes doubled, so every cell reads back to the
// finding's value; the formula guard still applies; the file column,
// escaped already, is not escaped twice. Before, ESC, NUL, U+009B and
// U+202E were written as they came.
func TestCSVEscapes(t *testing.T) {
	if CSVHeader[csvFileColumn] != "file" {
		t.Fatalf("csvFileColumn %d is %q", csvFileColumn, CSVHeader[csvFileColumn])
	}
	var buf bytes.Buffer
	w, err := NewWriter(OutputCSV, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range hostileFindings {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Summary{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for i, r := range out {
		if r == '\n' {
			continue // the rows' own ends
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029 || r == utf8.RuneError {
			t.Errorf("raw %U at byte %d of the CSV:\n%q", r, i, out)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(hostileFindings)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(hostileFindings)+1)
	}
	want := map[[2]int]string{
		{1, 1}: `\x1b[2Jx`, {1, 2}: `\x00`, {1, 6}: `esc\x1b[2J.jsonl`,
		{2, 1}: `abc\u202edcba`, {2, 2}: `\u009b31m`,
		{3, 4}: `Ann\u2028Bob`, {3, 5}: `'=HYPERLINK(\"x\")\a\r\n\u2066`, {3, 7}: `differs: a\\b`,
		{4, 1}: `'-\x1b]0;pwn\a`, {4, 2}: `m\xff`, {4, 5}: `\"m\\xff\"`, {4, 7}: `\u0085next line`,
	}
	for at, cell := range want {
		if got := rows[at[0]][at[1]]; got != cell {
			t.Errorf("row %d %s = %q, want %q", at[0], CSVHeader[at[1]], got, cell)
		}
	}
	for i, f := range hostileFindings {
		r := rows[i+1]
		vals := []string{string(f.Kind), f.ConversationID, f.MessageID, f.Field, f.Expected, f.Got, f.File, f.Detail, string(f.Cause), ""}
		for col, v := range vals {
			if col == csvFileColumn {
				continue // the display form, read back below
			}
			if got := csvValue(t, r[col]); got != v {
				t.Errorf("row %d %s reads back as %q, want %q", i+1, CSVHeader[col], got, v)
			}
		}
	}
	if got := csvValue(t, rows[1][csvFileColumn]); got != "esc\x1b[2J.jsonl" {
		t.Errorf("file reads back as %q, want the file's name", got)
	}
}

// TestJSONLHostile: the JSON Lines output of the same findings is valid
// JSON, line by line, that decodes to the findings (invalid UTF-8 as
// encoding/json gives it, U+FFFD), with C0 controls and U+2028/U+2029
// escaped as \uXXXX; C1 controls and bidi controls are valid JSON as they
// are (a JSON reader, not a terminal, is its reader).
func TestJSONLHostile(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(OutputJSONL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range hostileFindings {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(hostileFindings) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(hostileFindings), buf.String())
	}
	for i, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("line %d is not JSON: %q", i+1, line)
		}
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x2028 || r == 0x2029 }) {
			t.Errorf("line %d holds a raw control or line separator: %q", i+1, line)
		}
		var back Finding
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Fatal(err)
		}
		want := hostileFindings[i]
		want.MessageID = strings.ToValidUTF8(want.MessageID, "\uFFFD")
		if back != want {
			t.Errorf("line %d reads back as %+v, want %+v", i+1, back, want)
		}
	}
}
