package report

import (
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
)

// TestRunOutcomeSaysWhy: a run that is not done says why before its
// counts, so "failed" never stands beside "0 failed" unexplained.
func TestRunOutcomeSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		name, status, acct string
		want, not          []string
	}{
		{"done", ledger.RunDone, `{"conversations_listed":3,"conversations_exported":3,"messages_appended":9}`,
			[]string{"3 conversations captured, 0 failed, 0 gone at the source; 9 messages appended"}, []string{"incomplete", "stopped"}},
		{"gone upstream", ledger.RunFailed, `{"conversations_listed":222,"conversations_exported":221,"conversations_gone":1,"messages_appended":1667}`,
			[]string{"incomplete: 1 of 222 listed conversations not captured (0 failed, 1 gone at the source, 0 pending", "221 conversations captured"}, nil},
		// A stopped run says both why it stopped and what it left: the
		// stop reason alone hid 6 conversations never captured.
		{"stopped", "stopped", `{"conversations_listed":10,"conversations_exported":4,"conversations_pending":6,"stop_reason":"daily limit until 10:00"}`,
			[]string{"incomplete: 6 of 10 listed conversations not captured (0 failed, 0 gone at the source, 6 pending", "stopped by: daily limit until 10:00; 4 conversations captured"}, nil},
		{"stopped, nothing left", "stopped", `{"conversations_listed":4,"conversations_exported":4,"stop_reason":"interrupted"}`,
			[]string{"stopped by: interrupted; 4 conversations captured"}, []string{"incomplete"}},
		{"erased", ledger.RunDone, `{"conversations_listed":2,"conversations_erased":2}`,
			[]string{"0 conversations captured", "2 erased, not captured again"}, nil},
		{"diff", ledger.RunDone, `{"summary":{"messages":5,"counts":{"a":1,"b":2}}}`,
			[]string{"5 exported messages compared, 3 findings"}, nil},
		{"unreadable", ledger.RunFailed, `[`, []string{"accounting unreadable"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runOutcome(ledger.Run{Status: tc.status, Accounting: []byte(tc.acct)})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("outcome %q lacks %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("outcome %q has %q", got, n)
				}
			}
		})
	}
}
