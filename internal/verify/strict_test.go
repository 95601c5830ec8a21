package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/verify"
	"golang.org/x/mod/sumdb/note"
)

// nest puts arrays into the detail of the genuine leaf g so that it nests
// depth levels deep, its own object and the detail included.
func nest(g string, depth int) string {
	return strings.Replace(g, `"direction":"inbound",`, `"deep":`+strings.Repeat("[", depth-2)+strings.Repeat("]", depth-2)+`,"direction":"inbound",`, 1)
}

// genuineLeaf is the leaf a message entry appended at the end of the
// tamper fixture would have.
func genuineLeaf(t testing.TB) []byte {
	e := message("conv-forged", 99, hashchain.Hash{1})
	e.Matter, e.At = "acme-v-smith", t0
	b, err := e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forgeRow appends leafBytes as the next entry by raw SQL, with the right
// leaf hash and chain link, and the lookup columns and message index row
// custody would have written for what the leaf decodes to: what an
// attacker who can write the file but not bypass the format would do.
func (f *fixture) forgeRow(leafBytes []byte) {
	f.t.Helper()
	head, err := f.l.Head(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	lh := hashchain.LeafHash(leafBytes)
	link := hashchain.ChainLink(head.Chain, lh)
	e, err := leaf.DecodeLeaf(leafBytes)
	if err != nil || e.Kind == "" {
		e = leaf.Entry{Kind: leaf.KindMessage} // no entry: its columns are not judged
	}
	text := func(s string) string {
		if s == "" {
			return "NULL"
		}
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	stmts := []string{fmt.Sprintf(`INSERT INTO entries (seq, leaf, leaf_hash, chain, kind, conversation_id, message_id, run_id) VALUES (%d, X'%x', X'%x', X'%x', %s, %s, %s, %s)`,
		head.Size, leafBytes, lh[:], link[:], text(e.Kind), text(e.ConversationID), text(e.MessageID), text(e.RunID))}
	if e.MessageID != "" {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO message_keys_recent (key, seq) VALUES (%d, %d)`, ledger.MessageKey(e.MessageID), head.Size))
	}
	f.raw(stmts...)
	f.reopen()
}

// strictTamper is one leaf that is not strict, forged as entry 10 of the
// tamper fixture.
type strictTamper struct {
	name  string
	leaf  func(g string) string
	check string
}

var strictTampers = []strictTamper{
	{"non-canonical leaf (a space)", func(g string) string { return strings.Replace(g, `,"kind"`, `, "kind"`, 1) }, verify.CheckCanonical},
	{"non-canonical leaf (members reordered)", func(g string) string {
		return strings.Replace(g, `"kind":"message","matter":"acme-v-smith"`, `"matter":"acme-v-smith","kind":"message"`, 1)
	}, verify.CheckCanonical},
	{"duplicate member kind, read last-wins", func(g string) string {
		return strings.Replace(g, `"kind":"message",`, `"kind":"message","kind":"run",`, 1)
	}, verify.CheckDuplicate},
	{"duplicate member inside detail", func(g string) string {
		return strings.Replace(g, `"direction":"inbound",`, `"direction":"inbound","direction":"outbound",`, 1)
	}, verify.CheckDuplicate},
	{"invalid UTF-8", func(g string) string { return strings.Replace(g, `"acme-v-smith"`, "\"acme-v-smith\xff\"", 1) }, verify.CheckIJSON},
	{"lone surrogate", func(g string) string { return strings.Replace(g, `"acme-v-smith"`, `"acme\ud800"`, 1) }, verify.CheckIJSON},
	{"number beyond 2^53", func(g string) string { return strings.Replace(g, `"status":200`, `"status":9007199254740993`, 1) }, verify.CheckIJSON},
	{"not a custody entry (unknown member)", func(g string) string { return strings.Replace(g, `"v":1}`, `"v":1,"w":2}`, 1) }, verify.CheckEntry},
	{"not a custody entry (v 2)", func(g string) string { return strings.Replace(g, `"v":1}`, `"v":2}`, 1) }, verify.CheckEntry},
	// v3 is a message's version alone, and custody omits an empty id.
	{"not a custody entry (v 3 on a conversation)", func(g string) string {
		return strings.Replace(strings.Replace(g, `"kind":"message"`, `"kind":"conversation"`, 1), `"v":1}`, `"v":3}`, 1)
	}, verify.CheckEntry},
	{"not a custody entry (run_id empty)", func(g string) string {
		return regexp.MustCompile(`"run_id":"[^"]*"`).ReplaceAllLiteralString(g, `"run_id":""`)
	}, verify.CheckEntry},
	{"nested 10,001 levels", func(g string) string { return nest(g, 10001) }, verify.CheckIJSON},
	// The order of the checks (docs/ledger-format.md, "Strict leaves"):
	// the leaf is JSON, then no member twice, then the rest of I-JSON.
	{"a member twice and data after the value", func(g string) string {
		return strings.Replace(g, `"kind":"message",`, `"kind":"message","kind":"run",`, 1) + ` x`
	}, verify.CheckIJSON},
	{"a member twice and a lone surrogate", func(g string) string {
		return strings.Replace(strings.Replace(g, `"kind":"message",`, `"kind":"message","kind":"run",`, 1), `"acme-v-smith"`, `"acme\ud800"`, 1)
	}, verify.CheckDuplicate},
	{"a member twice and a number beyond 2^53", func(g string) string {
		return strings.Replace(strings.Replace(g, `"kind":"message",`, `"kind":"message","kind":"run",`, 1), `"status":200`, `"status":9007199254740993`, 1)
	}, verify.CheckDuplicate},
	{"at with a comma before the fraction", func(g string) string { return strings.Replace(g, `:00.123Z"`, `:00,123Z"`, 1) }, verify.CheckEntry},
	{"at with Arabic-Indic digits", func(g string) string { return strings.Replace(g, `:00.123Z"`, ":0\u0661.123Z\"", 1) }, verify.CheckEntry},
	// A message detail of the other version's form (docs/ledger-format.md,
	// "Format v3"): a v1 leaf with the v3 members, or without its own.
	{"v1 message with v3 commitments", func(g string) string {
		c := `"` + strings.Repeat("ab", 32) + `"`
		return regexp.MustCompile(`"detail":\{[^}]*\}`).ReplaceAllLiteralString(g, `"detail":{"content_sha256_commitment":`+c+
			`,"direction":"inbound","from_commitment":`+c+`,"messenger_type":"whatsapp","opening_evidence_sha256":`+c+
			`,"provider_message_id_commitment":`+c+`,"to_commitment":`+c+`}`)
	}, verify.CheckEntry},
	{"v1 message with an opening", func(g string) string {
		return strings.Replace(g, `"to":`, `"opening_evidence_sha256":"`+strings.Repeat("ab", 32)+`","to":`, 1)
	}, verify.CheckEntry},
	{"v1 message with from null", func(g string) string { return strings.Replace(g, `"from":"+15555550100"`, `"from":null`, 1) }, verify.CheckEntry},
}

// TestVerifyStrictLeaves: each leaf that is not strict, appended with the
// right hashes, is one finding naming its seq; custody checkpoint refuses
// to sign over it.
func TestVerifyStrictLeaves(t *testing.T) {
	g := string(genuineLeaf(t))
	for _, tc := range strictTampers {
		t.Run(tc.name, func(t *testing.T) {
			forged := tc.leaf(g)
			if forged == g {
				t.Fatal("the edit changed nothing")
			}
			f, ext := buildTamperFixture(t)
			f.forgeRow([]byte(forged))
			rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
			if rep.OK || len(rep.Findings) != 1 {
				t.Fatalf("findings %v", rep.Findings)
			}
			first := rep.First()
			if first.Check != tc.check || first.Seq == nil || *first.Seq != 10 {
				t.Fatalf("first finding %s, want %s at seq 10", first, tc.check)
			}
			t.Log(first)
			if _, err := f.l.Checkpoint(f.ctx, f.signer); !errors.Is(err, ledger.ErrInconsistent) || !strings.Contains(err.Error(), "seq 10") {
				t.Errorf("checkpoint over the forged row: %v, want ErrInconsistent naming seq 10", err)
			}
		})
	}
	// The genuine leaf forged the same way is fine (the test's forgery is sound).
	f, _ := buildTamperFixture(t)
	f.forgeRow([]byte(g))
	if rep := f.verify(verify.Options{}); !rep.Holds() || rep.Unsigned == nil || rep.Unsigned.First != 10 {
		t.Fatalf("genuine forged row: %v, unsigned %+v", rep.Findings, rep.Unsigned)
	}
	f.checkpoint()
}

// TestProveRefusesNonStrictLeaf: a forged row signed over with the stolen
// key (custody checkpoint refuses, the attacker signs by hand) is not
// proved.
func TestProveRefusesNonStrictLeaf(t *testing.T) {
	f, _ := buildTamperFixture(t)
	g := string(genuineLeaf(t))
	f.forgeRow([]byte(strings.Replace(g, `"kind":"message",`, `"kind":"message","kind":"run",`, 1)))
	var hashes []hashchain.Hash
	snap, _ := f.l.Snapshot(f.ctx)
	for row, err := range snap.Entries(f.ctx) {
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hashchain.Hash(row.LeafHash))
	}
	snap.Close()
	cp := hashchain.Checkpoint{Origin: f.l.Origin(), Size: 11, Root: hashchain.Root(hashes)}
	note, err := hashchain.SignCheckpoint(cp, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	f.raw(fmt.Sprintf(`INSERT INTO checkpoints (id, size, root, note, created_at) VALUES (3, 11, X'%x', '%s', '2024-05-01T12:00:00.000Z')`, cp.Root[:], note))
	f.reopen()
	if _, err := f.l.Prove(f.ctx, 10); !errors.Is(err, ledger.ErrInconsistent) || !errors.Is(err, leaf.ErrDuplicateMember) {
		t.Errorf("prove the forged row: %v", err)
	}
	if _, err := f.l.Prove(f.ctx, 3); err != nil {
		t.Errorf("prove a genuine row: %v", err)
	}
}

// TestVerifyCheckpointIDs: a deleted stored checkpoint (not the last) is a
// finding naming the missing id; custody checkpoint and prove refuse.
func TestVerifyCheckpointIDs(t *testing.T) {
	f, ext := buildTamperFixture(t)
	f.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id = 1`)
	f.reopen()
	rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || len(rep.Findings) != 1 || rep.First().Check != verify.CheckCheckpointID || rep.First().Checkpoint != "stored #1" {
		t.Fatalf("findings %v", rep.Findings)
	}
	t.Log(rep.First())
	f.appendN(1)
	if _, err := f.l.Checkpoint(f.ctx, f.signer); !errors.Is(err, ledger.ErrInconsistent) || !strings.Contains(err.Error(), "#1 is missing") {
		t.Errorf("checkpoint: %v", err)
	}
	if _, err := f.l.Prove(f.ctx, 2); !errors.Is(err, ledger.ErrInconsistent) {
		t.Errorf("prove: %v", err)
	}
}

// TestVerifyOneBreakOneFinding: one deleted entry is one finding, with a
// count of what fails because of it, not one finding per later entry.
func TestVerifyOneBreakOneFinding(t *testing.T) {
	f := newFixture(t)
	f.appendN(100)
	f.checkpoint()
	f.appendN(400)
	cp := f.checkpoint()
	f.raw(`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 50`)
	f.reopen()
	rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: cp.Note}}})
	if len(rep.Findings) != 1 {
		t.Fatalf("%d findings: %v", len(rep.Findings), rep.Findings)
	}
	first := rep.First()
	// Entries 51 to 499 are out of place; 51's chain link lost its
	// predecessor; both checkpoints (and the outside copy) no longer hold.
	if first.Check != verify.CheckSequence || *first.Seq != 50 || first.ConsequentEntries != 449 || first.ConsequentCheckpoints != 3 {
		t.Fatalf("finding %s %+v", first, first)
	}
	if want := "; and 449 entries and 3 checkpoints after it fail because of it"; !strings.HasSuffix(first.String(), want) {
		t.Errorf("%q lacks %q", first, want)
	}
}

// TestVerifyRebuiltLedger: a ledger rebuilt under another identity (a new
// ledger id and key, the same entries) verified with the original key and
// the checkpoint kept outside is a finding, not an error: the identity,
// and the outside checkpoint is still read.
func TestVerifyRebuiltLedger(t *testing.T) {
	orig, ext := buildTamperFixture(t)
	key := orig.l.VerifierKey()
	rebuilt := newFixture(t)
	rebuilt.appendN(4)
	rebuilt.checkpoint()
	rebuilt.appendN(5) // one entry short: the outside checkpoint shows it
	rebuilt.checkpoint()
	rep := rebuilt.verify(verify.Options{VerifierKey: key, External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != verify.CheckIdentity {
		t.Fatalf("findings %v", rep.Findings)
	}
	if len(rep.Findings) != 2 || rep.Findings[1].Check != verify.CheckTruncated || rep.Findings[1].Checkpoint != "outside.note" {
		t.Errorf("the outside checkpoint was not compared: %v", rep.Findings)
	}
	t.Log(rep.Findings)
	// With the rebuilt ledger's own key, the outside checkpoint names the
	// identity it belongs to.
	rep = rebuilt.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != verify.CheckExternalCheckpoint || !strings.Contains(rep.First().Message, "rebuilt under another identity") {
		t.Fatalf("findings %v", rep.Findings)
	}
}

// damage makes the ledger file unreadable from the page holding entry
// seq's leaf on: the page's type byte is set to one SQLite does not know.
func (f *fixture) damage(seq int) {
	f.t.Helper()
	f.l.Close()
	f.l = nil
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	// The message id of entry seq, as message() makes it.
	snapID := fmt.Sprintf(`"message_id":"%s"`, message(fmt.Sprintf("conv-%02d", seq%4), seq, hashchain.Hash{}).MessageID)
	i := bytes.Index(data, []byte(snapID))
	if i < 0 {
		f.t.Fatal("entry not in the main file")
	}
	pageSize := int(binary.BigEndian.Uint16(data[16:18])) // the SQLite header's page size; 1 means 65536
	if pageSize == 1 {
		pageSize = 65536
	}
	page := i / pageSize * pageSize
	copy(data[page:page+8], []byte{0x77, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := os.WriteFile(f.path, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.reopen()
}

// TestVerifyDamagedFile: a page SQLite cannot read is a finding naming
// where reading stopped, not an error.
func TestVerifyDamagedFile(t *testing.T) {
	f := newFixture(t)
	f.appendN(300)
	f.checkpoint()
	f.damage(150)
	rep := f.verify(verify.Options{})
	if rep.OK || rep.First().Check != verify.CheckDamaged || rep.First().Seq == nil {
		t.Fatalf("findings %v", rep.Findings)
	}
	if len(rep.Findings) != 1 || rep.First().ConsequentCheckpoints != 1 {
		t.Errorf("findings %v", rep.Findings)
	}
	t.Log(rep.First())
}

// TestIndependentLedgerVerifier runs the Python verifier printed in
// docs/ledger-format.md — written from the page, not from this code — on
// every tamper of this package's tests: it must reach custody's verdict
// and name the same first failure.
func TestIndependentLedgerVerifier(t *testing.T) {
	python := needtool.Python(t)
	dir := t.TempDir()
	script := appendix.Script(t, dir)
	extFile := filepath.Join(dir, "outside.note")

	// agree runs both verifiers and compares verdicts and first failures.
	agree := func(t *testing.T, f *fixture, key string, ext []byte) {
		t.Helper()
		opts := verify.Options{VerifierKey: key}
		args := []string{script, "ledger", f.path, key}
		if ext != nil {
			if err := os.WriteFile(extFile, ext, 0o644); err != nil {
				t.Fatal(err)
			}
			opts.External = []verify.ExternalCheckpoint{{Name: extFile, Note: ext}}
			args = append(args, extFile)
		}
		rep := f.verify(opts)
		out, err := exec.Command(python, args...).CombinedOutput()
		var pyErr *exec.ExitError
		if err != nil && !errors.As(err, &pyErr) {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		code, want := 0, 0 // custody verify's exit status: OK 0, FAIL 3, UNSIGNED 4
		if pyErr != nil {
			code = pyErr.ExitCode()
		}
		switch {
		case !rep.Holds():
			want = 3
		case rep.Unsigned != nil:
			want = 4
		}
		if code != want {
			t.Fatalf("custody says OK=%v (%v, unsigned %+v): exit %d; the independent verifier exits %d:\n%s", rep.OK, rep.Findings, rep.Unsigned, want, code, out)
		}
		if rep.Holds() {
			verdict := "OK"
			if u := rep.Unsigned; u != nil {
				verdict = "UNSIGNED"
				if want := fmt.Sprintf("coverage: entries %d to %d are covered by no signed checkpoint: ", u.First, u.Last); len(lines) < 2 || !strings.HasPrefix(lines[1], want) {
					t.Fatalf("independent verifier:\n%s\nwant a second line starting %q", out, want)
				}
			}
			if want := fmt.Sprintf("%s %d %s", verdict, rep.Entries, rep.Root); lines[0] != want {
				t.Fatalf("independent verifier %q, want %q", lines[0], want)
			}
			t.Logf("both: %s", lines[0])
			return
		}
		first := rep.First()
		where := "ledger"
		switch {
		case first.Seq != nil:
			where = fmt.Sprintf("seq %d", *first.Seq)
		case first.Checkpoint != "":
			where = "checkpoint " + first.Checkpoint
		}
		if want := fmt.Sprintf("FAIL %s: %s: ", where, first.Check); !strings.HasPrefix(lines[0], want) {
			t.Fatalf("custody's first failure is %s; the independent verifier's:\n%s", first, out)
		}
		// The lookup aids are judged alike: custody lists each columns
		// failure and the one index failure, as the appendix does.
		var mine, theirs []string
		for _, fd := range rep.Findings {
			if fd.Check == verify.CheckColumns || fd.Check == verify.CheckIndex {
				mine = append(mine, fmt.Sprintf("seq %d: %s", *fd.Seq, fd.Check))
			}
		}
		for _, l := range lines {
			if m := lookupFail.FindStringSubmatch(l); m != nil {
				theirs = append(theirs, m[1])
			}
		}
		if strings.Join(mine, "\n") != strings.Join(theirs, "\n") {
			t.Fatalf("custody's columns and index failures are %q; the independent verifier's %q:\n%s", mine, theirs, out)
		}
		t.Logf("both: %s", lines[0])
	}

	t.Run("untouched", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		agree(t, f, f.l.VerifierKey(), ext)
	})
	for _, tc := range tamperMatrix {
		t.Run(tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	// The lookup columns and the message index, which no hash covers.
	for _, tc := range lookupTampers {
		t.Run("lookup aids: "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	for _, tc := range lookupParity {
		t.Run("lookup aids: "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			rep := f.verify(verify.Options{})
			if tc.check == "" && !rep.OK {
				t.Fatalf("custody: %v", rep.Findings)
			}
			if first := rep.First(); tc.check != "" && (first.Check != tc.check || first.Seq == nil || *first.Seq != tc.seq) {
				t.Fatalf("custody's first failure is %s, want seq %d: %s", first, tc.seq, tc.check)
			}
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	t.Run("lookup aids: an entry without a message id", func(t *testing.T) {
		// A column set where the leaf has no member, and an index row
		// for an entry with no message id: both wrong, at that entry.
		f, ext := buildTamperFixture(t)
		if _, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindConversation, ConversationID: "conv-09", RunID: "run-0001"}); err != nil {
			t.Fatal(err)
		}
		f.checkpoint()
		f.raw(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET message_id = 'conv-09-msg' WHERE seq = 10`,
			`INSERT INTO message_keys_recent (key, seq) VALUES (42, 10)`)
		f.reopen()
		rep := f.verify(verify.Options{})
		if len(rep.Findings) != 2 || rep.Findings[0].Check != verify.CheckColumns || rep.Findings[1].Check != verify.CheckIndex {
			t.Fatalf("custody: %v", rep.Findings)
		}
		agree(t, f, f.l.VerifierKey(), ext)
	})
	// Values of another type than custody writes, once STRICT is taken
	// off (writable_schema): a column stored as a BLOB of its leaf's
	// member's bytes is no copy of it, and an index row whose key is
	// text matches no lookup (the entry's row is missing).
	t.Run("lookup aids: values of another type", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		f.raw(`PRAGMA writable_schema = ON`,
			`UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'entries'`,
			`UPDATE sqlite_schema SET sql = replace(replace(sql, ') STRICT, WITHOUT ROWID', ') WITHOUT ROWID'), 'key INTEGER', 'key') WHERE name = 'message_keys_recent'`)
		f.raw(`DROP TRIGGER entries_append_only_update`,
			`UPDATE entries SET message_id = CAST(message_id AS BLOB) WHERE seq = 5`,
			`UPDATE message_keys_recent SET key = CAST(key AS TEXT) WHERE seq = 3`)
		f.reopen()
		rep := f.verify(verify.Options{})
		if len(rep.Findings) != 2 || rep.Findings[0].Check != verify.CheckIndex || rep.Findings[1].Check != verify.CheckColumns {
			t.Fatalf("custody: %v", rep.Findings)
		}
		agree(t, f, f.l.VerifierKey(), ext)
	})
	// A leaf, leaf hash or chain link stored as TEXT of its own bytes,
	// once STRICT is taken off: the hashes still hold, but the row is not
	// what custody writes (docs/ledger-format.md, step 3: row).
	for name, col := range map[string]string{"leaf": "leaf", "leaf_hash": "leaf_hash", "chain": "chain"} {
		t.Run("hashed columns: "+name+" stored as text", func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			// The length CHECKs go too: length() of TEXT counts characters.
			f.raw(`PRAGMA writable_schema = ON`,
				`UPDATE sqlite_schema SET sql = replace(replace(replace(sql, ') STRICT', ')'), 'CHECK (length(leaf_hash) = 32)', ''), 'CHECK (length(chain) = 32)', '') WHERE name = 'entries'`)
			f.raw(`DROP TRIGGER entries_append_only_update`,
				`UPDATE entries SET `+col+` = CAST(`+col+` AS TEXT) WHERE seq = 5`)
			f.reopen()
			rep := f.verify(verify.Options{})
			if rep.Holds() || rep.First().Check != verify.CheckRow || rep.First().Seq == nil || *rep.First().Seq != 5 {
				t.Fatalf("custody: %v", rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	// A NULL leaf, once NOT NULL is taken off too: a damaged row (step 6),
	// where both stop reading.
	t.Run("hashed columns: leaf NULL", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		f.raw(`PRAGMA writable_schema = ON`,
			`UPDATE sqlite_schema SET sql = replace(replace(sql, ') STRICT', ')'), 'BLOB    NOT NULL,', 'BLOB,') WHERE name = 'entries'`)
		f.raw(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = NULL WHERE seq = 5`)
		f.reopen()
		rep := f.verify(verify.Options{})
		if rep.Holds() || rep.First().Check != verify.CheckDamaged || rep.First().Seq == nil || *rep.First().Seq != 5 {
			t.Fatalf("custody: %v", rep.Findings)
		}
		agree(t, f, f.l.VerifierKey(), ext)
	})
	// An entry's supersedes names an earlier entry of its kind,
	// conversation and message (TestVerifySupersedesRule).
	for name, supersedes := range map[string]uint64{"a re-capture of the same message": 0, "another message's capture": 1, "a later entry": 9} {
		t.Run("supersedes: "+name, func(t *testing.T) {
			f := newFixture(t)
			e := f.appendN(4)[0]
			e.Seq, e.Supersedes = 4, &supersedes
			forged, err := e.AppendLeaf(nil)
			if err != nil {
				t.Fatal(err)
			}
			f.forgeRow(forged)
			if rep := f.verify(verify.Options{}); rep.Holds() != (supersedes == 0) {
				t.Fatalf("custody: %v", rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), nil)
		})
	}
	// A version 1 file (read as it is, read-only) has levels 0 and 7
	// alone: both read those, and no table of a middle level it holds.
	for _, tc := range []struct {
		name string
		sql  []string
		ok   bool
	}{
		{"a row in level 7", []string{`INSERT INTO message_keys SELECT key, seq FROM message_keys_recent WHERE seq = 8`, `DELETE FROM message_keys_recent WHERE seq = 8`}, true},
		{"a row deleted", []string{`DELETE FROM message_keys_recent WHERE seq = 6`}, false},
		{"a row twice, in level 7", []string{`INSERT INTO message_keys SELECT key, seq FROM message_keys_recent WHERE seq = 8`}, false},
		{"a row in a middle level's table", []string{`CREATE TABLE message_keys_3 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID`,
			`INSERT INTO message_keys_3 SELECT key, seq FROM message_keys_recent WHERE seq = 8`}, true},
	} {
		t.Run("lookup aids: version 1 file, "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			var v1 []string
			for i := 1; i <= 6; i++ {
				v1 = append(v1, fmt.Sprintf(`INSERT INTO message_keys SELECT key, seq FROM message_keys_%d`, i), fmt.Sprintf(`DROP TABLE message_keys_%d`, i))
			}
			f.raw(append(append(v1, `PRAGMA user_version = 1`), tc.sql...)...)
			l, err := ledger.Open(f.ctx, f.path, ledger.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			f.l = l
			if rep := f.verify(verify.Options{}); rep.Holds() != tc.ok {
				t.Fatalf("custody: %v", rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	g := string(genuineLeaf(t))
	for _, tc := range strictTampers {
		t.Run(tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.forgeRow([]byte(tc.leaf(g)))
			agree(t, f, f.l.VerifierKey(), ext)
		})
	}
	// A file cut short inside a page reads back as zero-filled rows of
	// seq 0: damage at the first entry not read, for both.
	for _, cut := range []int64{5000, 12288} {
		t.Run(fmt.Sprintf("file cut short by %d bytes", cut), func(t *testing.T) {
			f := cutShortFixture(t, cut)
			agree(t, f, f.l.VerifierKey(), nil)
		})
	}
	// The signed-note grammar (docs/ledger-format.md, "Signed notes,
	// exactly"), on a checkpoint file and on a stored checkpoint: both
	// verifiers accept and refuse the same notes.
	for _, tc := range noteGrammarCases {
		t.Run("checkpoint file: "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			edited := []byte(tc.edit(string(ext)))
			rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: extFile, Note: edited}}})
			if rep.OK != tc.file {
				t.Fatalf("custody says OK=%v, want %v: %v", rep.OK, tc.file, rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), edited)
		})
		t.Run("stored checkpoint: "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(`DROP TRIGGER checkpoints_append_only_update`,
				fmt.Sprintf(`UPDATE checkpoints SET note = CAST(X'%x' AS TEXT) WHERE id = 2`, tc.edit(string(ext))))
			f.reopen()
			if rep := f.verify(verify.Options{}); rep.OK != tc.stored {
				t.Fatalf("custody says OK=%v, want %v: %v", rep.OK, tc.stored, rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), nil)
		})
	}
	// Extension lines, in checkpoint files signed with the ledger's own
	// key: "erasure <seq>" below the size is accepted by both verifiers,
	// any other refused by both.
	for _, tc := range []struct {
		name, line string
		ok         bool
	}{
		{"erasure line", "erasure 3", true},
		{"erasure line of the last entry", "erasure 9", true},
		{"erasure line at the size", "erasure 10", false},
		{"erasure line with a leading zero", "erasure 03", false},
		{"erasure line, two spaces", "erasure  3", false},
		{"two erasure lines", "erasure 3\nerasure 4", false},
		{"another extension line", "witness-note 3", false},
	} {
		t.Run("signed extension: "+tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			cp, err := ledger.NoteCheckpoint(ext)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := note.NewSigner(f.signer)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := note.Sign(&note.Note{Text: string(cp.Body()) + tc.line + "\n"}, signer)
			if err != nil {
				t.Fatal(err)
			}
			if rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: extFile, Note: signed}}}); rep.OK != tc.ok {
				t.Fatalf("custody says OK=%v, want %v: %v", rep.OK, tc.ok, rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), signed)
		})
	}
	t.Run("stored checkpoint vouching for an erasure", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		raw, err := leaf.EncodeDetail(&leaf.ErasureDetail{Conversations: []string{}, Messages: []string{}, Partial: []string{},
			Erased: []string{}, Kept: []leaf.ErasedKept{}, Collateral: []string{}, Operator: "u", Reason: "DSR-1"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.l.Append(f.ctx, leaf.Entry{Kind: leaf.KindErasure, Detail: raw})
		if err != nil {
			t.Fatal(err)
		}
		if cp, err := f.l.CheckpointErasure(f.ctx, f.signer, out[0].Seq); err != nil || !cp.HasErasure {
			t.Fatalf("%+v, %v", cp, err)
		}
		agree(t, f, f.l.VerifierKey(), ext)
	})
	t.Run("checkpoint row deleted", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		f.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id = 1`)
		f.reopen()
		agree(t, f, f.l.VerifierKey(), ext)
	})
	t.Run("checkpoint re-signed with another key", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		cps, _ := f.l.Checkpoints(f.ctx)
		sameName, _, _ := hashchain.GenerateKey(f.l.Origin())
		forged, _ := hashchain.SignCheckpoint(cps[0].Checkpoint, sameName)
		f.raw(`DROP TRIGGER checkpoints_append_only_update`, fmt.Sprintf(`UPDATE checkpoints SET note = '%s' WHERE id = 1`, forged))
		f.reopen()
		agree(t, f, f.l.VerifierKey(), ext)
	})
	t.Run("verifier key of another ledger", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		_, other, _ := hashchain.GenerateKey("custody/someone-else")
		agree(t, f, other, ext)
	})
	t.Run("ledger rebuilt under another identity", func(t *testing.T) {
		orig, ext := buildTamperFixture(t)
		rebuilt := newFixture(t)
		rebuilt.appendN(10)
		rebuilt.checkpoint()
		agree(t, rebuilt, orig.l.VerifierKey(), ext)
		agree(t, rebuilt, rebuilt.l.VerifierKey(), ext)
	})
	t.Run("one entry deleted", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		f.raw(`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 2`)
		f.reopen()
		agree(t, f, f.l.VerifierKey(), ext)
	})
	t.Run("migrated, v1 and v3 leaves", func(t *testing.T) {
		f := buildMixedFixture(t)
		agree(t, f, f.l.VerifierKey(), nil)
	})
	for name, edit := range map[string]func(string) string{
		"v3 leaf with a phone number in clear": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","from":"+15555550100",`, 1)
		},
		"v3 leaf without a commitment": func(l string) string {
			return strings.Replace(l, `"to_commitment"`, `"to_commitmenx"`, 1)
		},
		"v1 leaf relabelled v3": func(string) string { return strings.Replace(g, `"v":1}`, `"v":3}`, 1) },
		// Every member of a v3 detail the format names is of its type,
		// never null (docs/ledger-format.md, "Salts and commitments").
		"v3 leaf with from null": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","from":null,`, 1)
		},
		"v3 leaf with date_deleted null": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"date_deleted":null,"direction":"inbound",`, 1)
		},
		"v3 leaf with direction a number": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":5,`, 1)
		},
		"v3 leaf with media a string": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","media":"x",`, 1)
		},
		"v3 leaf with media null": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","media":null,`, 1)
		},
		"v3 leaf with a media element null": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","media":[null],`, 1)
		},
		"v3 leaf with a media id a number": func(l string) string {
			return strings.Replace(l, `"direction":"inbound",`, `"direction":"inbound","media":[{"id":5}],`, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := buildMixedFixture(t)
			e, _ := saltedMessage("conv-09", 99, hashchain.Hash(sha256.Sum256([]byte("evidence"))))
			e.Matter, e.At = "acme-v-smith", t0
			lb, err := e.AppendLeaf(nil)
			if err == nil && leaf.CheckLeaf(lb) != nil {
				t.Fatalf("the genuine leaf is not strict: %v", leaf.CheckLeaf(lb))
			}
			if err != nil {
				t.Fatal(err)
			}
			forged := []byte(edit(string(lb)))
			if c, err := hashchain.Canonicalize(forged); err == nil {
				forged = c
			}
			f.forgeRow(forged)
			rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey()})
			if rep.OK || rep.First().Check != verify.CheckEntry {
				t.Fatalf("custody: %v", rep.Findings)
			}
			agree(t, f, f.l.VerifierKey(), nil)
		})
	}
	t.Run("nested 10,000 levels", func(t *testing.T) {
		// As deep as a leaf may nest: good for both.
		f, ext := buildTamperFixture(t)
		f.forgeRow([]byte(nest(g, 10000)))
		if rep := f.verify(verify.Options{}); !rep.Holds() {
			t.Fatalf("custody: %v", rep.Findings)
		}
		agree(t, f, f.l.VerifierKey(), ext)
	})
	// Entries no signed checkpoint covers: UNSIGNED for both (exit 4),
	// never OK, and the auditor's own key changes nothing.
	t.Run("unsigned: an entry appended after the last checkpoint", func(t *testing.T) {
		f, ext := buildTamperFixture(t)
		f.forgeRow([]byte(g))
		if rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: extFile, Note: ext}}}); rep.OK || rep.Unsigned == nil || rep.Unsigned.First != 10 || rep.Unsigned.Last != 10 {
			t.Fatalf("custody: ok %v, unsigned %+v", rep.OK, rep.Unsigned)
		}
		agree(t, f, f.l.VerifierKey(), ext)
		agree(t, f, f.l.VerifierKey(), nil)
	})
	t.Run("unsigned: every checkpoint deleted", func(t *testing.T) {
		f, _ := buildTamperFixture(t)
		f.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints`)
		f.reopen()
		if rep := f.verify(verify.Options{}); rep.OK || rep.Unsigned == nil || !rep.Unsigned.NoCheckpoint || rep.Unsigned.First != 0 || rep.Unsigned.Last != 9 {
			t.Fatalf("custody: ok %v, unsigned %+v", rep.OK, rep.Unsigned)
		}
		agree(t, f, f.l.VerifierKey(), nil)
	})
	t.Run("unsigned: the last checkpoint deleted, its file kept outside", func(t *testing.T) {
		// The checkpoint file covers what no stored checkpoint does: OK.
		f, ext := buildTamperFixture(t)
		f.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id = 2`)
		f.reopen()
		if rep := f.verify(verify.Options{External: []verify.ExternalCheckpoint{{Name: extFile, Note: ext}}}); !rep.OK {
			t.Fatalf("custody: %v, unsigned %+v", rep.Findings, rep.Unsigned)
		}
		agree(t, f, f.l.VerifierKey(), ext)
		agree(t, f, f.l.VerifierKey(), nil)
	})
	t.Run("v3 leaf with an unknown detail member null", func(t *testing.T) {
		// Members the format does not name may hold anything.
		f := buildMixedFixture(t)
		e, _ := saltedMessage("conv-09", 99, hashchain.Hash(sha256.Sum256([]byte("evidence"))))
		e.Matter, e.At = "acme-v-smith", t0
		lb, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		f.forgeRow([]byte(strings.Replace(string(lb), `"direction":"inbound",`, `"direction":"inbound","extra":null,`, 1)))
		if rep := f.verify(verify.Options{VerifierKey: f.l.VerifierKey()}); !rep.Holds() {
			t.Fatalf("custody: %v", rep.Findings)
		}
		agree(t, f, f.l.VerifierKey(), nil)
	})
	t.Run("damaged file", func(t *testing.T) {
		f := newFixture(t)
		f.appendN(300)
		cp := f.checkpoint()
		f.damage(150)
		agree(t, f, f.l.VerifierKey(), cp.Note)
	})
}

// lookupFail is a FAIL line of the appendix's verifier for the lookup
// columns or the message index; m[1] is "seq N: check".
var lookupFail = regexp.MustCompile(`^FAIL (seq [0-9]+: (?:columns|index)): `)

// lookupParity are tampers of the lookup aids beside other breaks, and
// index rows that are not judged; check and seq are custody's first
// failure ("" for none), which the appendix must name too.
var lookupParity = []struct {
	name  string
	sql   []string
	check string
	seq   uint64
}{
	{"index row of an entry past the end", []string{`INSERT INTO message_keys_recent (key, seq) VALUES (42, 50)`}, "", 0},
	{"index row wrong below a deleted entry", []string{`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 5`,
		`DELETE FROM message_keys_recent WHERE seq = 3`}, verify.CheckIndex, 3},
	{"index row of a deleted entry", []string{`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 5`,
		`UPDATE message_keys_recent SET key = key + 1 WHERE seq = 5`}, verify.CheckSequence, 5},
	{"column wrong above a deleted entry", []string{`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER entries_append_only_update`,
		`DELETE FROM entries WHERE seq = 3`, `UPDATE entries SET kind = 'hold' WHERE seq = 6`}, verify.CheckSequence, 3},
	{"leaf and its run_id column changed", []string{`DROP TRIGGER entries_append_only_update`,
		`UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'run-0001', 'run-0002') AS BLOB) WHERE seq = 6`}, verify.CheckLeafHash, 6},
	{"index row of a leaf made not strict", []string{`DROP TRIGGER entries_append_only_update`,
		`UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), '{"at"', '{ "at"') AS BLOB) WHERE seq = 6`,
		`DELETE FROM message_keys_recent WHERE seq = 6`, `UPDATE entries SET run_id = '' WHERE seq = 6`}, verify.CheckLeafHash, 6},
	{"index row wrong after a column", []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET run_id = NULL WHERE seq = 2`,
		`UPDATE message_keys_recent SET key = key + 1 WHERE seq = 7`}, verify.CheckColumns, 2},
	{"a column's text not UTF-8", []string{`DROP TRIGGER entries_append_only_update`,
		`UPDATE entries SET conversation_id = CAST(X'ff' AS TEXT) WHERE seq = 4`}, verify.CheckColumns, 4},
}

// cutShortFixture is a ledger of 400 entries and a checkpoint whose file
// has lost its last cut bytes, reopened.
func cutShortFixture(t *testing.T, cut int64) *fixture {
	t.Helper()
	f := newFixture(t)
	f.appendN(400)
	f.checkpoint()
	f.l.Close()
	f.l = nil
	st, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.path, st.Size()-cut); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	return f
}

// TestVerifyFileCutShort: a ledger file cut short inside its last page
// reads back (SQLite zero-fills the missing bytes) as rows whose seq goes
// back to 0. That is damage at the first entry that could not be read,
// never a finding about entry 0, which is intact.
func TestVerifyFileCutShort(t *testing.T) {
	for _, cut := range []int64{4096, 5000, 8192, 10000, 12288, 16000} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			f := cutShortFixture(t, cut)
			rep := f.verify(verify.Options{})
			if rep.OK {
				t.Fatalf("a file cut short verifies OK")
			}
			for _, fd := range rep.Findings {
				if fd.Seq != nil && *fd.Seq == 0 {
					t.Errorf("a finding names the intact entry 0: %v", fd)
				}
			}
			first := rep.First()
			if first.Check != verify.CheckDamaged || first.Seq == nil || *first.Seq != rep.Entries {
				t.Errorf("first finding %v (read %d entries), want damaged at the first entry not read", first, rep.Entries)
			}
			t.Log(rep.Findings)
		})
	}
}

// noteGrammarCases are edits of a genuine checkpoint note and whether the
// note is then good as a checkpoint file (CRLF and a missing final newline
// are normalised there) and as a stored checkpoint.
var noteGrammarCases = []struct {
	name         string
	edit         func(note string) string
	file, stored bool
}{
	{"as signed", func(n string) string { return n }, true, true},
	{"CRLF line endings", func(n string) string { return strings.ReplaceAll(n, "\n", "\r\n") }, true, false},
	{"no final newline", func(n string) string { return strings.TrimSuffix(n, "\n") }, true, false},
	{"CRLF line endings, no final newline", func(n string) string {
		return strings.TrimSuffix(strings.ReplaceAll(n, "\n", "\r\n"), "\r\n")
	}, true, false},
	{"a lone CR", func(n string) string { return strings.Replace(n, "\n", "\r", 1) }, false, false},
	{"a TAB", func(n string) string { return strings.Replace(n, "\n\n", "\n\t\n", 1) }, false, false},
	{"a blank line after the signatures", func(n string) string { return n + "\n" }, false, false},
	{"a junk line", func(n string) string { return n + "- foo AAAAAAAA\n" }, false, false},
	{"a signature of 3 bytes", func(n string) string { return n + "— foo AAAA\n" }, false, false},
	{"a signature that is not base64", func(n string) string { return n + "— foo AAAAAAA\n" }, false, false},
	{"an unknown signer", func(n string) string { return n + "— foo AAAAAAAA\n" }, true, true},
	{"an unknown signer named with '+'", func(n string) string { return n + "— a+b AAAAAAAA\n" }, false, false},
	{"an unknown signer named with a no-break space", func(n string) string { return n + "— a\u00a0b AAAAAAAA\n" }, false, false},
	{"100 signature lines", func(n string) string { return n + strings.Repeat("— foo AAAAAAAA\n", 99) }, true, true},
	{"101 signature lines", func(n string) string { return n + strings.Repeat("— foo AAAAAAAA\n", 100) }, false, false},
	{"a second, invalid signature by the ledger's key", func(n string) string { return n + ledgerKeyJunk(n) }, true, true},
	{"an invalid signature by the ledger's key before the valid one", func(n string) string {
		i := strings.LastIndex(n, "\n\n") + 2
		return n[:i] + ledgerKeyJunk(n) + n[i:]
	}, false, false},
}

// ledgerKeyJunk is a signature line under the name and key hash of the
// note's (first) signature, whose signature is 64 zero bytes.
func ledgerKeyJunk(note string) string {
	i := strings.LastIndex(note, "\n\n") + 2
	line, _, _ := strings.Cut(note[i:], "\n")
	f := strings.Fields(line)
	sig, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil {
		panic(err)
	}
	return "— " + f[1] + " " + base64.StdEncoding.EncodeToString(append(sig[:4:4], make([]byte, 64)...)) + "\n"
}
