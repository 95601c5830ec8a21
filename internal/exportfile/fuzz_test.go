package exportfile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// compileDefault compiles the default shapes.
func compileDefault() (*compiled, error) { return compileChecked(DefaultShapes()) }

// compileChecked validates and compiles shapes.
func compileChecked(m map[string]ShapePolicy) (*compiled, error) {
	if err := ValidateShapes(m); err != nil {
		return nil, err
	}
	return compile(m), nil
}

// shape returns the compiled shape called name.
func (cp *compiled) shape(name string) *shapeFields {
	for _, sf := range cp.shapes {
		if sf.name == name {
			return sf
		}
	}
	return nil
}

// parseBytes runs the parser of one file over data.
func parseBytes(t testing.TB, name string, format Format, data []byte) []Item {
	t.Helper()
	cp, err := compileDefault()
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	p := &fileParser{cp: cp, format: format, maxLine: 4096, name: name, emit: func(it Item) error {
		items = append(items, it)
		return nil
	}}
	if err := p.parse(&limitReader{r: bytes.NewReader(data), n: 1 << 20}); err != nil {
		t.Fatalf("parse returned %v (only cancellation may fail a parse)", err)
	}
	return items
}

// checkItems holds for any input: findings name the file, records say
// where they came from and carry a conversation id (documents) — the
// parser never drops a message silently without a finding.
func checkItems(t *testing.T, name string, data []byte, items []Item) {
	t.Helper()
	for _, it := range items {
		switch it.Kind {
		case ItemProblem:
			if it.Problem.File != name || it.Problem.Detail == "" || it.Problem.Kind == "" {
				t.Fatalf("finding without file or detail: %+v", it.Problem)
			}
		case ItemMessage:
			if it.Msg.File != name || it.Msg.Pos < 0 || (it.Msg.Array == "" && it.Msg.Pos == 0) {
				t.Fatalf("record without file or location: %+v", it.Msg)
			}
			if it.Msg.ID == "" && it.Msg.NoID == "" && it.Msg.Bad == "" {
				t.Fatalf("record with neither id nor reason: %+v", it.Msg)
			}
			for _, v := range it.Msg.Fields {
				if v.Bad != "" && !v.Present {
					t.Fatalf("bad value not present: %+v", v)
				}
			}
		case ItemCover:
			if it.Conv == "" {
				t.Fatal("cover of an empty conversation id")
			}
		}
	}
	if len(items) == 0 && len(bytes.TrimSpace(data)) == 0 {
		t.Fatal("empty input produced no finding")
	}
}

// genesysFile is a recording file in the Genesys layout.
const genesysFile = `{"id":"rec1","conversationId":"c1","media":"message","messagingTranscript":[
 {"from":"+4411","to":"+4400","timestamp":"2024-03-01T10:00:00.123Z","id":"m1","purpose":"customer","messageText":"Héllo\nworld","extra":{"deep":[1]}}
],"selfUri":"/x"}`

// full is a JSON Lines message's members with every field.
const full = `"conversation_id":"c1","message_id":"m1","timestamp":"2024-03-01T10:00:00.123Z","content":"Héllo\nworld","sender":"+4411","legal_hold":true,"audit_trail_id":["a1","a2"]`

var recordingSeeds = []string{
	genesysFile,
	`{"conversationId":"c1","messagingTranscript":[]}`,
	`{"messagingTranscript":[{"id":"m1","timestamp":1709287200123,"messageText":null,"from":{"x":1}}],"conversationId":"c2"}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1"},`,
	"\xEF\xBB\xBF{\"conversationId\":\"c1\",\"messagingTranscript\":[1,null,\"x\",{}]}",
	`{"conversationId":"c1","messagingTranscript":{"id":"m1"}}`,
	`[]`, ``, `nul`, `{"a":1} {"b":2}`,
}

func FuzzParseRecording(f *testing.F) {
	for _, s := range recordingSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "org/year=2024/month=1/day=1/hour=0/conversation_id=c0/rec.json"
		checkItems(t, name, data, parseBytes(t, name, FormatAuto, data))
		meta := "org/conversation_id=c0/rec_metadata.json"
		checkItems(t, meta, data, parseBytes(t, meta, ShapeGenesys, data))
	})
}

func FuzzParseReshape(f *testing.F) {
	for _, s := range []string{
		`{"channel":"whatsapp","messages":[{"id":"msg_12345","content":"…","timestamp":"2023-10-27T14:30:00Z"}]}`,
		`{"messages":[{"id":7,"content":["x"],"timestamp":"2023-10-27 14:30:00+02:00"}],"conversationId":"late"}`,
		`{"conversation_id":"c","messages":[{"id":"a","legal_hold":"maybe","audit_trail_id":[1]}]}`,
		`{"messages":[{"id":"a"}`,
		`{"messages":"no"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range recordingSeeds[:3] {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "whatsapp/2024-01-01/c0.json"
		items := parseBytes(t, name, ShapeReshape, data)
		checkItems(t, name, data, items)
		for _, it := range items {
			if it.Kind == ItemMessage && it.Msg.Conv == "" {
				t.Fatalf("reshape record without conversation id: %+v", it.Msg)
			}
		}
	})
}

func FuzzParseJSONL(f *testing.F) {
	for _, s := range []string{
		`{` + full + `}` + "\n" + `{"conversation_id":"c1","message_id":"m2"}`,
		"\xEF\xBB\xBF{\"conversation_id\":\"c\",\"message_id\":\"m\"}\r\n\r\n[1]\nnull\n{bad",
		strings.Repeat("x", 5000) + "\n{}\n",
		`{"conversation_id":{"a":1},"message_id":1e400,"timestamp":-99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name := "lines.jsonl"
		items := parseBytes(t, name, FormatAuto, data)
		checkItems(t, name, data, items)
		lines := bytes.Count(data, []byte("\n")) + 1
		n := 0
		for _, it := range items {
			if it.Kind != ItemCover {
				n++
			}
		}
		if n > lines {
			t.Fatalf("%d records and findings from %d lines", n, lines)
		}
	})
}

// TestSniff: a document may start with a BOM and any JSON white space,
// more than a read buffer of it too; anything else before the object is
// a finding naming what was found.
func TestSniff(t *testing.T) {
	name := "org/conversation_id=c1/rec.json"
	long := strings.Repeat(" \t\r\n", docBufSize/2)
	for in, want := range map[string]string{
		"\xEF\xBB\xBF \n\t\r" + genesysFile: "",
		long + genesysFile:                  "",
		"":                                  "empty file: no JSON document",
		"\xEF\xBB\xBF":                      "empty file: no JSON document",
		long:                                "empty file: no JSON document",
		" \v{}":                             "not JSON: starts with byte 0x0b",
		"\u00a0{}":                          "not JSON: starts with byte 0xc2",
		long + "x":                          "not JSON: starts with byte 0x78",
		"\r\n [" + genesysFile + "]":        "top-level JSON array",
	} {
		items := parseBytes(t, name, FormatAuto, []byte(in))
		var msgs []string
		problem := ""
		for _, it := range items {
			switch it.Kind {
			case ItemMessage:
				msgs = append(msgs, it.Msg.ID)
			case ItemProblem:
				problem = it.Problem.Detail
			}
		}
		switch {
		case want == "" && (problem != "" || strings.Join(msgs, ",") != "m1"):
			t.Errorf("%.40q: messages %q, problem %q; want m1", in, msgs, problem)
		case want != "" && !strings.HasPrefix(problem, want):
			t.Errorf("%.40q: problem %q, want %q", in, problem, want)
		}
	}
}

// FuzzUnquote holds unquote, which reads strings through jsonscan, to
// encoding/json — except that text which is not valid Unicode (badText),
// which encoding/json reads with U+FFFD, is refused.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, ` "x" `, `"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`,
		"\"bad \xff\"", "\"tab\there\"", `"\x"`, `"a"b"`, `1`, `null`, `""`, `"`, `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		got, ok := unquote(v)
		var want string
		wantOK := json.Unmarshal(bytes.TrimSpace(v), &want) == nil
		if badText(v) != "" {
			want, wantOK = "", false
		}
		if ok != wantOK || got != want {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json %q, %v", v, got, ok, want, wantOK)
		}
	})
}
