package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestReportCounts: the counts a finished report shows are read from its
// report.json as a stream that stops at the transcripts' counts — what
// follows them (every message of the matter) is never read, so even a
// broken tail does not matter — and in any member order.
func TestReportCounts(t *testing.T) {
	for _, tc := range []struct {
		name, doc        string
		convs, msgs      int
		verified, wantOK bool
	}{
		{"in order, the messages never read",
			`{"format":"x","summary":{"a":[1,2,{"b":3}]},"integrity":{"ledger_size":9,"verified":{"ok":true,"x":[]}},"transcripts":{"conversation_count":3,"message_count":41,"pages":[],"conversations":[{"id":"c1"},` + "\x00 not JSON",
			3, 41, true, true},
		{"transcripts before integrity",
			`{"transcripts":{"message_count":5,"conversations":[{"m":[1,2]}],"conversation_count":2},"integrity":{"verified":{"ok":false}},"certificate":{}}`,
			2, 5, false, true},
		{"no counts", `{"integrity":{"verified":{"ok":true}},"transcripts":{"conversations":[]}}`, 0, 0, true, false},
		{"no integrity", `{"transcripts":{"conversation_count":1,"message_count":1}}`, 1, 1, false, false},
		{"not an object", `[1,2]`, 0, 0, false, false},
		{"broken before the counts", `{"integrity":{"verified":{"ok":true}},"transcripts":{"conversation_count":`, 0, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "report.json")
			if err := os.WriteFile(p, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			convs, msgs, verified, ok := reportCounts(p)
			if ok != tc.wantOK || (ok && (convs != tc.convs || msgs != tc.msgs || verified != tc.verified)) {
				t.Errorf("got %d conversations, %d messages, verified %v, ok %v; want %d, %d, %v, %v",
					convs, msgs, verified, ok, tc.convs, tc.msgs, tc.verified, tc.wantOK)
			}
		})
	}
	if _, _, _, ok := reportCounts(filepath.Join(t.TempDir(), "absent.json")); ok {
		t.Error("an absent file gave counts")
	}
}

// FuzzReportCounts: a report.json from a copied folder is hostile input.
// reportCounts never panics, and on a valid document without repeated
// keys it says what a full decode says.
func FuzzReportCounts(f *testing.F) {
	f.Add([]byte(`{"integrity":{"verified":{"ok":true}},"transcripts":{"conversation_count":3,"message_count":41,"conversations":[]}}`))
	f.Add([]byte(`{"transcripts":{"message_count":5,"conversation_count":2},"integrity":{"verified":{"ok":false}}}`))
	f.Add([]byte(`{"a":[[[{}]]],"integrity":{"verified":{"ok":1}}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "report.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		convs, msgs, verified, ok := reportCounts(p)
		if !ok || !json.Valid(data) {
			return
		}
		for _, k := range []string{"integrity", "verified", "ok", "transcripts", "conversation_count", "message_count"} {
			if bytes.Count(data, []byte(k)) > 1 {
				return // perhaps a key given twice: the stream takes the first, a full decode the last
			}
		}
		var doc struct {
			Integrity struct {
				Verified struct {
					OK bool `json:"ok"`
				} `json:"verified"`
			} `json:"integrity"`
			Transcripts struct {
				Conversations int `json:"conversation_count"`
				Messages      int `json:"message_count"`
			} `json:"transcripts"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return // a type the full decode refuses further on
		}
		if convs != doc.Transcripts.Conversations || msgs != doc.Transcripts.Messages || verified != doc.Integrity.Verified.OK {
			t.Fatalf("%q: streamed %d %d %v, decoded %+v", data, convs, msgs, verified, doc)
		}
	})
}
