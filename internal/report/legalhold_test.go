package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// heldMessages lists, from the ledger alone, the captured messages
// (latest captures) of each conversation under legal hold, in seq order.
func heldMessages(t *testing.T, le *ledgertest.Env) map[string][]string {
	t.Helper()
	c := countLedger(t, le.Ledger, ^uint64(0))
	out := map[string][]string{}
	for e, err := range le.Ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Supersedes == nil && c.heldIDs[e.ConversationID] {
			out[e.ConversationID] = append(out[e.ConversationID], e.MessageID)
		}
	}
	return out
}

// diffExport records a diff of an export holding these messages (conversation
// → message ids) only.
func diffExport(t *testing.T, le *ledgertest.Env, msgs map[string][]string) *reconcile.DiffResult {
	t.Helper()
	dir := t.TempDir()
	var lines strings.Builder
	for conv, ids := range msgs {
		for _, id := range ids {
			fmt.Fprintf(&lines, `{"conversation_id":%q,"message_id":%q}`+"\n", conv, id)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "export.jsonl"), []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := reconcile.Diff(context.Background(), le.Ledger, le.Store, src, reconcile.DiffOptions{SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestHeldMissingCountsAbsentConversations: section 2's count of held
// messages missing from the export counts every captured message of a
// held conversation the export lacks entirely (one conversation_absent
// finding), not one, and says how many of them are in such
// conversations; it agrees with section 4's findings, in the HTML and
// the JSON.
func TestHeldMissingCountsAbsentConversations(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	held := heldMessages(t, le)
	if len(held) < 2 {
		t.Fatalf("the matter holds %d conversations under legal hold with messages; the test needs 2", len(held))
	}
	// The export keeps one held conversation but its first message, and
	// lacks every other held conversation entirely.
	var kept string
	for conv, ids := range held {
		if len(ids) >= 2 {
			kept = conv
			break
		}
	}
	if kept == "" {
		t.Fatal("no held conversation has 2 messages")
	}
	dr := diffExport(t, le, map[string][]string{kept: held[kept][1:]})
	wantAbsent, wantInAbsent := 0, 0
	for conv, ids := range held {
		if conv != kept {
			wantAbsent++
			wantInAbsent += len(ids)
		}
	}
	wantMissing := 1 + wantInAbsent

	rr, err := report.Generate(ctx, le.Ledger, le.Store, report.Options{Out: filepath.Join(t.TempDir(), "r"), Diff: dr.RunID, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, rr.JSON)
	lh := doc.LegalHold
	if lh.Missing != wantMissing || lh.ConversationsAbsent != wantAbsent || lh.MessagesInAbsent != wantInAbsent {
		t.Errorf("section 2: %d held messages missing, %d held conversations absent holding %d; the ledger says %d, %d and %d",
			lh.Missing, lh.ConversationsAbsent, lh.MessagesInAbsent, wantMissing, wantAbsent, wantInAbsent)
	}
	// Section 4 says the same: its held missing_from_export findings, and
	// its held conversation_absent findings with their messages.
	held4 := map[string]int{}
	for _, k := range doc.Findings {
		held4[k.Kind] = k.Held
	}
	if held4[string(finding.MissingFromExport)]+lh.MessagesInAbsent != lh.Missing || held4[string(finding.ConversationAbsent)] != lh.ConversationsAbsent {
		t.Errorf("section 2 (%d missing, %d absent) disagrees with section 4 (held: %d missing_from_export, %d conversation_absent)",
			lh.Missing, lh.ConversationsAbsent, held4[string(finding.MissingFromExport)], held4[string(finding.ConversationAbsent)])
	}
	html, err := os.ReadFile(rr.HTML)
	if err != nil {
		t.Fatal(err)
	}
	nums := htmlNumbers(t, string(html))
	for id, want := range map[string]int{"n-held-missing": wantMissing, "n-held-absent": wantAbsent, "n-held-in-absent": wantInAbsent} {
		if got, ok := nums[id]; !ok || got != want {
			t.Errorf("report.html #%s = %d (present %v), want %d", id, got, ok, want)
		}
	}
	if !strings.Contains(string(html), "absent from the export entirely") {
		t.Error("report.html does not say that held conversations are absent from the export entirely")
	}
}
