package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/reconcile"
)

// TestPrintRefetchConversationGap: a gap that is a whole conversation (a
// conversation-level not_captured: the export names it, custody never
// captured it) is listed without a message, not as "message  (…)".
func TestPrintRefetchConversationGap(t *testing.T) {
	var out bytes.Buffer
	g := &globalOptions{stdout: &out}
	printRefetch(g, &reconcile.Result{DiffRunID: "diff-1", Gaps: 2, Counts: map[string]int{reconcile.GoneAtSource: 2}, Outcomes: []reconcile.Outcome{
		{ConversationID: "c-1", Finding: "not_captured", Outcome: reconcile.GoneAtSource, Detail: "deleted upstream"},
		{ConversationID: "c-2", MessageID: "m-1", Finding: "not_captured", Outcome: reconcile.GoneAtSource, Detail: "deleted upstream"},
	}})
	for _, want := range []string{
		"  gone_at_source: conversation c-1 (not_captured): deleted upstream\n",
		"  gone_at_source: conversation c-2 message m-1 (not_captured): deleted upstream\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
