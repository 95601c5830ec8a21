package ledger

import (
	"database/sql"
	"strings"
	"testing"
)

// wrongSeqInsert is an INSERT the append-only trigger refuses (seq far
// past the next one).
const wrongSeqInsert = `INSERT INTO entries (seq, leaf, leaf_hash, chain, kind) VALUES (999, x'00', zeroblob(32), zeroblob(32), 'run')`

// assertWriterGuards fails the test unless the writer's connection
// refuses every UPDATE and DELETE of the append-only tables, as the
// file's triggers do on every other connection.
func (f *fixture) assertWriterGuards(when string) {
	f.t.Helper()
	for _, q := range []string{
		`UPDATE entries SET kind = kind WHERE seq = 0`,
		`DELETE FROM entries WHERE seq = 0`,
		`UPDATE checkpoints SET note = note`,
		`DELETE FROM checkpoints`,
		`UPDATE checkpoint_timestamps SET tsa = tsa`,
		`DELETE FROM checkpoint_timestamps`,
		`UPDATE checkpoint_cosignatures SET witness = witness`,
		`DELETE FROM checkpoint_cosignatures`,
	} {
		if _, err := f.l.wdb.ExecContext(f.ctx, q); err == nil || !strings.Contains(err.Error(), "not authorized") {
			f.t.Errorf("%s: %s on the writer's connection: %v, want it refused (not authorized)", when, q, err)
		}
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

// TestWriterGuards: the writer's connection runs without the file's
// triggers (a trigger of the file sees none of Append's INSERTs, which
// SQLite would otherwise copy through a temporary table) and refuses
// UPDATE and DELETE of entries and checkpoints itself, from its first
// statement on, a new connection as the first; every other connection
// keeps the triggers.
func TestWriterGuards(t *testing.T) {
	f := newFixture(t)
	f.appendN(1)
	f.raw(`CREATE TABLE spy (seq INTEGER)`,
		`CREATE TRIGGER spy_insert AFTER INSERT ON entries BEGIN INSERT INTO spy VALUES (NEW.seq); END`)
	f.reopen()
	f.assertWriterGuards("a new writer connection")
	f.appendN(3)
	f.assertWriterGuards("after an append")
	var seen int
	if err := f.l.rdb.QueryRowContext(f.ctx, `SELECT count(*) FROM spy`).Scan(&seen); err != nil || seen != 0 {
		t.Errorf("a trigger of the file saw %d of Append's INSERTs (%v), want none", seen, err)
	}
	if _, err := f.l.Checkpoint(f.ctx, f.signer); err != nil {
		t.Fatalf("checkpoint on the guarded writer: %v", err)
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}

	// Another connection of this process, on custody's own (reader)
	// driver, where custody_triggers exists too: the triggers hold.
	db, err := sql.Open(driverName, dsn(f.path, "deferred"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(f.ctx, wrongSeqInsert); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("INSERT of seq 999 on another connection: %v, want the append-only trigger's refusal", err)
	}
	if _, err := db.ExecContext(f.ctx, `UPDATE entries SET kind = kind WHERE seq = 0`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE on another connection: %v, want the append-only trigger's refusal", err)
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
