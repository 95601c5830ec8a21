package diff

import (
	"testing"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// TestTimestampLowerCase: RFC 3339 (5.6) allows a lower-case 't' and 'z';
// such a timestamp of the captured instant is no finding, and one a
// second off is a shift, as with 'T' and 'Z'. Before, it was a false
// value_altered ("not an RFC 3339 timestamp").
func TestTimestampLowerCase(t *testing.T) {
	idx := &MemIndex{}
	files := map[string]string{}
	for _, tc := range []struct{ id, ts string }{
		{"m1", "2024-01-03t10:00:42.140z"},
		{"m2", "2024-01-03 10:00:42.140z"},
		{"m3", "2024-01-03t12:30:42.140+02:30"},
		{"m4", "2024-01-03t10:00:43.140z"},
	} {
		idx.Add(Captured{ConversationID: "c1", MessageID: tc.id, Timestamp: "2024-01-03T10:00:42.140Z", ContentSHA256: genesys.ContentHash("t")})
		files["c1-"+tc.id+".jsonl"] = `{"conversation_id":"c1","message_id":"` + tc.id + `","timestamp":"` + tc.ts + `","content":"t"}`
	}
	all, _ := runDir(t, benchutil.WriteTree(t, files), idx, Options{})
	var got []Finding
	for _, f := range all {
		if f.Field == finding.FieldTimestamp {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Kind != finding.TimestampShifted || got[0].MessageID != "m4" || got[0].Detail != "line 1: off by +1s" {
		t.Errorf("timestamp findings = %+v, want one timestamp_shifted for m4", got)
	}
}
