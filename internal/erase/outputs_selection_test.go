package erase_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
)

// TestEraseOutputsFollowSelection: once an erasure has deleted a
// production's manifest, a later erasure tells whether the production
// may hold what it erases from the selection its entry records, every
// filter of it: a --legal-hold-only production of a held conversation,
// and an --interval production of that conversation's hours, do not hold
// a conversation never held and sent outside those hours, and are not
// named; a production of every message is. Before, each was named
// whenever its conversations filter (none) covered the conversation.
func TestEraseOutputsFollowSelection(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, held := m.conversations(t)
	a := held[0]
	span := func(conv string) (first, last time.Time) {
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
			if err != nil {
				t.Fatal(err)
			}
			at, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp)
			if err != nil {
				t.Fatal(err)
			}
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		return first, last
	}
	aFirst, aLast := span(a)
	b := ""
	for _, c := range free {
		if f, l := span(c); l.Before(aFirst) || f.After(aLast) {
			b = c
			break
		}
	}
	if b == "" {
		t.Fatalf("no conversation without a hold sent outside %s's hours: the fixture needs another", a)
	}
	prod := func(name string, sel produce.Selection) uint64 {
		res, err := produce.Run(ctx, produce.Deps{Ledger: m.le.Ledger, Store: m.le.Store}, produce.Options{
			Out: filepath.Join(t.TempDir(), name), Format: produce.FormatDAT, Selection: sel, SignerKey: m.le.Key, VerifierKey: m.le.Ledger.VerifierKey()})
		if err != nil {
			t.Fatal(err)
		}
		return res.Seq
	}
	hold := prod("hold", produce.Selection{LegalHoldOnly: true})
	hours := prod("hours", produce.Selection{Interval: aFirst.Format(time.RFC3339Nano) + "/" + aLast.Add(time.Millisecond).Format(time.RFC3339Nano)})
	all := prod("all", produce.Selection{})

	first, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{a}, Reason: "DSR-1", Operator: "dpo",
		OverrideHold: "counsel approved", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Detail.Outputs) != 3 {
		t.Fatalf("first erasure named %+v, want the 3 productions, their manifests deleted", first.Detail.Outputs)
	}
	second, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{b}, Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	named := map[uint64]leaf.ErasedOutput{}
	for _, o := range second.Detail.Outputs {
		named[o.Seq] = o
	}
	if o, ok := named[all]; !ok || !strings.Contains(o.Why, b) || !strings.Contains(o.Why, "every message") {
		t.Errorf("the production of every message: named %v %+v, want it, may hold %s", ok, o, b)
	}
	for seq, what := range map[uint64]string{hold: "--legal-hold-only", hours: "--interval of " + a + "'s hours"} {
		if o, ok := named[seq]; ok {
			t.Errorf("the %s production (entry %d) named: %s", what, seq, o.Why)
		}
	}
	if v := m.verify(t); !v.OK || v.Evidence.Missing != 0 {
		t.Errorf("verify --evidence: %+v %v", v.Evidence, v.Findings)
	}
}
