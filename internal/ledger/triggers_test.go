package ledger

import (
	"context"
	"strings"
	"testing"
)

// wrongSeqInsert is an INSERT the append-only trigger refuses (seq far
// past the next one).
const wrongSeqInsert = `INSERT INTO entries (seq, leaf, leaf_hash, chain, kind) VALUES (999, x'00', zeroblob(32), zeroblob(32), 'run')`

// assertTriggersOn fails the test unless the writer's connection refuses
// an UPDATE of entries and an INSERT that is not the next seq: the state
// every statement but Append's INSERTs must run in.
func (f *fixture) assertTriggersOn(when string) {
	f.t.Helper()
	if _, err := f.l.wdb.ExecContext(f.ctx, `UPDATE entries SET kind = kind WHERE seq = 0`); err == nil || !strings.Contains(err.Error(), "append-only") {
		f.t.Errorf("%s: UPDATE on the writer's connection: %v, want the append-only trigger's refusal", when, err)
	}
	if _, err := f.l.wdb.ExecContext(f.ctx, wrongSeqInsert); err == nil || !strings.Contains(err.Error(), "append-only") {
		f.t.Errorf("%s: INSERT of seq 999 on the writer's connection: %v, want the append-only trigger's refusal", when, err)
	}
}

// TestTriggersToggle holds custody_triggers (declared by hand in
// triggers.go, not from sqlite3.h) to what it says: off, a connection
// takes the INSERT the trigger refuses; on again, it refuses it.
func TestTriggersToggle(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	conn, err := f.l.wdb.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	set := func(on int) {
		t.Helper()
		var now int
		if err := conn.QueryRowContext(f.ctx, `SELECT custody_triggers(?)`, on).Scan(&now); err != nil || now != on {
			t.Fatalf("custody_triggers(%d) = %d, %v", on, now, err)
		}
	}
	try := func() error {
		tx, err := conn.BeginTx(f.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = tx.ExecContext(f.ctx, wrongSeqInsert)
		return err
	}
	set(0)
	if err := try(); err != nil {
		t.Errorf("triggers off: %v, want the INSERT taken", err)
	}
	set(1)
	if err := try(); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("triggers on: %v, want the append-only refusal", err)
	}
}

// TestAppendLeavesTriggersOn: Append turns the triggers off for its
// INSERTs into entries alone. They are on again after it, whether it
// succeeded, failed part-way or was cancelled, and they were off during
// its INSERTs (a trigger of the file saw none of them).
func TestAppendLeavesTriggersOn(t *testing.T) {
	f := newFixture(t)
	f.appendN(1)
	f.raw(`CREATE TABLE spy (seq INTEGER)`,
		`CREATE TRIGGER spy_insert AFTER INSERT ON entries BEGIN INSERT INTO spy VALUES (NEW.seq); END`)
	f.reopen()
	f.appendN(3)
	f.assertTriggersOn("after an append")
	var seen int
	if err := f.l.rdb.QueryRowContext(f.ctx, `SELECT count(*) FROM spy`).Scan(&seen); err != nil || seen != 0 {
		t.Errorf("a trigger of the file saw %d of Append's INSERTs (%v), want none", seen, err)
	}

	// Failed part-way: a TEMP trigger (which stays on) refuses seq 40.
	if _, err := f.l.wdb.Exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON entries WHEN NEW.seq = 40 BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	if err := f.l.Update(f.ctx, func(tx *Tx) error {
		_, err := tx.Append(messages("conv-x", 100)...)
		return err
	}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("append past the boom trigger: %v", err)
	}
	f.assertTriggersOn("after an append that failed part-way")

	ctx, cancel := context.WithCancel(f.ctx)
	err := f.l.Update(ctx, func(tx *Tx) error {
		cancel()
		_, err := tx.Append(messages("conv-y", 200)...)
		return err
	})
	if err == nil {
		t.Fatal("an append whose context was cancelled committed")
	}
	f.assertTriggersOn("after a cancelled append")
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// TestTriggersFuncDirectOnly: custody_triggers is SQLITE_DIRECTONLY, so a
// view (or trigger) in a ledger file cannot turn triggers off behind
// custody's back.
func TestTriggersFuncDirectOnly(t *testing.T) {
	f := newFixture(t)
	f.appendN(1)
	f.raw(`CREATE VIEW sneaky AS SELECT custody_triggers(0) AS off`)
	f.reopen()
	var off int
	err := f.l.rdb.QueryRowContext(f.ctx, `SELECT off FROM sneaky`).Scan(&off)
	if err == nil || !strings.Contains(err.Error(), "unsafe use of custody_triggers") {
		t.Errorf("custody_triggers through a view: %v (%d), want SQLite's unsafe-use refusal", err, off)
	}
}
