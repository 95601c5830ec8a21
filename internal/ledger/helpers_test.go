package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// t0 is the fixed clock of most tests.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return t0 } }

// fixture is a fresh ledger in a temporary directory.
type fixture struct {
	t      testing.TB
	path   string
	l      *Ledger
	signer string
	ctx    context.Context
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "custody.db")
	ctx := context.Background()
	l, signer, err := Create(ctx, path, "acme-v-smith", Options{Now: fixedClock()})
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
	l, err := Open(f.ctx, f.path, Options{Now: fixedClock()})
	if err != nil {
		f.t.Fatal(err)
	}
	f.l = l
}

// raw runs SQL directly on the file, bypassing the package: how the tests
// play the attacker. The ledger is closed first.
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

// message returns a message entry of about the size exports write
// (~600-byte leaf).
func message(conv string, i int) leaf.Entry {
	hold := i%3 == 0
	payload := sha256.Sum256([]byte(fmt.Sprintf("payload %s %d", conv, i)))
	ev := sha256.Sum256([]byte(fmt.Sprintf("evidence %s", conv)))
	return leaf.Entry{
		Kind:           leaf.KindMessage,
		ConversationID: conv,
		MessageID:      messageID(conv, i),
		RunID:          "run-0001",
		PayloadSHA256:  hashchain.Hash(payload),
		EvidenceSHA256: hashchain.Hash(ev),
		Source: &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk",
			Status: 200, CorrelationID: "c0ffee00-1234-4abc-8def-0123456789ab"},
		Compliance: &leaf.Compliance{LegalHold: &hold, AuditRefs: []string{"audit-7f3e2a", "audit-7f3e2b"},
			OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		// As exports build it: json.Marshal of a map, so keys come sorted.
		Detail: mustJSON(map[string]any{"direction": "inbound", "messenger_type": "whatsapp", "from": "+15555550100",
			"to": "+15555550199", "content_sha256": strings.Repeat("ab", 32)}),
	}
}

// messageID looks like a Genesys message id: 32 hex digits, random order.
func messageID(conv string, i int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s-msg-%06d", conv, i)))
	return fmt.Sprintf("%x", h[:16])
}

func messages(conv string, n int) []leaf.Entry {
	out := make([]leaf.Entry, n)
	for i := range out {
		out[i] = message(conv, i)
	}
	return out
}

// appendN appends n message entries over a few conversations.
func (f *fixture) appendN(n int) []leaf.Entry {
	f.t.Helper()
	var all []leaf.Entry
	for i := 0; i < n; i++ {
		all = append(all, message(fmt.Sprintf("conv-%02d", i%4), i))
	}
	out, err := f.l.Append(f.ctx, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) checkpoint() StoredCheckpoint {
	f.t.Helper()
	cp, err := f.l.Checkpoint(f.ctx, f.signer)
	if err != nil {
		f.t.Fatal(err)
	}
	return cp
}

// intact is what the ledger's own tests ask of a ledger after appends,
// crashes and migrations. The full verifier is internal/verify, which
// imports this package, so these tests cannot call it; this re-checks the
// same invariants of a snapshot: seqs without gaps, every leaf against its
// stored hash, every chain link, every stored checkpoint's signature and
// root.
type intact struct {
	OK       bool
	Entries  uint64
	Findings []string
}

func (f *fixture) verify() intact { f.t.Helper(); return checkIntact(f.t, f.ctx, f.l) }

func checkIntact(t testing.TB, ctx context.Context, l *Ledger) intact {
	t.Helper()
	var out intact
	// A read error is a finding too: damaged files are among the cases.
	fail := func(err error) intact {
		out.Findings = append(out.Findings, err.Error())
		return out
	}
	snap, err := l.Snapshot(ctx)
	if err != nil {
		return fail(err)
	}
	defer snap.Close()
	cps, err := snap.Checkpoints(ctx)
	if err != nil {
		return fail(err)
	}
	roots := map[uint64]hashchain.Hash{}
	for _, c := range cps {
		cp, err := hashchain.VerifyCheckpoint(c.Note, l.VerifierKey())
		if err != nil || cp.Size != c.Size || cp.Root != c.Root {
			out.Findings = append(out.Findings, fmt.Sprintf("checkpoint %d: %v", c.ID, err))
			continue
		}
		roots[cp.Size] = cp.Root
	}
	b := hashchain.NewRootBuilder()
	var chain hashchain.Hash
	check := func() {
		if r, ok := roots[b.Size()]; ok && r != b.Root() {
			out.Findings = append(out.Findings, fmt.Sprintf("root at %d differs from its checkpoint", b.Size()))
		}
		delete(roots, b.Size())
	}
	check()
	for e, err := range snap.Entries(ctx) {
		if err != nil {
			return fail(err)
		}
		lh := hashchain.LeafHash(e.Leaf)
		chain = hashchain.ChainLink(chain, lh)
		if e.Seq != b.Size() || !bytes.Equal(e.LeafHash, lh[:]) || !bytes.Equal(e.Chain, chain[:]) {
			out.Findings = append(out.Findings, fmt.Sprintf("seq %d: sequence, leaf hash or chain broken", e.Seq))
		}
		b.Append(lh)
		check()
	}
	for size := range roots {
		out.Findings = append(out.Findings, fmt.Sprintf("checkpoint of %d entries beyond the ledger", size))
	}
	out.Entries, out.OK = b.Size(), len(out.Findings) == 0
	return out
}

// fileBytes returns the ledger file and its WAL, to show nothing changed.
func fileBytes(t testing.TB, path string) []byte {
	t.Helper()
	var out []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out = append(out, b...)
		out = append(out, 0xff)
	}
	return out
}

func sameBytes(t testing.TB, before []byte, path string) {
	t.Helper()
	if !bytes.Equal(before, fileBytes(t, path)) {
		t.Errorf("%s changed", path)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
