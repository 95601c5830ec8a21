package diff

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/testutil/exporttest"
)

// oneCapture is the capture most compare cases are checked against.
func oneCapture() *MemIndex {
	idx := &MemIndex{}
	idx.Add(Captured{
		ConversationID: "c1", MessageID: "m1",
		Timestamp:     "2024-03-01T10:00:00.123Z",
		ContentSHA256: genesys.ContentHash("Héllo\nworld"),
		Sender:        "+4411",
		LegalHold:     ptr(true),
		AuditRefs:     []string{"a2", "a1"},
	})
	return idx
}

// full is an exported JSON Lines message that matches oneCapture exactly.
const full = `"conversation_id":"c1","message_id":"m1","timestamp":"2024-03-01T10:00:00.123Z","content":"Héllo\nworld","sender":"+4411","legal_hold":true,"audit_trail_id":["a1","a2"]`

func TestCompareJSONL(t *testing.T) {
	k := func(kind finding.Kind, field string) key { return key{kind, "c1", "m1", field} }
	cases := []struct {
		name string
		line string
		want []key
	}{
		{"exact", `{` + full + `}`, nil},
		{"unknown fields ignored", `{"x":{"y":[1,2]},` + full + `,"z":null}`, nil},
		{"other offset same instant", `{"conversation_id":"c1","message_id":"m1","timestamp":"2024-03-01T12:30:00.123+02:30","content":"Héllo\nworld","sender":"+4411","legal_hold":true,"audit_trail_id":["a2","a1"]}`, nil},
		{"microseconds same millisecond", `{` + strings.Replace(full, ".123Z", ".123999Z", 1) + `}`, nil},
		{"epoch milliseconds", `{` + strings.Replace(full, `"2024-03-01T10:00:00.123Z"`, `1709287200123`, 1) + `}`, nil},
		{"content normalised: NFD, CRLF, padding", `{` + strings.Replace(full, `"Héllo\nworld"`, `"  He\u0301llo\r\nworld \n"`, 1) + `}`, nil},
		{"audit as one string", `{` + strings.Replace(full, `["a1","a2"]`, `"a1"`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldAuditTrailID)}},
		{"legal hold as string", `{` + strings.Replace(full, `true`, `"TRUE"`, 1) + `}`, nil},
		{"seconds only", `{` + strings.Replace(full, ".123Z", "Z", 1) + `}`, []key{k(finding.TimestampPrecisionLost, finding.FieldTimestamp)}},
		{"tenths only", `{` + strings.Replace(full, ".123Z", ".1Z", 1) + `}`, []key{k(finding.TimestampPrecisionLost, finding.FieldTimestamp)}},
		{"epoch seconds", `{` + strings.Replace(full, `"2024-03-01T10:00:00.123Z"`, `1709287200`, 1) + `}`, []key{k(finding.TimestampPrecisionLost, finding.FieldTimestamp)}},
		{"seconds rounded up is a shift", `{` + strings.Replace(full, "00.123Z", "01Z", 1) + `}`, []key{k(finding.TimestampShifted, finding.FieldTimestamp)}},
		{"shifted by 1ms", `{` + strings.Replace(full, ".123Z", ".124Z", 1) + `}`, []key{k(finding.TimestampShifted, finding.FieldTimestamp)}},
		{"local time read as UTC", `{` + strings.Replace(full, ".123Z", ".123+01:00", 1) + `}`, []key{k(finding.TimestampShifted, finding.FieldTimestamp)}},
		{"not a timestamp", `{` + strings.Replace(full, `"2024-03-01T10:00:00.123Z"`, `"yesterday"`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldTimestamp)}},
		{"timestamp wrong type", `{` + strings.Replace(full, `"2024-03-01T10:00:00.123Z"`, `{"t":1}`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldTimestamp)}},
		{"content differs", `{` + strings.Replace(full, `Héllo`, `Hello`, 1) + `}`, []key{k(finding.ContentDiffers, finding.FieldContent)}},
		{"content wrong type", `{` + strings.Replace(full, `"Héllo\nworld"`, `42`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldContent)}},
		{"sender altered", `{` + strings.Replace(full, `+4411`, `+4412`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldSender)}},
		{"legal hold altered", `{` + strings.Replace(full, `true`, `false`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldLegalHold)}},
		{"legal hold wrong type", `{` + strings.Replace(full, `true`, `[1]`, 1) + `}`, []key{k(finding.ValueAltered, finding.FieldLegalHold)}},
		{"null counts as absent", `{` + strings.Replace(full, `"+4411"`, `null`, 1) + `}`, []key{k(finding.FieldStripped, finding.FieldSender)}},
		{"everything stripped", `{"conversation_id":"c1","message_id":"m1"}`, []key{
			k(finding.FieldStripped, finding.FieldTimestamp), k(finding.FieldStripped, finding.FieldContent), k(finding.FieldStripped, finding.FieldSender),
			// No Genesys export has legal hold or audit references: their
			// absence is the export's, one format_lacks each, never a
			// message's field_stripped, though the shape names a path.
			{finding.FormatLacks, "", "", finding.FieldLegalHold}, {finding.FormatLacks, "", "", finding.FieldAuditTrailID}}},
		{"duplicate", `{` + full + "}\n{" + full + `}`, []key{k(finding.Duplicated, "")}},
		{"missing", `{"conversation_id":"c1","message_id":"other"}`, []key{
			{finding.NotCaptured, "c1", "other", ""}, k(finding.MissingFromExport, "")}},
		{"duplicate of a gap", `{"conversation_id":"c1","message_id":"x"}` + "\n" + `{"conversation_id":"c1","message_id":"x"}` + "\n{" + full + "}", []key{
			{finding.NotCaptured, "c1", "x", ""}, {finding.Duplicated, "c1", "x", ""}}},
		{"numeric message id", `{` + full + "}\n" + `{"conversation_id":"c1","message_id":7}`, []key{{finding.NotCaptured, "c1", "7", ""}}},
		{"no message id", `{"conversation_id":"c1","message_id":{"a":1}}` + "\n{" + full + "}", []key{{finding.FieldStripped, "c1", "", finding.FieldMessageID}}},
		{"no conversation id", `{"message_id":"m1"}` + "\n{" + full + "}", []key{{finding.FieldStripped, "", "m1", finding.FieldConversationID}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := benchutil.WriteTree(t, map[string]string{"x.jsonl": tc.line + "\n"})
			got, _ := runDir(t, dir, oneCapture(), Options{})
			if d := diffKeys(tc.want, keysOf(got)); d != "" {
				t.Errorf("%s\nfindings: %+v", d, got)
			}
		})
	}
}

func TestTimestampFindingValues(t *testing.T) {
	dir := benchutil.WriteTree(t, map[string]string{"x.jsonl": `{` + strings.Replace(full, ".123Z", "Z", 1) + "}\n" +
		`{` + strings.NewReplacer(`"m1"`, `"m2"`, ".123Z", ".000-01:00").Replace(full) + "}\n"})
	idx := oneCapture()
	idx.Add(Captured{ConversationID: "c1", MessageID: "m2", Timestamp: "2024-03-01T10:00:00.123Z",
		ContentSHA256: genesys.ContentHash("Héllo\nworld"), Sender: "+4411", LegalHold: ptr(true), AuditRefs: []string{"a1", "a2"}})
	got, _ := runDir(t, dir, idx, Options{})
	want := []Finding{
		{Kind: finding.TimestampPrecisionLost, ConversationID: "c1", MessageID: "m1", Field: finding.FieldTimestamp,
			Expected: "2024-03-01T10:00:00.123Z", Got: "2024-03-01T10:00:00Z", File: "x.jsonl",
			Detail: "line 1: exported with 0 fractional digits; the capture has milliseconds"},
		{Kind: finding.TimestampShifted, ConversationID: "c1", MessageID: "m2", Field: finding.FieldTimestamp,
			Expected: "2024-03-01T10:00:00.123Z", Got: "2024-03-01T10:00:00.000-01:00", File: "x.jsonl",
			Detail: "line 2: off by +59m59.877s"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestScope(t *testing.T) {
	idx := &MemIndex{}
	for _, c := range []string{"c1", "c2", "c3"} {
		for _, m := range []string{"m1", "m2"} {
			idx.Add(Captured{ConversationID: c, MessageID: m, Timestamp: "2024-03-01T10:00:00.000Z", ContentSHA256: emptyContentHash})
		}
	}
	// c1 fully present, c2 half present, c3 absent; c4 never captured.
	lines := []string{
		`{"conversation_id":"c1","message_id":"m1","timestamp":"2024-03-01T10:00:00.000Z"}`,
		`{"conversation_id":"c1","message_id":"m2","timestamp":"2024-03-01T10:00:00.000Z"}`,
		`{"conversation_id":"c2","message_id":"m2","timestamp":"2024-03-01T10:00:00.000Z"}`,
		`{"conversation_id":"c4","message_id":"m1","timestamp":"2024-03-01T10:00:00.000Z"}`,
	}
	dir := benchutil.WriteTree(t, map[string]string{"a.jsonl": strings.Join(lines, "\n")})
	pol := DefaultPolicy()
	pol.Required = []string{finding.FieldTimestamp}
	got, s := runDir(t, dir, idx, Options{Policy: pol})
	want := []key{{finding.NotCaptured, "c4", "m1", ""}, {finding.MissingFromExport, "c2", "m1", ""}, {finding.ConversationAbsent, "c3", "", ""}}
	if d := diffKeys(want, keysOf(got)); d != "" {
		t.Error(d)
	}
	if s.ConversationsAbsent != 1 || s.MessagesInAbsentConversations != 2 || s.Conversations != 3 || s.Captured != 6 || s.Messages != 4 {
		t.Errorf("summary = %+v", s)
	}
	if s.PerConversation["c2"].Get(finding.MissingFromExport) != 1 || s.Counts[finding.NotCaptured] != 1 {
		t.Errorf("counts = %+v / %+v", s.Counts, s.PerConversation)
	}
}

// genesysFile is a recording file in the Genesys layout.
const genesysFile = `{"id":"rec1","conversationId":"c1","media":"message","messagingTranscript":[
 {"from":"+4411","to":"+4400","timestamp":"2024-03-01T10:00:00.123Z","id":"m1","purpose":"customer","messageText":"Héllo\nworld","extra":{"deep":[1]}}
],"selfUri":"/x"}`

func TestShapes(t *testing.T) {
	// No Genesys export holds legal hold or audit references: one
	// format_lacks each for the export, in the genesys shape (no path for
	// them) and in the reshape alike (its policy names where they would
	// be, and a value there is compared, but a message without them lost
	// nothing).
	lacks := []key{{finding.FormatLacks, "", "", finding.FieldLegalHold}, {finding.FormatLacks, "", "", finding.FieldAuditTrailID}}
	cases := []struct {
		name  string
		files map[string]string
		opts  Options
		want  []key
	}{
		{"genesys layout", map[string]string{
			"org/year=2024/month=3/day=1/hour=10/conversation_id=c1/rec1.json":          genesysFile,
			"org/year=2024/month=3/day=1/hour=10/conversation_id=c1/rec1_metadata.json": `{"conversationId":"c1","mediaType":"message","userIds":[]}`,
		}, Options{}, lacks},
		{"genesys, conversation id after the transcript", map[string]string{
			"r.json": `{"messagingTranscript":[{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z","messageText":"Héllo\nworld","from":"+4411"}],"conversationId":"c1"}`,
		}, Options{}, lacks},
		{"genesys, folder and body disagree", map[string]string{
			"conversation_id=c1/r.json": `{"conversationId":"c9","messagingTranscript":[{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z","messageText":"Héllo\nworld","from":"+4411"}]}`,
		}, Options{}, append([]key{{finding.ValueAltered, "c1", "", finding.FieldConversationID}}, lacks...)},
		{"genesys, the path names two conversations", map[string]string{
			"conversation_id=c1/conversation_id=c9/r.json": genesysFile,
		}, Options{}, append([]key{{finding.ValueAltered, "c1", "", finding.FieldConversationID}}, lacks...)},
		{"reshape named by conversation", map[string]string{
			"whatsapp/c1.json": `{"channel":"whatsapp","messages":[{"id":"m1","content":"Héllo\nworld","timestamp":"2024-03-01T10:00:00Z"}]}`,
		}, Options{}, []key{{finding.TimestampPrecisionLost, "c1", "m1", finding.FieldTimestamp}, {finding.FieldStripped, "c1", "m1", finding.FieldSender}, lacks[0], lacks[1]}},
		{"reshape, later conversation id contradicts the name", map[string]string{
			"whatsapp/c1.json": `{"messages":[{"id":"m1","content":"Héllo\nworld","timestamp":"2024-03-01T10:00:00.123Z"}],"conversationId":"c9"}`,
		}, Options{}, []key{{finding.ValueAltered, "c1", "", finding.FieldConversationID}, {finding.FieldStripped, "c1", "m1", finding.FieldSender}, lacks[0], lacks[1]}},
		{"reshape with conversation id", map[string]string{
			"export.json": `{"conversationId":"c1","channel":"whatsapp","messages":[{"id":"m1","content":"Héllo\nworld","timestamp":"2024-03-01T10:00:00.123Z","from":"+4411","legalHold":true,"auditTrailId":["a1","a2"]}]}`,
		}, Options{}, nil},
		{"forced format ignores the other shape", map[string]string{
			"c1.json": `{"messages":[{"id":"m1"}]}`,
			// A readable file beside it: an export of no readable file is an error.
			"c2.json": `{"conversationId":"c1","messagingTranscript":[]}`,
		}, Options{Format: exportfile.ShapeGenesys}, []key{{finding.FileUnreadable, "", "", ""}, {finding.MissingFromExport, "c1", "m1", ""}}},
		{"forced jsonl on a .json name", map[string]string{
			"c1.json": `{` + full + `}`,
		}, Options{Format: exportfile.ShapeJSONL}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := runDir(t, benchutil.WriteTree(t, tc.files), oneCapture(), tc.opts)
			if d := diffKeys(tc.want, keysOf(got)); d != "" {
				t.Errorf("%s\nfindings: %+v", d, got)
			}
		})
	}
}

func TestHostileFiles(t *testing.T) {
	long := `{"conversation_id":"c1","message_id":"m1","content":"` + strings.Repeat("x", 2000) + `"}`
	files := map[string]string{
		"01-truncated.json":        `{"conversationId":"c1","messagingTranscript":[{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z"},{"id":"m2","times`,
		"02-malformed.json":        `{"conversationId":"c1","messagingTranscript":[{"id":"m3"} {"id":"m4"}]}`,
		"03-wrong-type.json":       `{"conversationId":"c1","messagingTranscript":"not an array"}`,
		"04-wrong-elements.json":   `{"conversationId":"c1","messagingTranscript":[1,"two",null,[3],{"id":"m5"}]}`,
		"05-empty.json":            ``,
		"06-blank.json":            " \n\t\n",
		"07-not-json.json":         "PK\x03\x04binary zip",
		"08-audio.wav":             "RIFF....WAVEfmt ",
		"09-bom.json":              "\xEF\xBB\xBF" + `{"conversationId":"c2","messagingTranscript":[]}`,
		"10-bom.jsonl":             "\xEF\xBB\xBF" + `{"conversation_id":"c2","message_id":"m6"}` + "\n",
		"11-lines.jsonl":           long + "\n" + `{"conversation_id":"c2","message_id":"m7"}` + "\n" + "[1]\nnull\n{bad\n" + `{"conversation_id":"c2","message_id":"m8"`,
		"12-top-array.json":        `[{"id":"m1"}]`,
		"13-unknown-shape.json":    `{"hello":"world"}`,
		"14-trailing.json":         `{"conversationId":"c3","messages":[]} {"x":1}`,
		"15-deep.json":             `{"conversationId":"c1","messagingTranscript":[` + strings.Repeat("[", 12000) + strings.Repeat("]", 12000) + `]}`,
		"16-no-conv.json":          `{"messagingTranscript":[{"id":"m9"}]}`,
		"17-bad-metadata.json":     `x`,
		"18-too-large.json":        `{"conversationId":"c3","messages":[` + strings.Repeat(" ", 50000) + `]}`,
		"19-messages-object.json":  `{"conversationId":"c1","messages":{"id":"m1"}}`,
		"20-two-arrays.json":       `{"conversationId":"c4","messages":[],"messagingTranscript":[{"id":"zz"}]}`,
		"sub/21-x_metadata.json":   `[1,2]`,
		"sub/22-ok_metadata.json":  `{"mediaType":"message"}`,
		"conversation_id=c5/m.bin": "\x00\x01",
		"25-empty.jsonl":           "\n\r\n",
		"26-at-limit.json":         `{"conversationId":"c9","messages":[` + strings.Repeat(" ", 40000-37) + `]}`,
	}
	dir := benchutil.WriteTree(t, files)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "23-link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../..", filepath.Join(dir, "24-dirlink")); err != nil {
		t.Fatal(err)
	}
	opts := Options{MaxLineBytes: 1024, MaxFileSize: 40000, Concurrency: 3}
	got, s := runDir(t, dir, &MemIndex{}, opts)
	unreadable := map[string][]string{}
	for _, f := range got {
		if f.Kind == finding.FileUnreadable {
			unreadable[f.File] = append(unreadable[f.File], f.Detail)
		}
	}
	want := map[string][]string{
		"01-truncated.json":        {"truncated"},
		"02-malformed.json":        {"invalid JSON at byte"},
		"03-wrong-type.json":       {`"messagingTranscript" is not an array`},
		"04-wrong-elements.json":   {"messagingTranscript[0]: a JSON number", "messagingTranscript[1]: a JSON string", "messagingTranscript[2]: a JSON null", "messagingTranscript[3]: a JSON array"},
		"05-empty.json":            {"empty file"},
		"06-blank.json":            {"empty file"},
		"07-not-json.json":         {"not JSON: starts with byte 0x50"},
		"08-audio.wav":             {"not JSON: starts with byte 0x52"},
		"11-lines.jsonl":           {"line 1: longer than 1024 bytes", "line 3: a JSON array", "line 4: a JSON null", "line 5: invalid JSON", "line 6: invalid JSON"},
		"12-top-array.json":        {"top-level JSON array"},
		"13-unknown-shape.json":    {"no message array"},
		"14-trailing.json":         {"trailing data"},
		"15-deep.json":             {"invalid JSON"},
		"16-no-conv.json":          {"1 messages with no conversation id"},
		"17-bad-metadata.json":     {"not JSON"},
		"18-too-large.json":        {"file too large"},
		"19-messages-object.json":  {`"messages" is not an array`},
		"20-two-arrays.json":       {`second message array "messagingTranscript" ignored`},
		"sub/21-x_metadata.json":   {"top-level JSON array"},
		"conversation_id=c5/m.bin": {"not JSON: starts with byte 0x00"},
		"23-link.json":             {"symbolic link: not followed"},
		"25-empty.jsonl":           {"empty file"},
		"24-dirlink":               {"symbolic link: not followed"},
	}
	for name, subs := range want {
		details := unreadable[name]
		if len(details) != len(subs) {
			t.Errorf("%s: %d file_unreadable findings, want %d: %q", name, len(details), len(subs), details)
			continue
		}
		for i, sub := range subs {
			if !strings.Contains(details[i], sub) {
				t.Errorf("%s: finding %d = %q, want it to mention %q", name, i, details[i], sub)
			}
		}
	}
	for name, d := range unreadable {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file_unreadable for %s: %q", name, d)
		}
	}
	if s.FilesUnreadable != len(want) {
		t.Errorf("FilesUnreadable = %d, want %d", s.FilesUnreadable, len(want))
	}
	// What was readable still counts: m1 before the truncation, m3 before
	// the syntax error, m5, m6 and m7 (m8's line is cut short). The
	// conversations the export names of which no message could be read,
	// never captured, are one gap each, after them: c3, c4, c5 and c9.
	var gaps, convGaps []string
	for _, f := range got {
		switch {
		case f.Kind != finding.NotCaptured:
		case f.MessageID == "":
			convGaps = append(convGaps, f.ConversationID)
		case len(convGaps) > 0:
			t.Errorf("not_captured %s after the conversations' gaps", f.MessageID)
		default:
			gaps = append(gaps, f.MessageID)
		}
	}
	if !slices.Equal(gaps, []string{"m1", "m3", "m5", "m6", "m7"}) {
		t.Errorf("not_captured = %v, want [m1 m3 m5 m6 m7]", gaps)
	}
	if !slices.Equal(convGaps, []string{"c3", "c4", "c5", "c9"}) {
		t.Errorf("not_captured conversations = %v, want [c3 c4 c5 c9]", convGaps)
	}
}

func TestDeterministic(t *testing.T) {
	files := map[string]string{}
	idx := &MemIndex{}
	for c := range 40 {
		conv := "c" + string(rune('A'+c%26)) + string(rune('a'+c/26))
		var lines []string
		for m := range 30 {
			id := conv + "-m" + string(rune('a'+m))
			if m%7 != 3 {
				idx.Add(Captured{ConversationID: conv, MessageID: id, Timestamp: "2024-01-01T00:00:00.500Z", ContentSHA256: genesys.ContentHash("t")})
			}
			if m%5 != 1 {
				lines = append(lines, `{"conversation_id":"`+conv+`","message_id":"`+id+`","timestamp":"2024-01-01T00:00:00Z","content":"t"}`)
			}
		}
		files["p/"+conv+".jsonl"] = strings.Join(lines, "\n")
	}
	dir := benchutil.WriteTree(t, files)
	ref, refSum := runDir(t, dir, idx, Options{Concurrency: 1})
	if len(ref) == 0 {
		t.Fatal("no findings")
	}
	for _, n := range []int{2, 8} {
		got, sum := runDir(t, dir, idx, Options{Concurrency: n})
		if !slices.Equal(got, ref) {
			t.Fatalf("concurrency %d: findings differ from concurrency 1", n)
		}
		if sum.Counts.Total() != refSum.Counts.Total() || sum.Messages != refSum.Messages {
			t.Fatalf("concurrency %d: summary differs", n)
		}
	}
}

// TestRemoteSourceConcurrency: with no Concurrency given, a source that
// asks for reads in flight (S3) is read that many files at a time, not
// DefaultConcurrency, and the findings are the same as one at a time.
func TestRemoteSourceConcurrency(t *testing.T) {
	files := map[string]string{}
	idx := &MemIndex{}
	for c := range 60 {
		conv := fmt.Sprintf("c%02d", c)
		idx.Add(Captured{ConversationID: conv, MessageID: conv + "-m", Timestamp: "2024-01-01T00:00:00.500Z", ContentSHA256: genesys.ContentHash("t")})
		files["p/"+conv+".jsonl"] = `{"conversation_id":"` + conv + `","message_id":"` + conv + `-m","timestamp":"2024-01-01T00:00:00Z","content":"t"}`
	}
	dir := benchutil.WriteTree(t, files)
	ref, _ := runDir(t, dir, idx, Options{Concurrency: 1})
	ds, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	src := &exporttest.RemoteSource{DirSource: ds}
	got, _ := runSource(t, src, idx, Options{})
	if !slices.Equal(got, ref) {
		t.Fatal("findings differ from one file at a time")
	}
	if most := src.Opening.Most(); most <= DefaultConcurrency || most > 12 {
		t.Errorf("at most %d files open at once, want more than %d and at most 12", most, DefaultConcurrency)
	}
}

// hugeSource asks for more reads in flight than anyone should start.
type hugeSource struct{ *exporttest.RemoteSource }

func (hugeSource) Parallelism() int { return 1 << 40 }

// TestSourceConcurrencyCeiling: a source's Parallelism sizes the diff's
// queues only up to MaxConcurrency, where 1<<40 made a channel of that
// many times six slots (out of memory, or a panic).
func TestSourceConcurrencyCeiling(t *testing.T) {
	files := map[string]string{}
	idx := &MemIndex{}
	for c := range 80 {
		conv := fmt.Sprintf("c%02d", c)
		idx.Add(Captured{ConversationID: conv, MessageID: conv + "-m", Timestamp: "2024-01-01T00:00:00.500Z", ContentSHA256: genesys.ContentHash("t")})
		files["p/"+conv+".jsonl"] = `{"conversation_id":"` + conv + `","message_id":"` + conv + `-m","timestamp":"2024-01-01T00:00:00Z","content":"t"}`
	}
	dir := benchutil.WriteTree(t, files)
	ref, _ := runDir(t, dir, idx, Options{Concurrency: 1})
	ds, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	src := hugeSource{&exporttest.RemoteSource{DirSource: ds}}
	for _, conc := range []int{0, 1 << 40} {
		got, _ := runSource(t, src, idx, Options{Concurrency: conc})
		if !slices.Equal(got, ref) {
			t.Fatalf("Concurrency %d: findings differ from one file at a time", conc)
		}
	}
	if most := src.Opening.Most(); most > MaxConcurrency {
		t.Errorf("%d files open at once, want at most %d", most, MaxConcurrency)
	}
}

func TestEmitErrorStops(t *testing.T) {
	dir := benchutil.WriteTree(t, map[string]string{"a.jsonl": `{"conversation_id":"c","message_id":"1"}` + "\n" + `{"conversation_id":"c","message_id":"2"}`})
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	boom := errors.New("boom")
	n := 0
	_, err = Run(context.Background(), src, &MemIndex{}, Options{}, func(Finding) error { n++; return boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("err = %v after %d findings, want boom after 1", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, src, &MemIndex{}, Options{}, func(Finding) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err = %v", err)
	}
}

func TestWriters(t *testing.T) {
	fs := []Finding{
		{Kind: finding.ContentDiffers, ConversationID: "c1", MessageID: "m1", Field: "content", Expected: "aa", Got: "bb", File: "f.json", Detail: "x"},
		{Kind: finding.FileUnreadable, File: "=cmd|' /C calc'!A0", Detail: "not JSON, \"quoted\"\nnewline"},
		{Kind: finding.ConversationAbsent, ConversationID: "c2", Cause: finding.CauseNoRecording},
		{Kind: finding.FormatLacks, Field: "legal_hold", Expected: "false=2", Detail: "lack it", Count: 2},
	}
	var s Summary
	for _, f := range fs {
		s.add(f)
	}
	for _, format := range []string{OutputJSON, OutputCSV, OutputJSONL} {
		for _, n := range []int{0, 2, 4} {
			var buf bytes.Buffer
			w, err := NewWriter(format, &buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs[:n] {
				if err := w.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(s); err != nil {
				t.Fatal(err)
			}
			var back []Finding
			switch format {
			case OutputJSON:
				var doc struct {
					Findings []Finding `json:"findings"`
					Summary  Summary   `json:"summary"`
				}
				if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
					t.Fatalf("json output does not parse: %v\n%s", err, buf.String())
				}
				if doc.Summary.Counts[finding.ContentDiffers] != 1 || doc.Summary.PerConversation["c1"].Get(finding.ContentDiffers) != 1 ||
					doc.Summary.PerConversation[""].Get(finding.FileUnreadable) != 1 {
					t.Errorf("json summary = %+v", doc.Summary)
				}
				back = doc.Findings
			case OutputJSONL:
				dec := json.NewDecoder(&buf)
				for dec.More() {
					var f Finding
					if err := dec.Decode(&f); err != nil {
						t.Fatal(err)
					}
					back = append(back, f)
				}
			case OutputCSV:
				rows, err := csv.NewReader(&buf).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(rows[0], CSVHeader) {
					t.Errorf("header = %v", rows[0])
				}
				for _, r := range rows[1:] {
					for i := range r {
						if i != csvFileColumn { // its formula guard is checked below
							r[i] = csvValue(t, r[i]) // escaped: Detail holds a quote and a line break
						}
					}
					count := 0
					if r[9] != "" {
						if count, err = strconv.Atoi(r[9]); err != nil {
							t.Fatalf("count %q: %v", r[9], err)
						}
					}
					back = append(back, Finding{Kind: finding.Kind(r[0]), ConversationID: r[1], MessageID: r[2], Field: r[3], Expected: r[4], Got: r[5], File: r[6], Detail: r[7], Cause: finding.Cause(r[8]), Count: count})
				}
				if n >= 2 && back[1].File != "'=cmd|' /C calc'!A0" {
					t.Errorf("csv formula not defused: %q", back[1].File)
				}
				if n >= 2 {
					back[1].File = fs[1].File
				}
			}
			if len(back) != n || (n > 0 && !slices.Equal(back, fs[:n])) {
				t.Errorf("%s with %d findings: read back %+v", format, n, back)
			}
		}
	}
	if _, err := NewWriter("xml", &bytes.Buffer{}); !errors.Is(err, ErrBadFormat) {
		t.Errorf("NewWriter(xml) err = %v", err)
	}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"content_differs", "file_unreadable", "c1", "(none)", "findings"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestPolicy(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("\xEF\xBB\xBF" + `{"required":["timestamp"],"shapes":{"genesys":{"fields":{"legal_hold":["legalHold"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Required, []string{"timestamp"}) || !slices.Equal(p.Shapes[exportfile.ShapeGenesys].Fields[finding.FieldLegalHold], []string{"legalHold"}) ||
		!slices.Equal(p.Shapes[exportfile.ShapeGenesys].Fields[finding.FieldContent], []string{"messageText"}) || p.Shapes[exportfile.ShapeGenesys].Messages != "messagingTranscript" {
		t.Errorf("merged policy = %+v", p)
	}
	bad := map[string]string{
		"unknown key":      `{"requird":["timestamp"]}`,
		"unknown field":    `{"required":["colour"]}`,
		"unknown shape":    `{"shapes":{"xml":{}}}`,
		"version":          `{"version":2}`,
		"content rule":     `{"content":"md5"}`,
		"timestamp rule":   `{"timestamp":"second"}`,
		"empty path":       `{"shapes":{"jsonl":{"fields":{"sender":[""]}}}}`,
		"empty segment":    `{"shapes":{"jsonl":{"fields":{"sender":["a..b"]}}}}`,
		"no message id":    `{"shapes":{"reshape":{"fields":{"message_id":[]}}}}`,
		"same message key": `{"shapes":{"reshape":{"messages":"messagingTranscript"}}}`,
		"nested doc conv":  `{"shapes":{"reshape":{"conversation_id":["a.b"]}}}`,
		"comma in a key":   `{"shapes":{"jsonl":{"fields":{"sender":["a,b"]}}}}`,
		"quote in a key":   `{"shapes":{"jsonl":{"fields":{"sender":["a\"b"]}}}}`,
		"not json":         `required: [timestamp]`,
	}
	for name, in := range bad {
		if _, err := ParsePolicy(strings.NewReader(in)); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("%s: err = %v, want ErrBadPolicy", name, err)
		}
	}
	// The documented default must load from its own JSON.
	b, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePolicy(bytes.NewReader(b)); err != nil {
		t.Errorf("default policy does not round-trip: %v", err)
	}
}

func TestNestedPolicyPath(t *testing.T) {
	pol := DefaultPolicy()
	sp := pol.Shapes[exportfile.ShapeJSONL]
	sp.Fields[finding.FieldSender] = []string{"fromUser.address", "from"}
	pol.Shapes[exportfile.ShapeJSONL] = sp
	line := `{` + strings.Replace(full, `"sender":"+4411"`, `"fromUser":{"address":"+4411"},"from":"ignored"`, 1) + `}`
	got, _ := runDir(t, benchutil.WriteTree(t, map[string]string{"a.jsonl": line}), oneCapture(), Options{Policy: pol})
	if len(got) != 0 {
		t.Errorf("findings = %+v", got)
	}
}

// convIndex is a MemIndex that serves whole conversations and counts calls.
type convIndex struct {
	*MemIndex
	lookups, loads, each atomic.Int64
}

func (c *convIndex) Lookup(ctx context.Context, conv, msg string) (Captured, bool, error) {
	c.lookups.Add(1)
	return c.MemIndex.Lookup(ctx, conv, msg)
}

func (c *convIndex) Each(ctx context.Context, fn func(Captured) error) error {
	c.each.Add(1)
	return c.MemIndex.Each(ctx, fn)
}

func (c *convIndex) Conversations(ctx context.Context, fn func(string) error) error {
	seen := map[string]bool{}
	for _, x := range c.items {
		if !seen[x.ConversationID] {
			seen[x.ConversationID] = true
			if err := fn(x.ConversationID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *convIndex) Captures(ctx context.Context, seqs []uint64, fn func(Captured) error) error {
	for _, seq := range seqs {
		i := slices.IndexFunc(c.items, func(x Captured) bool { return x.Seq == seq })
		if i < 0 {
			return fmt.Errorf("no capture %d", seq)
		}
		if err := fn(c.items[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *convIndex) Conversation(ctx context.Context, conv string) ([]Captured, error) {
	c.loads.Add(1)
	var out []Captured
	err := c.MemIndex.Each(ctx, func(x Captured) error {
		if x.ConversationID == conv {
			out = append(out, x)
		}
		return nil
	})
	return out, err
}

func TestConversationIndex(t *testing.T) {
	idx := &MemIndex{}
	var lines []string
	for _, conv := range []string{"a", "b", "c"} {
		for _, m := range []string{"1", "2", "3"} {
			idx.Add(Captured{ConversationID: conv, MessageID: m, Timestamp: "2024-01-01T00:00:00.000Z", ContentSHA256: emptyContentHash})
			if conv+m != "b2" {
				lines = append(lines, `{"conversation_id":"`+conv+`","message_id":"`+m+`","timestamp":"2024-01-01T00:00:00.000Z"}`)
			}
		}
	}
	lines = append(lines, `{"conversation_id":"a","message_id":"1","timestamp":"2024-01-01T00:00:00.000Z"}`, // back to a: a duplicate
		`{"conversation_id":"a","message_id":"9"}`)
	// d is captured but absent from the export: one conversation_absent.
	idx.Add(Captured{ConversationID: "d", MessageID: "1", Timestamp: "2024-01-01T00:00:00.000Z", ContentSHA256: emptyContentHash})
	dir := benchutil.WriteTree(t, map[string]string{"x.jsonl": strings.Join(lines, "\n")})
	pol := DefaultPolicy()
	pol.Required = nil
	plain, plainSum := runDir(t, dir, idx, Options{Policy: pol})
	ci := &convIndex{MemIndex: idx}
	got, sum := runDir(t, dir, ci, Options{Policy: pol})
	if !slices.Equal(got, plain) {
		t.Errorf("findings through Conversation differ:\n%+v\n%+v", got, plain)
	}
	if sum.Captured != 10 || sum.ConversationsAbsent != 1 || sum.MessagesInAbsentConversations != 1 ||
		sum.Captured != plainSum.Captured || sum.Conversations != plainSum.Conversations {
		t.Errorf("summary through Conversation %+v, through Each %+v; want 10 captured, 1 absent conversation of 1 message", sum, plainSum)
	}
	want := []key{{finding.Duplicated, "a", "1", ""}, {finding.NotCaptured, "a", "9", ""}, {finding.MissingFromExport, "b", "2", ""}, {finding.ConversationAbsent, "d", "", ""}}
	if d := diffKeys(want, keysOf(got)); d != "" {
		t.Error(d)
	}
	if ci.lookups.Load() != 0 || ci.loads.Load() != 5 || ci.each.Load() != 0 {
		t.Errorf("lookups %d, conversation loads %d, passes over every capture %d; want 0, 5 (a, b, c, a again, d to count it) and 0",
			ci.lookups.Load(), ci.loads.Load(), ci.each.Load())
	}
}

// sensitiveIndex is a convIndex that says whether a conversation holds
// sensitive data (those whose id ends in "s"), after a pause, as a ledger
// reading evidence from S3 does; it records the most questions it had
// in flight.
type sensitiveIndex struct {
	*convIndex
	asked benchutil.InFlight
}

func (s *sensitiveIndex) SensitiveData(ctx context.Context, conv string) (bool, error) {
	defer s.asked.Enter()()
	time.Sleep(3 * time.Millisecond)
	return strings.HasSuffix(conv, "s"), nil
}

// parallelSensitiveIndex asks for 8 questions in flight (ParallelIndex).
type parallelSensitiveIndex struct{ *sensitiveIndex }

func (parallelSensitiveIndex) Parallelism() int { return 8 }

// TestSensitiveAskedInParallel: an index that asks for it (a ledger with
// its evidence on S3) is asked whether each conversation the export lacks
// held sensitive data several at a time, and the findings, causes
// included, are those of asking one at a time.
func TestSensitiveAskedInParallel(t *testing.T) {
	idx := &MemIndex{}
	lines := []string{`{"conversation_id":"a","message_id":"1","timestamp":"2024-01-01T00:00:00.000Z"}`}
	idx.Add(Captured{ConversationID: "a", MessageID: "1", Timestamp: "2024-01-01T00:00:00.000Z", ContentSHA256: emptyContentHash})
	for i := range 30 {
		conv := fmt.Sprintf("x%02d", i)
		if i%3 == 0 {
			conv += "s"
		}
		idx.Add(Captured{ConversationID: conv, MessageID: "1", Timestamp: "2024-01-01T00:00:00.000Z", ContentSHA256: emptyContentHash})
	}
	dir := benchutil.WriteTree(t, map[string]string{"x.jsonl": strings.Join(lines, "\n")})
	pol := DefaultPolicy()
	pol.Required = nil
	serial := &sensitiveIndex{convIndex: &convIndex{MemIndex: idx}}
	want, _ := runDir(t, dir, serial, Options{Policy: pol})
	par := parallelSensitiveIndex{&sensitiveIndex{convIndex: &convIndex{MemIndex: idx}}}
	got, sum := runDir(t, dir, par, Options{Policy: pol})
	if !slices.Equal(got, want) {
		t.Errorf("findings asked in parallel differ:\n%+v\n%+v", got, want)
	}
	sensitive := 0
	for _, f := range got {
		if f.Kind == finding.ConversationAbsent && f.Cause == finding.CauseSensitiveDataExcluded {
			sensitive++
		}
	}
	if sum.ConversationsAbsent != 30 || sensitive != 10 {
		t.Errorf("%d conversations absent, %d of them sensitive; want 30 and 10", sum.ConversationsAbsent, sensitive)
	}
	if most := serial.asked.Most(); most != 1 {
		t.Errorf("asked %d at once without ParallelIndex, want 1", most)
	}
	if most := par.asked.Most(); most < 2 || most > 8 {
		t.Errorf("asked %d at once with ParallelIndex, want 2 to 8", most)
	}
}

// An export with nothing to read is an error, never a complete export.
func TestEmptySource(t *testing.T) {
	idx := oneCapture()
	cases := map[string]map[string]string{
		"empty folder":        {},
		"only folders":        {"a/b/.keep/": ""},
		"every file unusable": {"a.json": "not json", "b.json": "", "c.jsonl": "\n"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for n, body := range files {
				p := filepath.Join(dir, filepath.FromSlash(n))
				if strings.HasSuffix(n, "/") {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src, err := exportfile.NewDirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Run(context.Background(), src, idx, Options{}, func(Finding) error { return nil })
			if !errors.Is(err, ErrEmptySource) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want ErrEmptySource naming %s", err, dir)
			}
		})
	}
}

// Conflicting duplicate keys and text that is not valid UTF-8 are
// findings, never last-wins or U+FFFD: the same through the fast path (a
// small file) and through encoding/json (a file larger than the read
// buffer).
func TestDuplicateKeysAndInvalidUTF8(t *testing.T) {
	idx := &MemIndex{}
	for _, m := range []string{"m1", "m2", "m3"} {
		idx.Add(Captured{ConversationID: "c1", MessageID: m, Timestamp: "2024-03-01T10:00:00.123Z",
			ContentSHA256: genesys.ContentHash("hi"), Sender: "+4411", LegalHold: ptr(true)})
	}
	msgs := []string{
		`{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z","messageText":"hi","from":"+4411","legalHold":true,"legalHold":false}`,
		`{"id":"m2","id":"m3","timestamp":"2024-03-01T10:00:00.123Z"}`,
		"{\"id\":\"m\xff\",\"timestamp\":\"2024-03-01T10:00:00.123Z\"}",
		"{\"id\":\"m\xfe\",\"timestamp\":\"2024-03-01T10:00:00.123Z\"}",
		`{"id":"m\udc00"}`,
		"{\"id\":\"m3\",\"timestamp\":\"2024-03-01T10:00:00.123Z\",\"messageText\":\"h\xc3\",\"from\":\"+4411\",\"legalHold\":true,\"legalHold\":true}",
	}
	pol := DefaultPolicy()
	gp := pol.Shapes[exportfile.ShapeGenesys]
	gp.Fields[finding.FieldLegalHold] = []string{"legalHold"}
	pol.Shapes[exportfile.ShapeGenesys] = gp
	pol.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldSender}
	want := []key{
		{finding.ValueAltered, "c1", "m1", finding.FieldLegalHold},
		{finding.ValueAltered, "c1", "", finding.FieldMessageID},
		{finding.ValueAltered, "c1", "", finding.FieldMessageID},
		{finding.ValueAltered, "c1", "", finding.FieldMessageID},
		{finding.ValueAltered, "c1", "", finding.FieldMessageID},
		{finding.ValueAltered, "c1", "m3", finding.FieldContent},
		{finding.MissingFromExport, "c1", "m2", ""},
	}
	for _, pad := range []int{0, 70 << 10} {
		t.Run(fmt.Sprintf("pad%d", pad), func(t *testing.T) {
			doc := `{"conversationId":"c1","pad":"` + strings.Repeat("x", pad) + `","messagingTranscript":[` + strings.Join(msgs, ",") + `]}`
			got, _ := runDir(t, benchutil.WriteTree(t, map[string]string{"conversation_id=c1/r.json": doc}), idx, Options{Policy: pol})
			if d := diffKeys(want, keysOf(got)); d != "" {
				t.Fatalf("%s\nfindings: %+v", d, got)
			}
			for _, f := range got {
				if strings.ContainsRune(f.Got+f.Detail+f.MessageID, utf8.RuneError) || !utf8.ValidString(f.Got) {
					t.Errorf("finding carries U+FFFD or invalid UTF-8: %+v", f)
				}
			}
			if g := got[0]; g.Got != "true | false" || !strings.Contains(g.Detail, `key "legalHold" given more than once`) {
				t.Errorf("legal hold conflict: %+v", g)
			}
			if g := got[2]; g.Got != `"m\xff"` || !strings.Contains(g.Detail, "invalid UTF-8") {
				t.Errorf("invalid id: %+v", g)
			}
			if g := got[4]; !strings.Contains(g.Detail, `unpaired surrogate \udc00`) {
				t.Errorf("lone surrogate: %+v", g)
			}
		})
	}
	// A document's conversation id given twice, or not valid UTF-8.
	docs := map[string]string{
		"a.json": `{"conversationId":"c1","conversationId":"c2","messagingTranscript":[]}`,
		"b.json": "{\"conversationId\":\"c\xff\",\"conversationId\":\"c1\",\"messagingTranscript\":[]}",
	}
	got, _ := runDir(t, benchutil.WriteTree(t, docs), idx, Options{Policy: pol})
	wantDocs := []key{
		{finding.ValueAltered, "c1", "", finding.FieldConversationID},
		{finding.ValueAltered, "", "", finding.FieldConversationID},
		{finding.MissingFromExport, "c1", "m1", ""},
		{finding.MissingFromExport, "c1", "m2", ""},
		{finding.MissingFromExport, "c1", "m3", ""},
	}
	if d := diffKeys(wantDocs, keysOf(got)); d != "" {
		t.Fatalf("%s\nfindings: %+v", d, got)
	}
	if g := got[1]; g.Got != `"c\xff"` || !strings.Contains(g.Detail, "invalid UTF-8") {
		t.Errorf("invalid conversation id: %+v", g)
	}
	// JSON Lines: a conversation id given twice, or not valid UTF-8.
	lines := strings.Join([]string{
		`{"conversation_id":"c1","conversation_id":"c2","message_id":"m1"}`,
		"{\"conversation_id\":\"c\xff\",\"message_id\":\"m2\"}",
	}, "\n")
	got, _ = runDir(t, benchutil.WriteTree(t, map[string]string{"x.jsonl": lines}), idx, Options{Policy: pol})
	wantLines := []key{
		{finding.ValueAltered, "", "m1", finding.FieldConversationID},
		{finding.ValueAltered, "", "m2", finding.FieldConversationID},
		{finding.ConversationAbsent, "c1", "", ""},
	}
	if d := diffKeys(wantLines, keysOf(got)); d != "" {
		t.Fatalf("%s\nfindings: %+v", d, got)
	}
}

// TestFormatLacksOnce: a field the export's shape keeps nowhere is one
// format_lacks finding for the whole export, standing for every compared
// message of the shape with what custody holds for them, never one a
// message; a field the shape does keep but a message lacks is still that
// message's field_stripped; a field not required is neither.
func TestFormatLacksOnce(t *testing.T) {
	idx := &MemIndex{}
	msg := func(conv, id string, hold *bool, refs ...string) string {
		idx.Add(Captured{ConversationID: conv, MessageID: id, Timestamp: "2024-03-01T10:00:00.123Z",
			ContentSHA256: genesys.ContentHash("hi"), Sender: "+4411", LegalHold: hold, AuditRefs: refs})
		return `{"id":"` + id + `","timestamp":"2024-03-01T10:00:00.123Z","messageText":"hi","from":"+4411"}`
	}
	files := map[string]string{
		"conversation_id=c1/r1.json": `{"conversationId":"c1","messagingTranscript":[` + msg("c1", "m1", ptr(true), "a1") + "," + msg("c1", "m2", ptr(true)) + `]}`,
		"conversation_id=c2/r2.json": `{"conversationId":"c2","messagingTranscript":[` + msg("c2", "m3", ptr(false), "a2") + "," +
			strings.Replace(msg("c2", "m4", nil), `,"from":"+4411"`, "", 1) + `]}`,
	}
	dir := benchutil.WriteTree(t, files)
	got, s := runDir(t, dir, idx, Options{})
	want := []key{
		{finding.FormatLacks, "", "", finding.FieldLegalHold}, {finding.FormatLacks, "", "", finding.FieldAuditTrailID},
		{finding.FieldStripped, "c2", "m4", finding.FieldSender},
	}
	if d := diffKeys(want, keysOf(got)); d != "" {
		t.Fatalf("%s\nfindings: %+v", d, got)
	}
	for _, f := range got {
		if f.Kind != finding.FormatLacks {
			continue
		}
		wantExp := map[string]string{finding.FieldLegalHold: "false=1;true=2;unknown=1", finding.FieldAuditTrailID: "none=2;with_references=2"}[f.Field]
		if f.Count != 4 || f.Expected != wantExp || !strings.Contains(f.Detail, "genesys") {
			t.Errorf("format_lacks %s: count %d, expected %q, detail %q; want 4, %q, naming the shape", f.Field, f.Count, f.Expected, f.Detail, wantExp)
		}
	}
	if got[len(got)-1].Kind != finding.FormatLacks || s.Counts[finding.FormatLacks] != 2 {
		t.Errorf("format_lacks must come last, twice: %+v", got)
	}

	// Not required: not reported at all.
	pol := DefaultPolicy()
	pol.Required = []string{finding.FieldTimestamp, finding.FieldContent, finding.FieldSender}
	got, _ = runDir(t, dir, idx, Options{Policy: pol})
	if d := diffKeys([]key{{finding.FieldStripped, "c2", "m4", finding.FieldSender}}, keysOf(got)); d != "" {
		t.Errorf("legal hold and audit not required: %s\nfindings: %+v", d, got)
	}
}

// TestNeverCapturedConversation: a conversation the export names that
// custody never captured, of which no message could be read — its only
// file cut short before its first message, or only its metadata — is one
// conversation-level not_captured gap (refetch captures it); one of which
// a message was read is that message's gap only; a captured one cut short
// so is missing_from_export, as before. Through Each and through
// Conversation alike.
func TestNeverCapturedConversation(t *testing.T) {
	idx := &MemIndex{}
	idx.Add(Captured{ConversationID: "a", MessageID: "1", Timestamp: "2024-01-01T00:00:00.000Z", ContentSHA256: emptyContentHash})
	dir := benchutil.WriteTree(t, map[string]string{
		"conversation_id=a/r.json":          `{"conversationId":"a","messagingTranscript":[{"id":"1","time`,
		"conversation_id=e/r.json":          `{"conversationId":"e","messagingTranscript":[{"id":"1","time`,
		"conversation_id=e/r_metadata.json": `{"conversationId":"e"}`,
		"conversation_id=f/r_metadata.json": `{"conversationId":"f"}`,
		"conversation_id=g/r.json":          `{"conversationId":"g","messagingTranscript":[{"id":"1"},{"id":"2","time`,
	})
	pol := DefaultPolicy()
	pol.Required = nil
	plain, _ := runDir(t, dir, idx, Options{Policy: pol})
	got, _ := runDir(t, dir, &convIndex{MemIndex: idx}, Options{Policy: pol})
	if !slices.Equal(got, plain) {
		t.Errorf("findings through Conversation differ:\n%+v\n%+v", got, plain)
	}
	want := []key{
		{finding.FileUnreadable, "a", "", ""}, {finding.MissingFromExport, "a", "1", ""},
		{finding.FileUnreadable, "e", "", ""}, {finding.NotCaptured, "e", "", ""},
		{finding.NotCaptured, "f", "", ""},
		{finding.NotCaptured, "g", "1", ""}, {finding.FileUnreadable, "g", "", ""},
	}
	if d := diffKeys(want, keysOf(got)); d != "" {
		t.Error(d)
	}
	for _, f := range got {
		if f.Kind == finding.NotCaptured && (f.Cause != finding.CauseNotCaptured || !finding.IsGap(f.Kind)) {
			t.Errorf("%+v: want a gap caused by not_captured", f)
		}
		if f.Kind == finding.NotCaptured && f.ConversationID == "e" && !strings.Contains(f.Detail, "file_unreadable") {
			t.Errorf("%+v: the detail should point to the file_unreadable finding", f)
		}
	}
}
