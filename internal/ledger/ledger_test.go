package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	custody "github.com/custodyhq/custody"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

func TestCreateAndOpen(t *testing.T) {
	f := newFixture(t)
	if !strings.HasPrefix(f.l.Origin(), "custody/") || f.l.Origin() != "custody/"+f.l.ID() {
		t.Errorf("origin %q, id %q", f.l.Origin(), f.l.ID())
	}
	if f.l.Matter() != "acme-v-smith" {
		t.Errorf("matter %q", f.l.Matter())
	}
	if !strings.HasPrefix(f.l.VerifierKey(), f.l.Origin()+"+") {
		t.Errorf("verifier key %q is not named after the origin", f.l.VerifierKey())
	}
	if !strings.HasPrefix(f.signer, "PRIVATE+KEY+"+f.l.Origin()+"+") {
		t.Errorf("signer key is not a note signer key for the origin")
	}
	origin := f.l.Origin()
	f.reopen()
	if f.l.Origin() != origin || f.l.Matter() != "acme-v-smith" {
		t.Errorf("after reopen: origin %q matter %q", f.l.Origin(), f.l.Matter())
	}
	var mode string
	if err := f.l.rdb.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v", mode, err)
	}
	var sync int
	if err := f.l.wdb.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d, %v; want 2 (FULL)", sync, err)
	}
	var fk int
	if err := f.l.wdb.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d, %v", fk, err)
	}

	// Create refuses an existing file and leaves it alone.
	f.l.Close()
	f.l = nil
	before := fileBytes(t, f.path)
	if _, _, err := Create(f.ctx, f.path, "other", Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("Create over a ledger: %v, want ErrExists", err)
	}
	sameBytes(t, before, f.path)
}

func TestCreateRejectsBadMatter(t *testing.T) {
	dir := t.TempDir()
	for _, m := range []string{"", "  ", "bad\xff"} {
		p := filepath.Join(dir, "x.db")
		if _, _, err := Create(context.Background(), p, m, Options{}); err == nil {
			t.Errorf("Create with matter %q succeeded", m)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("matter %q: file left behind: %v", m, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// A ledger with a newer schema version.
	newer := newFixture(t)
	newer.appendN(3)
	newer.raw(fmt.Sprintf(`PRAGMA user_version = %d`, custody.SchemaVersion+1))

	// A ledger from a development build whose message index was still
	// an index on entries.
	prerelease := newFixture(t)
	prerelease.appendN(3)
	prerelease.raw(`DROP TABLE message_keys`, `DROP TABLE message_keys_recent`,
		`CREATE INDEX entries_by_message ON entries (message_id, seq) WHERE message_id IS NOT NULL`)

	// A plain SQLite database (rollback journal, no application id).
	plain := filepath.Join(dir, "plain.db")
	db, err := sql.Open("sqlite3", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Some other WAL database.
	otherWAL := filepath.Join(dir, "other.db")
	db, err = sql.Open("sqlite3", otherWAL+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.db", []byte(strings.Repeat("not a database at all\n", 300)))
	empty := write("empty.db", nil)
	short := write("short.db", []byte("SQLite format 3\x00abc"))

	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "missing.db"), ErrNotExist},
		{"directory", dir, ErrNotLedger},
		{"garbage", garbage, ErrNotLedger},
		{"empty", empty, ErrNotLedger},
		{"short", short, ErrNotLedger},
		{"plain sqlite", plain, ErrNotLedger},
		{"other wal database", otherWAL, ErrNotLedger},
		{"newer schema", newer.path, ErrNewerSchema},
		{"pre-release schema", prerelease.path, ErrNotLedger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before []byte
			if tc.name != "directory" {
				before = fileBytes(t, tc.path)
			}
			l, err := Open(ctx, tc.path, Options{})
			if err == nil {
				l.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			t.Log(err)
			if tc.name == "missing" {
				if _, err := os.Stat(tc.path); !os.IsNotExist(err) {
					t.Errorf("Open created the missing ledger: %v", err)
				}
				return
			}
			if tc.name != "directory" {
				sameBytes(t, before, tc.path)
			}
		})
	}
}

// TestCorruptPages damages a real ledger in several ways: every operation
// must fail with an error (no panic) and leave the file as it was.
func TestCorruptPages(t *testing.T) {
	f := newFixture(t)
	f.appendN(3000)
	f.checkpoint()
	f.l.Close()
	f.l = nil
	orig, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func(b []byte) []byte{
		"pages scrambled": func(b []byte) []byte {
			for i := 8192; i < len(b)-4096; i += 4096 {
				for j := 0; j < 64; j++ {
					b[i+j] ^= 0x5a
				}
			}
			return b
		},
		"tail pages zeroed": func(b []byte) []byte {
			clear(b[len(b)/2:])
			return b
		},
		"truncated to half": func(b []byte) []byte { return b[:len(b)/2/4096*4096] },
		"one page garbled":  func(b []byte) []byte { copy(b[len(b)*3/4:], strings.Repeat("x", 3000)); return b },
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(f.path, fn(append([]byte(nil), orig...)), 0o644); err != nil {
				t.Fatal(err)
			}
			before := fileBytes(t, f.path)
			defer sameBytes(t, before, f.path)
			l, err := Open(f.ctx, f.path, Options{})
			if err != nil {
				t.Logf("open: %v", err)
				return
			}
			defer l.Close()
			if rep := checkIntact(t, f.ctx, l); rep.OK {
				t.Error("a damaged ledger reads as intact")
			} else {
				t.Logf("first finding %v", rep.Findings[0])
			}
			for _, err := range l.Entries(f.ctx, Filter{}) {
				if err != nil {
					break
				}
			}
			l.Prove(f.ctx, 2500)
			l.Close()
		})
	}
}

func TestAppendAndRead(t *testing.T) {
	f := newFixture(t)
	in := []leaf.Entry{message("conv-a", 0), message("conv-a", 1), message("conv-b", 2)}
	in = append(in, leaf.Entry{Kind: leaf.KindRun, RunID: "run-0001", At: t0.Add(time.Hour), Detail: json.RawMessage(`{"event":"start","tool":"custody devel"}`)})
	out, err := f.l.Append(f.ctx, in...)
	if err != nil {
		t.Fatal(err)
	}
	prev := hashchain.ZeroHash
	for i, e := range out {
		if e.Seq != uint64(i) {
			t.Errorf("entry %d: seq %d", i, e.Seq)
		}
		if e.LeafHash != hashchain.LeafHash(e.Leaf) || e.Chain != hashchain.ChainLink(prev, e.LeafHash) {
			t.Errorf("entry %d: hashes not as specified", i)
		}
		prev = e.Chain
		if e.Matter != "acme-v-smith" {
			t.Errorf("entry %d: matter %q, want the ledger's", i, e.Matter)
		}
	}
	if !out[0].At.Equal(t0.Truncate(time.Millisecond)) {
		t.Errorf("at %v, want the clock truncated to ms", out[0].At)
	}
	head, err := f.l.Head(f.ctx)
	if err != nil || head.Size != 4 || head.Chain != out[3].Chain {
		t.Fatalf("head %+v, %v", head, err)
	}
	// Reading back decodes the stored leaf to the same entry.
	for _, want := range out {
		got, err := f.l.Entry(f.ctx, want.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Errorf("seq %d: read back\n%+v\nwant\n%+v", want.Seq, got, want)
		}
	}
	if _, err := f.l.Entry(f.ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Entry(99): %v", err)
	}
	byConv, err := f.l.EntriesByConversation(f.ctx, "conv-a")
	if err != nil || len(byConv) != 2 || byConv[0].Seq != 0 || byConv[1].Seq != 1 {
		t.Errorf("by conversation: %d entries, %v", len(byConv), err)
	}
	byMsg, err := f.l.EntriesByMessage(f.ctx, out[2].MessageID)
	if err != nil || len(byMsg) != 1 || byMsg[0].Seq != 2 {
		t.Errorf("by message: %v, %v", byMsg, err)
	}
	var kinds []string
	for e, err := range f.l.Entries(f.ctx, Filter{Kind: leaf.KindRun}) {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) != 1 {
		t.Errorf("kind filter: %v", kinds)
	}
	var n int
	for _, err := range f.l.Entries(f.ctx, Filter{FromSeq: 1, Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("limit: %d entries", n)
	}
	// A FromSeq past the end selects nothing, however large: not the
	// whole ledger, as one past math.MaxInt64 did when it wrapped to a
	// negative seq in SQL.
	for _, from := range []uint64{4, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
		for e, err := range f.l.Entries(f.ctx, Filter{FromSeq: from}) {
			t.Errorf("FromSeq %d: got seq %d (%v), want nothing", from, e.Seq, err)
		}
	}
	// Breaking out of the iteration early is fine.
	for range f.l.Entries(f.ctx, Filter{}) {
		break
	}
}

// normal makes entries comparable: times in UTC, empty detail as nil.
func normal(e leaf.Entry) leaf.Entry {
	e.At = e.At.UTC()
	if len(e.Detail) == 0 {
		e.Detail = nil
	} else {
		c, err := hashchain.Canonicalize(e.Detail)
		if err == nil {
			e.Detail = c
		}
	}
	return e
}

func TestAppendValidation(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	no := uint64(7)
	bad := map[string]func(e *leaf.Entry){
		"empty kind":             func(e *leaf.Entry) { e.Kind = "" },
		"upper-case kind":        func(e *leaf.Entry) { e.Kind = "Message" },
		"message without id":     func(e *leaf.Entry) { e.MessageID = "" },
		"message without conv":   func(e *leaf.Entry) { e.ConversationID = "" },
		"message without hash":   func(e *leaf.Entry) { e.PayloadSHA256 = hashchain.Hash{} },
		"message without compl.": func(e *leaf.Entry) { e.Compliance = nil },
		"invalid utf-8":          func(e *leaf.Entry) { e.MessageID = "m\xff" },
		"detail not an object":   func(e *leaf.Entry) { e.Detail = json.RawMessage(`[1,2]`) },
		"detail not json":        func(e *leaf.Entry) { e.Detail = json.RawMessage(`{"a":`) },
		"detail duplicate keys":  func(e *leaf.Entry) { e.Detail = json.RawMessage(`{"a":1,"a":2}`) },
		"source without method":  func(e *leaf.Entry) { e.Source.Method = "" },
		"supersedes the future":  func(e *leaf.Entry) { e.Supersedes = &no },
		"supersedes another msg": func(e *leaf.Entry) { s := uint64(0); e.Supersedes = &s },
		"year 10000":             func(e *leaf.Entry) { e.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			e := message("conv-z", 9)
			mutate(&e)
			// A good entry first: the whole batch must be refused.
			_, err := f.l.Append(f.ctx, message("conv-z", 8), e)
			if !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("Append: %v, want ErrInvalidEntry", err)
			}
			t.Log(err)
			if h, _ := f.l.Head(f.ctx); h.Size != 2 {
				t.Errorf("size %d after a refused batch, want 2", h.Size)
			}
		})
	}
}

func TestSupersedesAndLatestCapture(t *testing.T) {
	f := newFixture(t)
	first := message("conv-a", 1)
	if _, ok, err := f.l.LatestCapture(f.ctx, first.MessageID); ok || err != nil {
		t.Fatalf("LatestCapture before any: %v %v", ok, err)
	}
	out, err := f.l.Append(f.ctx, first, message("conv-a", 2))
	if err != nil {
		t.Fatal(err)
	}
	// An export re-capturing the message: unchanged → skip; changed →
	// append with supersedes, all inside one Update.
	capture := func(e leaf.Entry) (appended bool) {
		err := f.l.Update(f.ctx, func(tx *Tx) error {
			prev, ok, err := tx.LatestCapture(e.MessageID)
			if err != nil {
				return err
			}
			if ok && prev.PayloadSHA256 == e.PayloadSHA256 {
				return nil
			}
			if ok {
				e.Supersedes = &prev.Seq
			}
			_, err = tx.Append(e)
			appended = true
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return appended
	}
	if capture(message("conv-a", 1)) {
		t.Error("an unchanged capture was appended")
	}
	changed := message("conv-a", 1)
	changed.PayloadSHA256[0] ^= 1
	if !capture(changed) {
		t.Error("a changed capture was not appended")
	}
	latest, ok, err := f.l.LatestCapture(f.ctx, first.MessageID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if latest.Seq != 2 || latest.Supersedes == nil || *latest.Supersedes != out[0].Seq {
		t.Errorf("latest capture seq %d supersedes %v", latest.Seq, latest.Supersedes)
	}
	if !strings.Contains(string(latest.Leaf), `"supersedes":0`) {
		t.Errorf("leaf lacks supersedes: %s", latest.Leaf)
	}
	// A second change supersedes the latest, and supersedes within one
	// batch refers to an entry appended earlier in the same transaction.
	again := changed
	again.PayloadSHA256[1] ^= 1
	if !capture(again) {
		t.Error("second change not appended")
	}
	// Conversations have their own latest lookup.
	conv := leaf.Entry{Kind: leaf.KindConversation, ConversationID: "conv-a", PayloadSHA256: hashchain.Hash{1}}
	cs, err := f.l.Append(f.ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	err = f.l.Update(f.ctx, func(tx *Tx) error {
		c, ok, err := tx.LatestConversation("conv-a")
		if err != nil || !ok || c.Seq != cs[0].Seq {
			t.Errorf("LatestConversation: %+v %v %v", c.Seq, ok, err)
		}
		conv.Supersedes = &c.Seq
		_, err = tx.Append(conv)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateIsAtomic(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	err := f.l.Update(f.ctx, func(tx *Tx) error {
		if err := tx.PutRun(Run{ID: "r1", Kind: "export", Status: RunRunning}); err != nil {
			return err
		}
		if _, err := tx.Append(messages("conv-a", 3)...); err != nil {
			return err
		}
		if err := tx.SetState("cursor", "abc"); err != nil {
			return err
		}
		if h, _ := tx.Head(); h.Size != 3 {
			t.Errorf("head inside tx: %d", h.Size)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 0 {
		t.Errorf("entries survived a rolled-back Update: %d", h.Size)
	}
	if _, ok, _ := f.l.Run(f.ctx, "r1"); ok {
		t.Error("run survived a rolled-back Update")
	}
	if _, ok, _ := f.l.State(f.ctx, "cursor"); ok {
		t.Error("state survived a rolled-back Update")
	}
}

func TestRunsAndState(t *testing.T) {
	f := newFixture(t)
	err := f.l.Update(f.ctx, func(tx *Tx) error {
		if err := tx.PutRun(Run{ID: "r1", Kind: "export", Status: RunRunning, Scope: json.RawMessage(`{"interval":"x"}`)}); err != nil {
			return err
		}
		for _, id := range []string{"c2", "c1", "c3"} {
			if err := tx.PutRunItem(RunItem{RunID: "r1", ItemID: id, Status: ItemPending}); err != nil {
				return err
			}
		}
		if err := tx.PutRunItem(RunItem{RunID: "r1", ItemID: "c2", Status: ItemFailed, Reason: "503", Attempts: 2}); err != nil {
			return err
		}
		it, ok, err := tx.RunItem("r1", "c2")
		if err != nil || !ok || it.Attempts != 2 || it.Reason != "503" {
			t.Errorf("RunItem: %+v %v %v", it, ok, err)
		}
		return tx.SetState("evidence_url", "file:///tmp/ev")
	})
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := f.l.Run(f.ctx, "r1")
	if err != nil || !ok || r.Matter != "acme-v-smith" || string(r.Scope) != `{"interval":"x"}` || string(r.Accounting) != "{}" || !r.EndedAt.IsZero() {
		t.Fatalf("run: %+v %v %v", r, ok, err)
	}
	r.Status, r.EndedAt, r.Accounting = RunDone, t0.Add(time.Minute), json.RawMessage(`{"done":3}`)
	if err := f.l.Update(f.ctx, func(tx *Tx) error { return tx.PutRun(r) }); err != nil {
		t.Fatal(err)
	}
	r2, _, _ := f.l.Run(f.ctx, "r1")
	if r2.Status != RunDone || !r2.EndedAt.Equal(t0.Add(time.Minute).Truncate(time.Millisecond)) || string(r2.Accounting) != `{"done":3}` {
		t.Errorf("updated run: %+v", r2)
	}
	runs, err := f.l.Runs(f.ctx)
	if err != nil || len(runs) != 1 {
		t.Errorf("runs: %v %v", runs, err)
	}
	items, err := f.l.RunItems(f.ctx, "r1", "")
	if err != nil || len(items) != 3 || items[0].ItemID != "c1" {
		t.Errorf("items: %+v %v", items, err)
	}
	pending, _ := f.l.RunItems(f.ctx, "r1", ItemPending)
	if len(pending) != 2 {
		t.Errorf("pending: %+v", pending)
	}
	counts, err := f.l.RunItemCounts(f.ctx, "r1")
	if err != nil || counts[ItemPending] != 2 || counts[ItemFailed] != 1 {
		t.Errorf("counts %v %v", counts, err)
	}
	if v, ok, err := f.l.State(f.ctx, "evidence_url"); v != "file:///tmp/ev" || !ok || err != nil {
		t.Errorf("state: %q %v %v", v, ok, err)
	}
	if err := f.l.SetState(f.ctx, StateOrigin, "custody/evil"); !errors.Is(err, ErrReservedKey) {
		t.Errorf("SetState(origin): %v", err)
	}
	// Run items need their run, and a known status.
	err = f.l.Update(f.ctx, func(tx *Tx) error { return tx.PutRunItem(RunItem{RunID: "nope", ItemID: "x", Status: ItemDone}) })
	if err == nil {
		t.Error("run item without a run accepted")
	}
	err = f.l.Update(f.ctx, func(tx *Tx) error { return tx.PutRunItem(RunItem{RunID: "r1", ItemID: "x", Status: "weird"}) })
	if err == nil {
		t.Error("unknown item status accepted")
	}
}

func TestTriggersRejectChanges(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	f.checkpoint()
	f.l.Close()
	f.l = nil
	db, err := sql.Open("sqlite3", "file:"+f.path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`UPDATE entries SET leaf = x'00' WHERE seq = 1`,
		`UPDATE entries SET kind = 'x'`,
		`DELETE FROM entries WHERE seq = 2`,
		`DELETE FROM entries`,
		`INSERT OR REPLACE INTO entries (seq, leaf, leaf_hash, chain, kind) SELECT 1, x'00', leaf_hash, chain, 'x' FROM entries WHERE seq = 0`,
		`REPLACE INTO entries (seq, leaf, leaf_hash, chain, kind) SELECT 0, x'00', leaf_hash, chain, 'x' FROM entries WHERE seq = 0`,
		`INSERT INTO entries (seq, leaf, leaf_hash, chain, kind) SELECT 5, leaf, leaf_hash, chain, kind FROM entries WHERE seq = 0`,
		`INSERT INTO entries (leaf, leaf_hash, chain, kind) SELECT leaf, leaf_hash, chain, kind FROM entries WHERE seq = 0 AND 0`,
		`UPDATE checkpoints SET size = 1`,
		`DELETE FROM checkpoints`,
		`INSERT OR REPLACE INTO checkpoints (id, size, root, note, created_at) SELECT 1, 0, root, note, created_at FROM checkpoints`,
		`INSERT INTO checkpoints (id, size, root, note, created_at) SELECT 7, size, root, note, created_at FROM checkpoints`,
	} {
		before := fileBytes(t, f.path)
		res, err := db.Exec(stmt)
		if err == nil {
			if n, _ := res.RowsAffected(); n > 0 {
				t.Errorf("%s: accepted (%d rows)", stmt, n)
			}
			continue
		}
		if !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only trigger", stmt, err)
		}
		_ = before
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM entries`).Scan(&n); err != nil || n != 3 {
		t.Errorf("entries: %d, %v", n, err)
	}
	// Run state stays mutable.
	if _, err := db.Exec(`INSERT INTO state (key, value) VALUES ('k', 'v'); UPDATE state SET value = 'w' WHERE key = 'k'; DELETE FROM state WHERE key = 'k'`); err != nil {
		t.Errorf("state is not mutable: %v", err)
	}
}

func TestAppendInBatchSupersedesAndBrokenTx(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	// A batch whose second entry supersedes its first.
	first := message("conv-x", 1)
	second := message("conv-x", 1)
	second.PayloadSHA256[0] ^= 0xff
	s := uint64(2)
	second.Supersedes = &s
	out, err := f.l.Append(f.ctx, first, second)
	if err != nil {
		t.Fatal(err)
	}
	if out[1].Seq != 3 || *out[1].Supersedes != 2 {
		t.Errorf("batch supersedes: %+v", out[1])
	}
	wrong := message("conv-y", 5)
	s2 := uint64(4)
	wrong.Supersedes = &s2
	if _, err := f.l.Append(f.ctx, message("conv-z", 1), wrong); !errors.Is(err, ErrInvalidEntry) {
		t.Errorf("superseding another message in the batch: %v", err)
	}

	// An insert SQLite refuses (here: a trigger added for the test)
	// leaves the Tx refusing further appends.
	if _, err := f.l.wdb.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON entries WHEN NEW.kind = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	err = f.l.Update(f.ctx, func(tx *Tx) error {
		if _, err := tx.Append(leaf.Entry{Kind: "boom"}); err == nil {
			t.Error("the boom insert succeeded")
		}
		_, err := tx.Append(leaf.Entry{Kind: leaf.KindRun})
		if err == nil || !strings.Contains(err.Error(), "an earlier append in this transaction failed") {
			t.Errorf("append after a failed one: %v", err)
		}
		return err
	})
	if err == nil {
		t.Fatal("Update succeeded")
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 4 {
		t.Errorf("size %d, want 4", h.Size)
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// TestOpenReadOnly: an auditor's read-only copy opens for reading; verify
// and prove work, writes are refused, and the file is not touched.
func TestOpenReadOnly(t *testing.T) {
	f := newFixture(t)
	f.appendN(20)
	f.checkpoint()
	f.l.Close()
	f.l = nil
	isWritable = func(string) bool { return false }
	defer func() { isWritable = writable }()
	before := fileBytes(t, f.path)
	l, err := Open(f.ctx, f.path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !l.ReadOnly() {
		t.Error("not read-only")
	}
	if rep := checkIntact(t, f.ctx, l); !rep.OK || rep.Entries != 20 {
		t.Errorf("verify: %+v", rep)
	}
	if _, err := l.Prove(f.ctx, 7); err != nil {
		t.Errorf("prove: %v", err)
	}
	if _, err := l.Append(f.ctx, message("c", 1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("append: %v, want ErrReadOnly", err)
	}
	if _, err := l.Checkpoint(f.ctx, f.signer); !errors.Is(err, ErrReadOnly) {
		t.Errorf("checkpoint: %v, want ErrReadOnly", err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	sameBytes(t, before, f.path)
	for _, p := range []string{f.path + "-wal", f.path + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	// A ledger nobody can write with a -wal file beside it is refused.
	isUnwritable = func(string) bool { return true }
	defer func() { isUnwritable = unwritable }()
	if err := os.WriteFile(f.path+"-wal", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f.ctx, f.path, Options{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("open with a -wal: %v", err)
	}
}
