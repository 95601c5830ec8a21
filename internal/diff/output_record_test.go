package diff

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
)

// TestJSONWriterRecord: a recorded diff's json output names its run id
// and ledger seq, and stays one valid JSON object; without a record it
// has neither member.
func TestJSONWriterRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		findings int
		record   bool
	}{
		{"recorded", 2, true},
		{"recorded no findings", 0, true},
		{"not recorded", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewWriter(OutputJSON, &buf)
			if err != nil {
				t.Fatal(err)
			}
			for range tc.findings {
				if err := w.Write(Finding{Kind: finding.FieldStripped, ConversationID: "c1"}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.record {
				w.(RecordWriter).SetRecord("diff-20240101T000000Z-0123abcd", 42)
			}
			if err := w.Close(Summary{Source: "old"}); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Findings []json.RawMessage `json:"findings"`
				RunID    *string           `json:"run_id"`
				Seq      *uint64           `json:"seq"`
				Summary  *Summary          `json:"summary"`
			}
			dec := json.NewDecoder(&buf)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("not one JSON object: %v", err)
			}
			if len(got.Findings) != tc.findings || got.Summary == nil || got.Summary.Source != "old" {
				t.Errorf("findings %d, summary %+v", len(got.Findings), got.Summary)
			}
			switch {
			case tc.record && (got.RunID == nil || *got.RunID != "diff-20240101T000000Z-0123abcd" || got.Seq == nil || *got.Seq != 42):
				t.Errorf("run_id %v, seq %v; want the record", got.RunID, got.Seq)
			case !tc.record && (got.RunID != nil || got.Seq != nil):
				t.Errorf("run_id %v, seq %v without a record", got.RunID, got.Seq)
			}
		})
	}
}
