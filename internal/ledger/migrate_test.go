package ledger

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	custody "github.com/custodyhq/custody"

	"github.com/custodyhq/custody/internal/leaf"
)

// v1InsertTrigger is entries_append_only_insert as schema version 1
// created it.
const v1InsertTrigger = `CREATE TRIGGER entries_append_only_insert BEFORE INSERT ON entries
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq) + 1, 0) FROM entries)
BEGIN
    SELECT RAISE(ABORT, 'custody: entries are append-only: seq must be the next sequence number');
END`

// makeV1 turns the fixture's ledger into what custody with schema version
// 1 would have written for the same appends: one level of moved keys
// (message_keys) beside message_keys_recent, the version 1 insert
// trigger, user_version 1.
func (f *fixture) makeV1() {
	f.t.Helper()
	stmts := []string{}
	for _, table := range messageIndexV2.levels[1:7] {
		stmts = append(stmts, `INSERT INTO message_keys SELECT key, seq FROM `+table, `DROP TABLE `+table)
	}
	f.raw(append(stmts, `DROP TRIGGER entries_append_only_insert`, v1InsertTrigger, `PRAGMA user_version = 1`)...)
}

// schemaOf lists a ledger's tables, indexes and triggers with their SQL.
func schemaOf(t testing.TB, f *fixture) []string {
	t.Helper()
	rows, err := f.l.rdb.QueryContext(f.ctx, `SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name, table, sql string
		if err := rows.Scan(&typ, &name, &table, &sql); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{typ, name, table, sql}, " | "))
	}
	return out
}

func userVersion(t testing.TB, f *fixture) int {
	t.Helper()
	var v int
	if err := f.l.rdb.QueryRowContext(f.ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrateV1: a schema version 1 ledger opened for writing is brought
// to version 2 in place — its schema then equals a new ledger's — and its
// entries, lookups, appends and verification all carry on. Opened
// read-only it is read as version 1 and left alone.
func TestMigrateV1(t *testing.T) {
	f := newFixture(t)
	f.l.keyMove, f.l.keyFanout = 4, 2
	var all []leaf.Entry
	for i := range 6 {
		out, err := f.l.Append(f.ctx, messages(fmt.Sprintf("conv-%d", i), 7)...)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	f.checkpoint()
	fresh := schemaOf(t, newFixture(t))
	f.makeV1()

	// A read-only copy, as an auditor might be given.
	roDir := t.TempDir()
	ro := &fixture{t: t, path: filepath.Join(roDir, "custody.db"), ctx: f.ctx}
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ro.path, b, 0o444); err != nil {
		t.Fatal(err)
	}

	lookups := func(f *fixture) {
		t.Helper()
		for _, e := range all {
			got, ok, err := f.l.LatestCapture(f.ctx, e.MessageID)
			if err != nil || !ok || got.Seq != e.Seq {
				t.Fatalf("LatestCapture(seq %d) = %d %v %v", e.Seq, got.Seq, ok, err)
			}
		}
	}

	t.Run("read-only", func(t *testing.T) {
		isWritable = func(string) bool { return false }
		defer func() { isWritable = writable }()
		before := fileBytes(t, ro.path)
		ro.reopen()
		if v := userVersion(t, ro); v != 1 {
			t.Errorf("user_version %d, want 1", v)
		}
		lookups(ro)
		if rep := ro.verify(); !rep.OK || rep.Entries != 42 {
			t.Errorf("verify: %+v", rep)
		}
		ro.l.Close()
		ro.l = nil
		sameBytes(t, before, ro.path)
	})

	t.Run("writable", func(t *testing.T) {
		f.reopen()
		if v := userVersion(t, f); v != custody.SchemaVersion {
			t.Errorf("user_version %d, want %d", v, custody.SchemaVersion)
		}
		if got := schemaOf(t, f); !slices.Equal(got, fresh) {
			t.Errorf("migrated schema differs from a new ledger's:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(fresh, "\n"))
		}
		lookups(f)
		// Appends go on, and their moves reach the levels version 1 did
		// not have.
		f.l.keyMove, f.l.keyFanout = 4, 2
		for i := range 4 {
			out, err := f.l.Append(f.ctx, messages(fmt.Sprintf("conv-new-%d", i), 9)...)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out...)
		}
		if levels := f.levelSeqs(); len(slices.Concat(levels[1:7]...)) == 0 {
			t.Errorf("no key in the new levels: %v", levels)
		}
		lookups(f)
		f.checkpoint()
		if rep := f.verify(); !rep.OK || rep.Entries != 78 {
			t.Errorf("verify: %+v", rep)
		}
		// The insert trigger is version 2's and still refuses a wrong seq.
		f.l.Close()
		f.l = nil
		db := f.rawDB()
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO entries (seq, leaf, leaf_hash, chain, kind) VALUES (80, x'00', zeroblob(32), zeroblob(32), 'run')`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("insert past the end: %v", err)
		}
		if _, err := db.Exec(`INSERT OR REPLACE INTO entries (seq, leaf, leaf_hash, chain, kind) VALUES (77, x'00', zeroblob(32), zeroblob(32), 'run')`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("replace of the last entry: %v", err)
		}
	})

	t.Run("reopened", func(t *testing.T) {
		// Nothing left to migrate: opening again changes nothing.
		f.reopen()
		before := schemaOf(t, f)
		f.reopen()
		if got := schemaOf(t, f); !slices.Equal(got, before) || userVersion(t, f) != custody.SchemaVersion {
			t.Errorf("schema changed on a second open")
		}
	})
}

// TestMigrateHalfMigrated: a ledger that says version 1 but already has
// version 2's tables (a version 2 ledger whose user_version was set back
// by hand) migrates too.
func TestMigrateHalfMigrated(t *testing.T) {
	f := newFixture(t)
	f.appendN(5)
	want := schemaOf(t, f)
	f.raw(`PRAGMA user_version = 1`)
	f.reopen()
	if got := schemaOf(t, f); !slices.Equal(got, want) || userVersion(t, f) != custody.SchemaVersion {
		t.Errorf("schema after migration:\n%s", strings.Join(got, "\n"))
	}
	if rep := f.verify(); !rep.OK {
		t.Errorf("verify: %+v", rep.Findings)
	}
}

// rawDB opens the (closed) ledger file directly, bypassing the package,
// as the sqlite3 shell would: no custody pragmas, no recursive triggers.
func (f *fixture) rawDB() *sql.DB {
	f.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+f.path+"?_journal_mode=WAL")
	if err != nil {
		f.t.Fatal(err)
	}
	return db
}
