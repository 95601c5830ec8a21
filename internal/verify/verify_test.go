package verify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/verify"
)

// tamper is one attack on a ledger: surgery is raw SQL run after the
// ledger was built (10 entries, checkpoints at 4 and 10, a copy of the
// latest checkpoint kept outside).
type tamper struct {
	name    string
	sql     []string
	check   string // expected check of the first finding
	seq     int    // expected seq of the first finding, -1 for none
	message string // expected in the first finding's message
}

var tamperMatrix = []tamper{
	{
		name:    "leaf byte changed",
		sql:     []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'inbound', 'inbounD') AS BLOB) WHERE seq = 6`},
		check:   verify.CheckLeafHash,
		seq:     6,
		message: "leaf altered",
	},
	{
		// At one seq the leaf hash is checked before the strict leaf
		// checks (docs/ledger-format.md, "One break, one finding").
		name:    "leaf made not canonical, its hashes kept",
		sql:     []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), '{"at"', '{ "at"') AS BLOB) WHERE seq = 6`},
		check:   verify.CheckLeafHash,
		seq:     6,
		message: "leaf altered",
	},
	{
		name: "leaf changed and its hashes recomputed",
		// An attacker who also fixes leaf_hash and the chain from there
		// on still cannot produce the signed root.
		sql:     []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf_hash = zeroblob(32) WHERE seq = 2`},
		check:   verify.CheckLeafHash,
		seq:     2,
		message: "leaf altered",
	},
	{
		name:    "entry deleted",
		sql:     []string{`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 5`},
		check:   verify.CheckSequence,
		seq:     5,
		message: "entry missing: expected seq 5, the next stored entry is seq 6",
	},
	{
		name: "two entries swapped",
		sql: []string{`DROP TRIGGER entries_append_only_update`,
			`UPDATE entries SET seq = 1000 WHERE seq = 3`, `UPDATE entries SET seq = 3 WHERE seq = 4`, `UPDATE entries SET seq = 4 WHERE seq = 1000`},
		check:   verify.CheckChain,
		seq:     3,
		message: "is not ChainLink(previous link, leaf hash)",
	},
	{
		name: "tail truncated (with its checkpoint)",
		sql: []string{`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
			`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`},
		check:   verify.CheckTruncated,
		seq:     -1,
		message: "ledger truncated: checkpoint has 10 entries, ledger has 7",
	},
	{
		name:    "stored root altered",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_update`, `UPDATE checkpoints SET root = zeroblob(32) WHERE id = 1`},
		check:   verify.CheckCheckpointRow,
		seq:     -1,
		message: "differ from the signed note",
	},
	{
		name:    "checkpoint note text altered",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_update`, `UPDATE checkpoints SET note = replace(note, char(10) || '4' || char(10), char(10) || '3' || char(10)) WHERE id = 1`},
		check:   verify.CheckCheckpointSig,
		seq:     -1,
		message: "signature does not verify",
	},
	{
		name:    "stored checkpoint deleted",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id = 2`},
		check:   "", // still consistent with the external checkpoint: no finding
		seq:     -1,
		message: "",
	},
}

func buildTamperFixture(t *testing.T) (*fixture, []byte) {
	f := newFixture(t)
	f.appendN(4)
	f.checkpoint()
	f.appendN(6)
	cp := f.checkpoint()
	return f, cp.Note
}

func TestVerifyTamperMatrix(t *testing.T) {
	// Untouched, everything holds.
	f, ext := buildTamperFixture(t)
	rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if !rep.OK || rep.Entries != 10 || rep.Checkpoints != 2 || rep.CoveredEntries != 10 || len(rep.Warnings) != 0 {
		t.Fatalf("clean ledger: %+v", rep)
	}
	for _, tc := range tamperMatrix {
		t.Run(tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
			if want := f.leavesChain(); rep.ChainHead != want {
				t.Errorf("chain head %s, the chain of the leaves as stored %s", rep.ChainHead, want)
			}
			if tc.check == "" {
				if !rep.OK {
					t.Fatalf("findings: %v", rep.Findings)
				}
				return
			}
			if rep.OK {
				t.Fatal("tampering not detected")
			}
			first := rep.First()
			t.Logf("first: %s (%d findings)", first, len(rep.Findings))
			if first.Check != tc.check {
				t.Errorf("first finding %q, want %q", first.Check, tc.check)
			}
			if tc.seq < 0 && first.Seq != nil || tc.seq >= 0 && (first.Seq == nil || *first.Seq != uint64(tc.seq)) {
				t.Errorf("first finding at seq %v, want %d", first.Seq, tc.seq)
			}
			if !strings.Contains(first.Message, tc.message) {
				t.Errorf("message %q lacks %q", first.Message, tc.message)
			}
		})
	}
}

// TestVerifyTruncationNeedsOutsideCheckpoint: without the copy kept
// outside, a tail cut together with its checkpoint is invisible; with it,
// it is caught. A rewrite that keeps the size is caught as a root mismatch.
func TestVerifyTruncationNeedsOutsideCheckpoint(t *testing.T) {
	f, ext := buildTamperFixture(t)
	f.raw(`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
		`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`)
	f.reopen()
	// Without it, what is left holds, but entries 4 to 6 are signed by
	// no checkpoint still stored: unsigned, not OK.
	if rep := f.verify(verify.Options{}); !rep.Holds() || rep.OK || rep.Unsigned == nil || rep.Unsigned.First != 4 || rep.Unsigned.Last != 6 {
		t.Fatalf("without the outside checkpoint: %v, unsigned %+v", rep.Findings, rep.Unsigned)
	}
	rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != verify.CheckTruncated {
		t.Fatalf("with it: %+v", rep.Findings)
	}

	// Rewritten history of the same length: re-append different entries
	// after truncating, re-sign with the (stolen) key.
	g, ext := buildTamperFixture(t)
	g.raw(`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
		`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`, `DELETE FROM message_keys_recent WHERE seq >= 7`)
	g.reopen()
	if _, err := g.l.Append(g.ctx, messages("conv-forged", 3)...); err != nil {
		t.Fatal(err)
	}
	g.checkpoint()
	if rep := g.verify(verify.Options{}); !rep.OK {
		t.Fatalf("a rewrite re-signed with the real key is self-consistent: %v", rep.Findings)
	}
	rep = g.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != verify.CheckCheckpointRoot || !strings.Contains(rep.First().Message, "history rewritten") {
		t.Fatalf("rewrite against the outside checkpoint: %+v", rep.Findings)
	}
	t.Log(rep.First())
}

func TestVerifyResignedWithAnotherKey(t *testing.T) {
	f, _ := buildTamperFixture(t)
	cps, _ := f.l.Checkpoints(f.ctx)
	sameName, _, _ := hashchain.GenerateKey(f.l.Origin())
	forged, err := hashchain.SignCheckpoint(cps[1].Checkpoint, sameName)
	if err != nil {
		t.Fatal(err)
	}
	f.raw(`DROP TRIGGER checkpoints_append_only_update`, fmt.Sprintf(`UPDATE checkpoints SET note = '%s' WHERE id = 2`, forged))
	f.reopen()
	rep := f.verify(verify.Options{})
	if rep.OK || rep.First().Check != verify.CheckCheckpointSig || rep.First().Checkpoint != "stored #2" {
		t.Fatalf("findings: %+v", rep.Findings)
	}
	t.Log(rep.First())
	// A signature under the key's name exists: it is by another key, not
	// missing. And the entries it was to cover are not "not covered yet":
	// no advice to run custody checkpoint over a checkpoint that fails.
	noAdvice := func(what string, rep verify.Report) {
		t.Helper()
		if !strings.Contains(rep.First().Message, "does not verify with the given key") || strings.Contains(rep.First().Message, "no signature by key") {
			t.Errorf("%s: %v", what, rep.First())
		}
		if rep.Unsigned != nil {
			t.Errorf("%s: entries called unsigned beside a key failure: %v", what, rep.Unsigned)
		}
	}
	noAdvice("one checkpoint re-signed", rep)
	_, sameNameVerifier, _ := hashchain.GenerateKey(f.l.Origin())
	rep = f.verify(verify.Options{VerifierKey: sameNameVerifier})
	if rep.OK || rep.First().Check != verify.CheckCheckpointSig {
		t.Fatalf("verify with a key of the same name: %+v", rep.Findings)
	}
	noAdvice("a key of the same name", rep)

	// Verifying with another ledger's key is a finding (exit 3), not an
	// error: the identity, with every stored signature failing because
	// of it counted, not listed.
	_, otherVerifier, _ := hashchain.GenerateKey("custody/someone-else")
	rep, err = verify.Ledger(f.ctx, f.l, verify.Options{VerifierKey: otherVerifier})
	if err != nil || rep.OK || len(rep.Findings) != 1 || rep.First().Check != verify.CheckIdentity ||
		rep.First().ConsequentCheckpoints != 2 || !strings.Contains(rep.First().String(), "and 2 checkpoints after it fail because of it") {
		t.Errorf("verify with another ledger's key: %v %+v", err, rep.Findings)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("verify with another ledger's key: warnings %v", rep.Warnings)
	}
	if _, err := verify.Ledger(f.ctx, f.l, verify.Options{}); !errors.Is(err, ledger.ErrNoVerifierKey) {
		t.Errorf("verify without a key: %v, want ledger.ErrNoVerifierKey", err)
	}
}

func TestVerifyWarningsAndProgress(t *testing.T) {
	f := newFixture(t)
	f.appendN(5)
	rep := f.verify(verify.Options{})
	if rep.OK || !rep.Holds() || len(rep.Warnings) != 0 || rep.Unsigned == nil || *rep.Unsigned != (verify.Unsigned{First: 0, Last: 4, NoCheckpoint: true, Message: rep.Unsigned.String()}) {
		t.Errorf("no checkpoint: %+v, unsigned %+v", rep, rep.Unsigned)
	}
	f.checkpoint()
	f.appendN(3)
	var calls []uint64
	rep = f.verify(verify.Options{ProgressEvery: 2, Progress: func(done, total uint64) {
		if total != 8 {
			t.Errorf("total %d", total)
		}
		calls = append(calls, done)
	}})
	if rep.OK || !rep.Holds() || len(rep.Warnings) != 0 || rep.Unsigned == nil || rep.Unsigned.First != 5 || rep.Unsigned.Last != 7 ||
		rep.Unsigned.NoCheckpoint || !strings.HasPrefix(rep.Unsigned.Message, "entries 5 to 7 are covered by no signed checkpoint: ") {
		t.Errorf("uncovered tail: %+v, unsigned %+v", rep, rep.Unsigned)
	}
	if fmt.Sprint(calls) != "[2 4 6 8 8]" {
		t.Errorf("progress calls %v", calls)
	}
	if rep.Root == "" || rep.ChainHead == "" {
		t.Error("report lacks root or chain head")
	}
}

// TestVerifyDuringAppends: verify works on a snapshot while an export
// keeps appending.
func TestVerifyDuringAppends(t *testing.T) {
	f := newFixture(t)
	f.appendN(200)
	f.checkpoint()
	done := make(chan error)
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := f.l.Append(f.ctx, messages(fmt.Sprintf("conc-%d", i), 20)...); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 5; i++ {
		// The entries appended since the checkpoint are unsigned.
		if rep := f.verify(verify.Options{}); !rep.Holds() {
			t.Errorf("verify during appends: %+v", rep.Findings)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 600 {
		t.Errorf("size %d", h.Size)
	}
}

// TestVerifyEvidence stores evidence for a few entries, then damages the
// store three ways; verify names each, at the first entry referencing it.
func TestVerifyEvidence(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "evidence")
	store, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var sums []hashchain.Hash
	for i := range 4 {
		s, err := store.Put(f.ctx, fmt.Appendf(nil, `{"entities":[%d]}`, i))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s.Sum)
	}
	var batch []leaf.Entry
	for i := range 8 {
		batch = append(batch, message("conv-ev", i, sums[i/2])) // entries 2k and 2k+1 share object k
	}
	// A run entry whose detail names an evidence object, as hold checks do.
	batch = append(batch, leaf.Entry{Kind: "hold_check", ConversationID: "conv-ev",
		Detail: []byte(fmt.Sprintf(`{"hold_evidence_sha256":%q,"nested":[{"bulk_evidence_sha256":"not-a-hash"}]}`, sums[3]))})
	if _, err := f.l.Append(f.ctx, batch...); err != nil {
		t.Fatal(err)
	}
	f.checkpoint()
	// The entries are not real captures ({"entities":[0]} is no message):
	// only the re-hashing is under test here (derive_test.go has the rest).
	rep := f.verify(verify.Options{Evidence: store, NoDerive: true})
	// The bad reference in the detail is the one finding of a clean store.
	if rep.OK || len(rep.Findings) != 1 || rep.Findings[0].Check != verify.CheckEvidence || *rep.Findings[0].Seq != 8 ||
		!strings.Contains(rep.Findings[0].Message, `"not-a-hash"`) {
		t.Fatalf("clean store: %+v", rep.Findings)
	}
	if rep.Evidence == nil || rep.Evidence.Referenced != 4 || rep.Evidence.Store != store.URL() {
		t.Fatalf("evidence summary %+v", rep.Evidence)
	}

	path := func(h hashchain.Hash) string { return filepath.Join(dir, filepath.FromSlash(evidence.Key(h))) }
	if err := os.Chmod(path(sums[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path(sums[1]), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path(sums[2])); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(f.ctx, []byte("stray")); err != nil {
		t.Fatal(err)
	}
	rep = f.verify(verify.Options{Evidence: store, NoDerive: true})
	var got []string
	for _, fd := range rep.Findings {
		got = append(got, fd.String())
	}
	want := []string{
		fmt.Sprintf("seq 2: evidence: evidence %s was altered", sums[1]),
		fmt.Sprintf("seq 4: evidence: evidence %s is missing", sums[2]),
		"seq 8: evidence: detail names evidence",
	}
	if len(got) != len(want) {
		t.Fatalf("findings %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("finding %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	if rep.Evidence.Missing != 1 || rep.Evidence.Altered != 1 || rep.Evidence.Unreferenced != 1 {
		t.Errorf("evidence summary %+v", rep.Evidence)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "referenced by no entry") {
		t.Errorf("warnings %v", rep.Warnings)
	}
}

// TestVerifyReadOnlyCopy: verification writes nothing, and a copy of the
// ledger on a read-only medium (here: read-only files in a read-only
// directory) verifies like the original.
func TestVerifyReadOnlyCopy(t *testing.T) {
	f := newFixture(t)
	f.appendN(30)
	f.checkpoint()
	f.l.Close()
	f.l = nil
	dir := t.TempDir()
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "custody.db")
	if err := os.WriteFile(cp, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if os.Getuid() == 0 {
		t.Log("running as root: file modes do not stop writes, so the bytes comparison below is what shows nothing was written")
	}
	l, err := ledger.Open(context.Background(), cp, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Ledger(context.Background(), l, verify.Options{VerifierKey: l.VerifierKey()})
	l.Close()
	if err != nil || !rep.OK || rep.Entries != 30 {
		t.Fatalf("read-only copy: %v %+v", err, rep)
	}
	after, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(data) {
		t.Error("verify changed the ledger file")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "custody.db" {
			t.Errorf("verify left %s beside the ledger", e.Name())
		}
	}
}
