package verify_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// fixture is a fresh ledger in a temporary directory.
type fixture struct {
	t      testing.TB
	path   string
	l      *ledger.Ledger
	signer string
	ctx    context.Context
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "custody.db")
	ctx := context.Background()
	l, signer, err := ledger.Create(ctx, path, "acme-v-smith", ledger.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, path: path, l: l, signer: signer, ctx: ctx}
	t.Cleanup(func() {
		if f.l != nil {
			f.l.Close()
		}
	})
	return f
}

// reopen closes and opens the ledger again (after raw SQL surgery).
func (f *fixture) reopen() {
	f.t.Helper()
	if f.l != nil {
		f.l.Close()
	}
	l, err := ledger.Open(f.ctx, f.path, ledger.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.l = l
}

// raw runs SQL directly on the file, bypassing the ledger package: how the
// tests play the attacker. The ledger is closed first.
func (f *fixture) raw(stmts ...string) {
	f.t.Helper()
	if f.l != nil {
		f.l.Close()
		f.l = nil
	}
	db, err := sql.Open("sqlite3", "file:"+f.path+"?_journal_mode=WAL")
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			f.t.Fatalf("raw %q: %v", s, err)
		}
	}
}

// leavesChain is the chain link after the last entry of the chain of the
// leaves as stored (ChainLink over each leaf's hash, in seq order): what
// verify reports as the chain head, whatever the stored hashes say.
func (f *fixture) leavesChain() string {
	f.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+f.path+"?mode=ro")
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT leaf FROM entries ORDER BY seq`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var chain hashchain.Hash
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			f.t.Fatal(err)
		}
		chain = hashchain.ChainLink(chain, hashchain.LeafHash(b))
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return chain.String()
}

// message returns a message entry of about the size exports write.
func message(conv string, i int, evidenceSum hashchain.Hash) leaf.Entry {
	hold := i%3 == 0
	payload := sha256.Sum256(fmt.Appendf(nil, "payload %s %d", conv, i))
	id := sha256.Sum256(fmt.Appendf(nil, "%s-msg-%06d", conv, i))
	detail, _ := json.Marshal(map[string]any{"direction": "inbound", "messenger_type": "whatsapp", "from": "+15555550100",
		"to": "+15555550199", "content_sha256": fmt.Sprintf("%x", payload)})
	return leaf.Entry{
		Kind:           leaf.KindMessage,
		ConversationID: conv,
		MessageID:      fmt.Sprintf("%x", id[:16]),
		RunID:          "run-0001",
		PayloadSHA256:  hashchain.Hash(payload),
		EvidenceSHA256: evidenceSum,
		Source: &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk",
			Status: 200, CorrelationID: "c0ffee00-1234-4abc-8def-0123456789ab"},
		Compliance: &leaf.Compliance{LegalHold: &hold, AuditRefs: []string{"audit-7f3e2a"},
			OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		Detail: detail,
	}
}

// appendN appends n message entries over a few conversations, each
// naming an evidence object that is not in any store.
func (f *fixture) appendN(n int) []leaf.Entry {
	f.t.Helper()
	var all []leaf.Entry
	for i := range n {
		conv := fmt.Sprintf("conv-%02d", i%4)
		all = append(all, message(conv, i, hashchain.Hash(sha256.Sum256([]byte("evidence "+conv)))))
	}
	out, err := f.l.Append(f.ctx, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) checkpoint() ledger.StoredCheckpoint {
	f.t.Helper()
	cp, err := f.l.Checkpoint(f.ctx, f.signer)
	if err != nil {
		f.t.Fatal(err)
	}
	return cp
}

func (f *fixture) verify(opts verify.Options) verify.Report {
	f.t.Helper()
	if opts.VerifierKey == "" {
		opts.VerifierKey = f.l.VerifierKey()
	}
	rep, err := verify.Ledger(f.ctx, f.l, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func messages(conv string, n int) []leaf.Entry {
	out := make([]leaf.Entry, n)
	for i := range out {
		out[i] = message(conv, i, hashchain.Hash(sha256.Sum256([]byte("evidence "+conv))))
	}
	return out
}
