package diff

import (
	"bytes"
	"strings"
	"testing"
)

// parseBytes runs the parser of one file over data.
func parseBytes(t testing.TB, name string, format Format, data []byte) []item {
	t.Helper()
	cp, err := compilePolicy(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var items []item
	p := &fileParser{cp: cp, format: format, maxLine: 4096, name: name, emit: func(it item) error {
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
func checkItems(t *testing.T, name string, data []byte, items []item) {
	t.Helper()
	for _, it := range items {
		switch it.kind {
		case itemFinding:
			if it.f.File != name || it.f.Detail == "" || it.f.Kind == "" {
				t.Fatalf("finding without file or detail: %+v", it.f)
			}
		case itemRecord:
			if it.rec.file != name || it.rec.pos < 0 || (it.rec.array == "" && it.rec.pos == 0) {
				t.Fatalf("record without file or location: %+v", it.rec)
			}
			if it.rec.msg == "" && it.rec.noMsgID == "" {
				t.Fatalf("record with neither id nor reason: %+v", it.rec)
			}
			for _, v := range it.rec.fields {
				if v.bad != "" && !v.present {
					t.Fatalf("bad value not present: %+v", v)
				}
			}
		case itemCover:
			if it.conv == "" {
				t.Fatal("cover of an empty conversation id")
			}
		}
	}
	if len(items) == 0 && len(bytes.TrimSpace(data)) == 0 {
		t.Fatal("empty input produced no finding")
	}
}

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
		checkItems(t, meta, data, parseBytes(t, meta, FormatGenesys, data))
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
		items := parseBytes(t, name, FormatReshape, data)
		checkItems(t, name, data, items)
		for _, it := range items {
			if it.kind == itemRecord && it.rec.conv == "" {
				t.Fatalf("reshape record without conversation id: %+v", it.rec)
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
			if it.kind != itemCover {
				n++
			}
		}
		if n > lines {
			t.Fatalf("%d records and findings from %d lines", n, lines)
		}
	})
}
