package report_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestReportAttestations: the demo's checkpoints carry RFC 3161 tokens
// and witness cosignatures. Section 6 shows, per checkpoint, the time each
// token claims (claimed: the report checks no roots) and the witnesses
// whose cosignatures are stored, labels the signing time as the
// custodian's clock, and says how to prove the times (--tsa-roots) and
// check the cosignatures (--witness); the certificate's checkpoint in
// full carries its cosignature lines.
func TestReportAttestations(t *testing.T) {
	res := demoMatter(t)
	b, err := os.ReadFile(res.Report.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Integrity struct {
			Checkpoints []struct {
				ID         int64 `json:"id"`
				Timestamps []struct {
					TSA       string `json:"tsa"`
					ClaimedAt string `json:"claimed_at"`
				} `json:"timestamps"`
				Witnesses []string `json:"witnesses"`
			} `json:"checkpoints"`
		} `json:"integrity"`
		Certificate struct {
			CheckpointID int64  `json:"checkpoint_id"`
			Checkpoint   string `json:"checkpoint"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var claimed, cosigned int
	var certWitnesses []string
	for _, c := range doc.Integrity.Checkpoints {
		for _, ts := range c.Timestamps {
			if ts.ClaimedAt != "" && ts.TSA != "" {
				claimed++
			}
		}
		if len(c.Witnesses) > 0 {
			cosigned++
		}
		if c.ID == doc.Certificate.CheckpointID {
			certWitnesses = c.Witnesses
		}
	}
	if claimed == 0 || cosigned == 0 {
		t.Fatalf("report.json: %d checkpoint timestamps with a claimed time, %d cosigned checkpoints; the demo's carry both", claimed, cosigned)
	}
	if len(certWitnesses) == 0 {
		t.Fatal("the certificate's checkpoint has no witness in report.json; the demo's is cosigned")
	}
	for _, w := range certWitnesses {
		if !strings.Contains(doc.Certificate.Checkpoint, "\n— "+w+" ") {
			t.Errorf("the certificate's checkpoint in full lacks %s's cosignature line:\n%s", w, doc.Certificate.Checkpoint)
		}
	}
	h, err := os.ReadFile(res.Report.HTML)
	if err != nil {
		t.Fatal(err)
	}
	html := string(h)
	for _, want := range []string{"Signed by the custodian's clock (UTC)", "RFC 3161 timestamp: time claimed (UTC)", "Witness cosignatures",
		"claimed by", "custody verify --tsa-roots ROOTS.pem", "custody verify --witness WITNESS.pub", certWitnesses[0]} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}
