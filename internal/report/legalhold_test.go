package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
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

// TestHeldErasedUnderOverride: a conversation under legal hold erased
// with --override-hold, whole or in part, is marked in section 2 — its
// erasure entry, when, the reason and the override's, and what is left
// of it — not listed as if intact; with a diff or without.
func TestHeldErasedUnderOverride(t *testing.T) {
	ctx := context.Background()
	le := erasedMatter(t)
	held := heldMessages(t, le)
	var whole, part string // part: the held conversation of most messages
	for conv, ids := range held {
		if part == "" || len(ids) > len(held[part]) {
			part = conv
		}
	}
	for conv := range held {
		if conv != part {
			whole = conv
		}
	}
	if whole == "" || len(held[part]) < 3 {
		t.Fatalf("held conversations %v: the test needs one and another of 3 messages", held)
	}
	w, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Conversations: []string{whole}, Reason: "DSR-9", Operator: "dpo",
		OverrideHold: "counsel ticket 7", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	p, err := erase.Erase(ctx, le.Ledger, le.Store, erase.Request{Messages: []string{held[part][0]}, Reason: "DSR-10", Operator: "dpo",
		OverrideHold: "counsel ticket 8", SignerKey: le.Key})
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, withDiff bool) {
		o := report.Options{Out: filepath.Join(t.TempDir(), "r"), Proofs: report.ProofsNone, NoRecord: true, Diff: report.DiffNone}
		if withDiff {
			o.Diff = diffExport(t, le, map[string][]string{part: held[part]}).RunID
		}
		rr, err := report.Generate(ctx, le.Ledger, le.Store, o)
		if err != nil {
			t.Fatal(err)
		}
		doc := readDoc(t, rr.JSON)
		if doc.LegalHold.Erased != 2 || doc.LegalHold.ErasedDespiteHold != 2 {
			t.Errorf("section 2: %d held conversations erased, %d despite the hold; want 2 and 2", doc.LegalHold.Erased, doc.LegalHold.ErasedDespiteHold)
		}
		got := map[string]report.HeldConversation{}
		for _, hc := range doc.LegalHold.Held {
			got[hc.ID] = hc
			if hc.ID != whole && hc.ID != part && hc.Erased != nil {
				t.Errorf("held conversation %s, not erased, is marked erased: %+v", hc.ID, hc.Erased)
			}
		}
		for _, c := range []struct {
			conv         string
			seq          uint64
			reason, hold string
			whole        bool
			erased       int
		}{{whole, w.Seq, "DSR-9", "counsel ticket 7", true, len(held[whole])}, {part, p.Seq, "DSR-10", "counsel ticket 8", false, 1}} {
			hc, ok := got[c.conv]
			if !ok {
				t.Errorf("held conversation %s is not listed in section 2", c.conv)
				continue
			}
			if e := hc.Erased; e == nil || e.Seq != c.seq || e.Reason != c.reason || e.OverrideHold != c.hold || e.When == "" ||
				hc.ErasedWhole != c.whole || hc.MessagesErased != c.erased || hc.Messages != len(held[c.conv]) {
				t.Errorf("held conversation %s: section 2 says %+v (erased %+v); want erasure %d %q overriding %q, whole %v, %d of %d messages erased",
					c.conv, hc, hc.Erased, c.seq, c.reason, c.hold, c.whole, c.erased, len(held[c.conv]))
			}
		}
		b, err := os.ReadFile(rr.HTML)
		if err != nil {
			t.Fatal(err)
		}
		html := string(b)
		nums := htmlNumbers(t, html)
		if nums["n-held-erased"] != 2 || nums["n-held-erased-override"] != 2 {
			t.Errorf("report.html: #n-held-erased %d, #n-held-erased-override %d; want 2 and 2", nums["n-held-erased"], nums["n-held-erased-override"])
		}
		for conv, want := range map[string][]string{
			whole: {"Erased whole despite the legal hold", fmt.Sprintf("erasure entry %d", w.Seq), "DSR-9", "counsel ticket 7", "What is left of it"},
			part:  {fmt.Sprintf("1 of its %d messages erased despite the legal hold", len(held[part])), fmt.Sprintf("erasure entry %d", p.Seq), "DSR-10", "counsel ticket 8"},
		} {
			i := strings.Index(html, `id="held-erased-`+conv+`"`)
			if i < 0 {
				t.Errorf("report.html: section 2 has no erasure row for held conversation %s", conv)
				continue
			}
			row, _, _ := strings.Cut(html[i:], "</tr>")
			for _, w := range want {
				if !strings.Contains(row, w) {
					t.Errorf("report.html: section 2's erasure row of %s lacks %q: %s", conv, w, row)
				}
			}
		}
	}
	t.Run("no diff", func(t *testing.T) { check(t, false) })
	t.Run("diff", func(t *testing.T) { check(t, true) })
}
