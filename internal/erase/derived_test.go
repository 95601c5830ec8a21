package erase_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// TestVerifyCollateralCompliance: after one message is erased, the other
// messages of its conversation have lost their response body
// (collateral), but their legal hold and audit references come from the
// conversation entry's evidence (the deletion-protection answer, the
// audit pages), which is still there. The insider with the signing key
// who hides the hold on one of them, or adds an audit record to another,
// and re-signs, is caught by verify --evidence as on any message: a
// derived finding at each, exit 3.
func TestVerifyCollateralCompliance(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	_, held := m.conversations(t)
	conv := ""
	var seqs []uint64
	for _, c := range held {
		if s := m.messageSeqs(t, c); len(s) >= 3 {
			conv, seqs = c, s
			break
		}
	}
	if conv == "" {
		t.Fatal("the fixture needs a held conversation of three messages")
	}
	first, err := m.le.Ledger.Entry(ctx, seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{first.MessageID}, Reason: "r", Operator: "dpo",
		OverrideHold: "court order", SignerKey: m.le.Key})
	if err != nil || len(res.Detail.Collateral) < 2 {
		t.Fatalf("erase: %+v %v", res, err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify after the erasure: %v", rep.Findings)
	}
	unavailable := m.verify(t).Derived.Unavailable

	hidden, forged := seqs[1], seqs[2]
	for _, seq := range []uint64{hidden, forged} {
		e, err := m.le.Ledger.Entry(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Detail.Collateral, e.MessageID) || !*e.Compliance.LegalHold {
			t.Fatalf("entry %d: message %s is not a held collateral one (%v)", seq, e.MessageID, res.Detail.Collateral)
		}
	}
	path := filepath.Join(m.le.Dir, "custody.db")
	if err := ledgertest.Rewrite(ctx, path, m.le.Key, hidden, func(e *leaf.Entry) {
		h := false
		e.Compliance.LegalHold = &h
	}); err != nil {
		t.Fatal(err)
	}
	if err := ledgertest.Rewrite(ctx, path, m.le.Key, forged, func(e *leaf.Entry) {
		e.Compliance.AuditRefs = append(e.Compliance.AuditRefs, "forged-audit-record")
	}); err != nil {
		t.Fatal(err)
	}
	// The ledger holds on its own: the rewrite is the insider's.
	rep, err := verify.Ledger(ctx, m.le.Ledger, verify.Options{VerifierKey: m.le.Ledger.VerifierKey()})
	if err != nil || !rep.OK {
		t.Fatalf("the rewrite does not hold on its own: %v %v", rep.Findings, err)
	}
	rep = m.verify(t)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	if rep.OK || len(rep.Findings) != 2 {
		t.Fatalf("want two derived findings, got %q", got)
	}
	for i, want := range []struct {
		seq   uint64
		field string
	}{{hidden, "compliance.legal_hold: the leaf has false, the evidence gives true"}, {forged, "compliance.audit_refs: the leaf has "}} {
		f := rep.Findings[i]
		if f.Check != verify.CheckDerived || f.Seq == nil || *f.Seq != want.seq || !strings.HasPrefix(f.Message, want.field) {
			t.Errorf("finding %d: %q, want seq %d: derived: %s", i, got[i], want.seq, want.field)
		}
	}
	// Their bodies are gone: they still count as not re-derived.
	if rep.Derived.Unavailable != unavailable {
		t.Errorf("%d entries not re-derived, %d before the rewrite", rep.Derived.Unavailable, unavailable)
	}
}

// TestVerifyErasedConversationCounts: a conversation erased whole has
// lost its conversation object; its entry is not re-derived (counted
// unavailable, as its messages are), though its legal hold, from the
// deletion-protection answer it shares with other conversations, is
// still judged.
func TestVerifyErasedConversationCounts(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	conv := free[0]
	counts, erased := map[string]int{}, map[string]int{}
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		counts[e.Kind]++
		if e.ConversationID == conv {
			erased[e.Kind]++
		}
	}
	if erased[leaf.KindConversation] == 0 || erased[leaf.KindMessage] < 2 {
		t.Fatalf("conversation %s: %v", conv, erased)
	}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{conv}, Reason: "r", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	rep := m.verify(t)
	if !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
	d := rep.Derived
	for _, k := range []string{leaf.KindConversation, leaf.KindMessage} {
		if d.ByKind[k] != counts[k]-erased[k] {
			t.Errorf("%s entries: %d re-derived, want %d of %d (%d erased)", k, d.ByKind[k], counts[k]-erased[k], counts[k], erased[k])
		}
	}
	if want := erased[leaf.KindConversation] + erased[leaf.KindMessage]; d.Unavailable != want {
		t.Errorf("%d entries not re-derived, want %d: %s", d.Unavailable, want, d)
	}

	// Its legal hold is still judged: the insider who turns it on is seen.
	var seq uint64
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation, ConversationID: conv}) {
		if err != nil {
			t.Fatal(err)
		}
		seq = e.Seq
	}
	if err := ledgertest.Rewrite(ctx, filepath.Join(m.le.Dir, "custody.db"), m.le.Key, seq, func(e *leaf.Entry) {
		dd, err := leaf.DecodeDetail(leaf.KindConversation, e.Detail)
		if err != nil {
			panic(err)
		}
		dd.(*leaf.ConversationDetail).LegalHold = true
		if e.Detail, err = leaf.EncodeDetail(dd); err != nil {
			panic(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	rep = m.verify(t)
	if rep.OK || len(rep.Findings) == 0 || rep.Findings[0].Check != verify.CheckDerived || *rep.Findings[0].Seq != seq ||
		!strings.HasPrefix(rep.Findings[0].Message, "detail.legal_hold: the leaf has true, the evidence gives false") {
		t.Fatalf("an erased conversation's hold turned on: %v", rep.Findings)
	}
}

// TestVerifyDetailMembers: a message detail derived from evidence has
// exactly the members derivation writes. verify --evidence reports any
// other — the insider's added member, or one spelled like a real one —
// on a message whose body is there and on one whose body was erased
// alike (no evidence gives it); without --evidence the strict check
// alone judges the leaf, and a member it does not name passes.
func TestVerifyDetailMembers(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	var seqs, kept []uint64 // of a conversation of three messages or more, and of another
	for _, c := range free {
		if s := m.messageSeqs(t, c); len(s) >= 3 && seqs == nil {
			seqs = s
		} else if kept == nil {
			kept = s
		}
	}
	if seqs == nil || kept == nil {
		t.Fatal("the fixture needs a conversation of three messages and another")
	}
	first, err := m.le.Ledger.Entry(ctx, seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{first.MessageID}, Reason: "r", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	add := func(member, value string) func(*leaf.Entry) {
		return func(e *leaf.Entry) {
			var d map[string]json.RawMessage
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				panic(err)
			}
			d[member] = json.RawMessage(value)
			var err error
			if e.Detail, err = json.Marshal(d); err != nil {
				panic(err)
			}
		}
	}
	tampers := []struct {
		seq           uint64
		member, value string
	}{
		{kept[0], "zz", `1`}, // body there
		{seqs[1], "x_commitment", `"` + strings.Repeat("0", 64) + `"`}, // body erased (collateral)
		{seqs[2], "From_commitment", `"` + strings.Repeat("1", 64) + `"`},
		{seqs[0], "note", `"consent given"`}, // the erased message itself
	}
	path := filepath.Join(m.le.Dir, "custody.db")
	for _, tc := range tampers {
		if err := ledgertest.Rewrite(ctx, path, m.le.Key, tc.seq, add(tc.member, tc.value)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify.Ledger(ctx, m.le.Ledger, verify.Options{VerifierKey: m.le.Ledger.VerifierKey()})
	if err != nil || !rep.OK {
		t.Fatalf("without --evidence, members the strict check does not name pass: %v %v", rep.Findings, err)
	}
	rep = m.verify(t)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	t.Logf("%q", got)
	if len(rep.Findings) != len(tampers) {
		t.Fatalf("want %d derived findings, got %q", len(tampers), got)
	}
	slices.SortFunc(tampers, func(a, b struct {
		seq           uint64
		member, value string
	}) int {
		return int(a.seq) - int(b.seq)
	})
	for i, tc := range tampers {
		f := rep.Findings[i]
		if f.Check != verify.CheckDerived || *f.Seq != tc.seq || !strings.HasPrefix(f.Message, "detail."+tc.member+": the leaf has "+tc.value) {
			t.Errorf("finding %q, want seq %d: derived: detail.%s", got[i], tc.seq, tc.member)
		}
	}
}
