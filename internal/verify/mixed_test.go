package verify_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	custody "github.com/custodyhq/custody"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/verify"
)

// saltedMessage is message(conv, i, sum) in format v3: its personal
// fields committed under a salt made from i, the opening named.
func saltedMessage(conv string, i int, sum hashchain.Hash) (leaf.Entry, []byte) {
	e := message(conv, i, sum)
	dd, _ := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	d := dd.(*leaf.MessageDetail)
	o := &leaf.Opening{MessageID: e.MessageID, Salt: sha256.Sum256(fmt.Appendf(nil, "salt %d", i)), Fields: map[string]string{
		"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": d.ProviderMessageID, "to": d.To}}
	opening := o.Encode()
	d.SetCommitments(o, hashchain.Hash(sha256.Sum256(opening)))
	e.Detail, _ = leaf.EncodeDetail(d)
	return e, opening
}

// buildMixedFixture is a schema version 2 ledger of v1 message leaves,
// migrated in place by opening it, with v3 message, hold and erasure
// entries appended after the migration, and checkpoints before and after.
func buildMixedFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.appendN(6)
	f.checkpoint()
	// What custody before v3 wrote: user_version 2, no entries_controls.
	f.raw(`DROP INDEX entries_controls`, `PRAGMA user_version = 2`)
	f.reopen()
	db, err := sql.Open("sqlite3", "file:"+f.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var version, index int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'entries_controls'`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if version != custody.SchemaVersion || index != 1 {
		t.Fatalf("after opening: user_version %d, entries_controls %d", version, index)
	}
	var more []leaf.Entry
	for i := 6; i < 12; i++ {
		e, _ := saltedMessage(fmt.Sprintf("conv-%02d", i%4), i, hashchain.Hash(sha256.Sum256([]byte("evidence"))))
		more = append(more, e)
	}
	hold, _ := leaf.EncodeDetail(&leaf.HoldDetail{Action: leaf.HoldSet, Conversations: []string{"conv-01"}, ObjectLock: "unsupported", Operator: "u", Reason: "r"})
	erase, _ := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{"conv-02"}, Messages: []string{}, Partial: []string{},
		Erased: []string{strings.Repeat("ab", 32)}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "r"})
	more = append(more, leaf.Entry{Kind: leaf.KindHold, Detail: hold}, leaf.Entry{Kind: leaf.KindErasure, Detail: erase})
	out, err := f.l.Append(f.ctx, more...)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].V != leaf.FormatV3 || !bytes.HasSuffix(out[0].Leaf, []byte(`"v":3}`)) {
		t.Fatalf("a message appended after the migration is not v3: %s", out[0].Leaf)
	}
	f.checkpoint()
	return f
}

// TestMigratedMixedLedger: a version 2 ledger migrates in place; its v1
// leaves and the v3 ones appended since verify together, and so do
// proofs of each kind issued before and after the migration.
func TestMigratedMixedLedger(t *testing.T) {
	f := buildMixedFixture(t)
	rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey()})
	if !rep.OK || rep.Entries != 14 {
		t.Fatalf("mixed ledger: %v (%d entries)", rep.Findings, rep.Entries)
	}
	for _, seq := range []uint64{0, 5, 6, 11, 13} {
		p, err := f.l.Prove(f.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Verify(f.l.VerifierKey()); err != nil {
			t.Errorf("proof of seq %d: %v", seq, err)
		}
	}
}
