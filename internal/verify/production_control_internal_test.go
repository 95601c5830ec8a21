package verify

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/production"
)

// TestCheckControlNumbers: a production's DAT control numbers are of one
// width and ascend in the manifest's order; numbers that wrapped past the
// int range (as produce --start 9223372036854775807 once wrote, and
// verify --production passed) or were altered are one finding.
func TestCheckControlNumbers(t *testing.T) {
	cases := []struct {
		name string
		ctrl []string
		bad  string // in the finding; "" for none
	}{
		{"none (rsmf only)", []string{"", ""}, ""},
		{"ascending, attachments between", []string{"CUST0000001", "CUST0000003", "CUST0000004"}, ""},
		{"prefix ending in '-'", []string{"ACME-000000000009", "ACME-000000000010"}, ""},
		{"wrapped to negative", []string{"CUST9223372036854775806", "CUST9223372036854775807", "CUST-9223372036854775808"}, "control number CUST-9223372036854775808 after CUST9223372036854775807"},
		{"past the digits", []string{"CUST9999999", "CUST10000000"}, "CUST10000000 after CUST9999999"},
		{"repeated", []string{"CUST0000001", "CUST0000001"}, "CUST0000001 after CUST0000001"},
		{"out of order", []string{"CUST0000002", "CUST0000001"}, "CUST0000001 after CUST0000002"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			man := &production.Manifest{}
			for i, ctrl := range c.ctrl {
				man.Messages = append(man.Messages, production.Message{Seq: uint64(i), MessageID: "m", ControlNumber: ctrl})
			}
			rep := &ProductionReport{}
			rep.checkControlNumbers(man)
			switch {
			case c.bad == "" && len(rep.Findings) > 0:
				t.Errorf("findings %v, want none", rep.Findings)
			case c.bad != "" && (len(rep.Findings) != 1 || rep.Findings[0].Check != ProdCheckManifest || !strings.Contains(rep.Findings[0].Message, c.bad)):
				t.Errorf("findings %v, want one manifest finding saying %q", rep.Findings, c.bad)
			}
		})
	}
}
