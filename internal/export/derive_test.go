package export_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// TestDerivedCleanExport: an untampered export re-derives every message,
// conversation, audit and listing entry from its evidence with no finding.
func TestDerivedCleanExport(t *testing.T) {
	e := newEnv(t, 12, "")
	e.run(t, intervalScope())
	ctx := context.Background()
	counts := map[string]int{}
	held := 0
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		counts[en.Kind]++
		if en.Kind == leaf.KindMessage && *en.Compliance.LegalHold && len(en.Compliance.AuditRefs) > 0 {
			held++
		}
	}
	if counts[leaf.KindMessage] == 0 || counts[leaf.KindAudit] == 0 || held == 0 {
		t.Fatalf("the fixture needs messages, audit pages and held messages with audit refs: %v, %d held", counts, held)
	}
	rep, err := verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Derived == nil {
		t.Fatalf("clean export: %v, derived %+v", rep.Findings, rep.Derived)
	}
	d := rep.Derived
	for _, k := range []string{leaf.KindMessage, leaf.KindConversation, leaf.KindAudit, leaf.KindListing} {
		if d.ByKind[k] != counts[k] {
			t.Errorf("%s: %d re-derived, the ledger has %d", k, d.ByKind[k], counts[k])
		}
	}
	if d.Unavailable != 0 || d.LegacyAuditRefs != 0 || d.SkippedEntries != counts[leaf.KindRun] ||
		strings.Join(d.KindsWithout, ",") != leaf.KindRun {
		t.Errorf("summary %+v (counts %v)", d, counts)
	}
	t.Log(d)

	// A missing evidence object is the evidence check's finding; the
	// fields taken from it are not re-derived, and not reported again.
	var bulk string
	for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		bulk = en.EvidenceSHA256.String()
		break
	}
	if err := os.Remove(filepath.Join(e.dir, "evidence", filepath.FromSlash(evidence.Key(mustHash(t, bulk))))); err != nil {
		t.Fatal(err)
	}
	rep, err = verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Findings) != 1 || rep.Findings[0].Check != verify.CheckEvidence || rep.Derived.Unavailable == 0 {
		t.Fatalf("missing bulk evidence: %v, derived %+v", rep.Findings, rep.Derived)
	}
}

// TestDerivedInsiderTamper: the insider holding the signing key edits one
// field of one message leaf, recomputes every hash and re-signs every
// checkpoint. The ledger's own checks all hold; verify --evidence fails
// naming that seq and that field, and nothing else.
func TestDerivedInsiderTamper(t *testing.T) {
	cases := []struct {
		field string
		pick  func(*leaf.Entry) bool // which message to tamper with
		edit  func(*leaf.Entry)
		kind  string // of the entry tampered with; default message
	}{
		{"compliance.legal_hold", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			h := !*e.Compliance.LegalHold
			e.Compliance.LegalHold = &h
		}, ""},
		{"compliance.legal_hold", func(e *leaf.Entry) bool { return *e.Compliance.LegalHold }, func(e *leaf.Entry) {
			h := false // a hold hidden
			e.Compliance.LegalHold = &h
		}, ""},
		{"detail.content_sha256_commitment", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			editDetail(e, func(d *leaf.MessageDetail) { d.ContentCommitment = strings.Repeat("0", 64) })
		}, ""},
		{"compliance.original_timestamp", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			// The same instant, spelt differently: still not what the API said.
			e.Compliance.OriginalTimestamp = strings.Replace(e.Compliance.OriginalTimestamp, "Z", "+00:00", 1)
		}, ""},
		{"detail.from_commitment", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			// Another number under the same salt: what an insider who
			// kept the opening would write.
			editDetail(e, func(d *leaf.MessageDetail) {
				var o leaf.Opening
				copy(o.Salt[:], []byte(d.OpeningEvidence)) // any salt: the commitment is not the evidence's
				o.Fields = map[string]string{"from": "+15550000000"}
				d.FromCommitment = o.Commitments()["from"].String()
			})
		}, ""},
		{"compliance.audit_refs", func(e *leaf.Entry) bool { return len(e.Compliance.AuditRefs) > 0 }, func(e *leaf.Entry) {
			e.Compliance.AuditRefs = e.Compliance.AuditRefs[1:] // an audit record hidden
		}, ""},
		{"compliance.audit_refs", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			e.Compliance.AuditRefs = append(e.Compliance.AuditRefs, "forged-audit-record")
		}, ""},
		{"payload_sha256", func(*leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			e.PayloadSHA256[0] ^= 1
		}, ""},
		{"detail.legal_hold", func(e *leaf.Entry) bool { return true }, func(e *leaf.Entry) {
			d, err := leaf.DecodeDetail(leaf.KindConversation, e.Detail)
			if err != nil {
				panic(err)
			}
			cd := d.(*leaf.ConversationDetail)
			cd.LegalHold = !cd.LegalHold
			if e.Detail, err = leaf.EncodeDetail(cd); err != nil {
				panic(err)
			}
		}, leaf.KindConversation},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, c.field), func(t *testing.T) {
			e := newEnv(t, 12, "")
			e.run(t, intervalScope())
			ctx := context.Background()
			var seq uint64
			found := false
			kind := c.kind
			if kind == "" {
				kind = leaf.KindMessage
			}
			for en, err := range e.ledger.Entries(ctx, ledger.Filter{Kind: kind}) {
				if err != nil {
					t.Fatal(err)
				}
				if !found && c.pick(&en) {
					seq, found = en.Seq, true
				}
			}
			if !found {
				t.Fatal("no message to tamper with")
			}
			if err := ledgertest.Rewrite(ctx, filepath.Join(e.dir, "custody.db"), e.key, seq, c.edit); err != nil {
				t.Fatal(err)
			}
			// Without evidence, the rewritten ledger is self-consistent.
			rep, err := verify.Ledger(ctx, e.ledger, verify.Options{VerifierKey: e.ledger.VerifierKey()})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK {
				t.Fatalf("the insider's rewrite does not hold on its own: %v", rep.Findings)
			}
			rep, err = verify.Ledger(ctx, e.ledger, verifyWithEvidence(e))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || len(rep.Findings) != 1 {
				t.Fatalf("want one finding at seq %d, got %v", seq, rep.Findings)
			}
			f := rep.First()
			if f.Check != verify.CheckDerived || f.Seq == nil || *f.Seq != seq || !strings.HasPrefix(f.Message, c.field+": the leaf has ") {
				t.Fatalf("finding %q, want seq %d: derived: %s", f, seq, c.field)
			}
			t.Log(f)
		})
	}
}

func editDetail(e *leaf.Entry, edit func(*leaf.MessageDetail)) {
	d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	if err != nil {
		panic(err)
	}
	edit(d.(*leaf.MessageDetail))
	if e.Detail, err = leaf.EncodeDetail(d); err != nil {
		panic(err)
	}
}

// BenchmarkVerifyEvidence measures verify --evidence on an exported org
// of a few thousand messages: re-hashing the evidence alone (NoDerive),
// and with every leaf field re-derived from it.
//
//	go test ./internal/export -run '^$' -bench VerifyEvidence -benchtime 5x
func BenchmarkVerifyEvidence(b *testing.B) {
	e := newEnv(b, 400, "")
	e.run(b, intervalScope())
	ctx := context.Background()
	var size int64
	filepath.Walk(filepath.Join(e.dir, "evidence"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	b.Logf("evidence: %d bytes", size)
	for _, c := range []struct {
		name     string
		noDerive bool
	}{{"rehash", true}, {"derive", false}} {
		b.Run(c.name, func(b *testing.B) {
			opts := verifyWithEvidence(e)
			opts.NoDerive = c.noDerive
			var rep verify.Report
			// CPU time as well as wall time: on a shared machine the
			// wall time says more about the neighbours than about verify.
			cpu0 := benchutil.CPUTime()
			for b.Loop() {
				var err error
				if rep, err = verify.Ledger(ctx, e.ledger, opts); err != nil {
					b.Fatal(err)
				}
			}
			if !rep.OK {
				b.Fatalf("findings %v", rep.Findings)
			}
			b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(rep.Entries), "entries")
			if rep.Derived != nil {
				b.ReportMetric(float64(rep.Derived.ByKind[leaf.KindMessage]), "messages")
			}
		})
	}
}
