package report

import (
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
