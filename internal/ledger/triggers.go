package ledger

// The append-only triggers (schema.sql) guard every connection to a
// ledger against accidents. Any row trigger makes SQLite copy each row of
// a multi-row INSERT through a temporary table before inserting it, which
// for entries (a leaf of a kilobyte or more each) was about a tenth of an
// append (docs/benchmarks.md). So custody's writer connection, the one
// connection through which custody changes a ledger, runs with the file's
// triggers off and guards itself instead:
//   - an authorizer refuses, when a statement is prepared, any UPDATE or
//     DELETE of a table the file's triggers keep append-only (entries,
//     checkpoints, checkpoint_timestamps, checkpoint_cosignatures): a
//     stronger guard than a trigger, such a statement never runs;
//   - its only INSERTs into entries are Append's, whose seq values are
//     the next ones by construction (read and written in one write
//     transaction), and into checkpoints Checkpoint's, whose id likewise.
// Every other connection (the sqlite3 shell, other programs, custody's
// readers) keeps the triggers.
//
// SQLite turns triggers off for one connection with sqlite3_db_config
// (SQLITE_DBCONFIG_ENABLE_TRIGGER), which mattn/go-sqlite3 does not
// expose; custody_triggers(on), an SQL function registered on every
// connection of this process as an automatic extension, calls it. It is
// SQLITE_DIRECTONLY: a trigger or view in a ledger file cannot call it,
// only SQL text custody itself runs. The writer turns triggers off once,
// when it connects, before it prepares anything: every change of the
// setting makes SQLite prepare all of a connection's statements again.

/*
#include "sqlite3decl.h"

// custody_triggers(on): turns this connection's triggers on (1) or off
// (0) and returns the setting now in force.
static void custodyTriggers(sqlite3_context *ctx, int n, sqlite3_value **v) {
	int now = -1;
	if (sqlite3_db_config(sqlite3_context_db_handle(ctx), custodyEnableTrigger, sqlite3_value_int(v[0]) != 0, &now) != 0) {
		sqlite3_result_error(ctx, "custody_triggers: sqlite3_db_config refused", -1);
		return;
	}
	sqlite3_result_int(ctx, now);
}

static int custodyExtension(sqlite3 *db, char **err, const void *api) {
	return sqlite3_create_function_v2(db, "custody_triggers", 1, custodyUTF8 | custodyDirectOnly, 0,
		custodyTriggers, 0, 0, 0);
}

static int custodyRegister(void) {
	return sqlite3_auto_extension((void (*)(void))custodyExtension);
}
*/
import "C"

import (
	"database/sql/driver"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// registerTriggersFunc makes custody_triggers available on every SQLite
// connection opened from now on; registerDriver calls it before any.
func registerTriggersFunc() error {
	if rc := C.custodyRegister(); rc != 0 {
		return fmt.Errorf("ledger: registering custody_triggers: sqlite3_auto_extension: code %d", int(rc))
	}
	return nil
}

// guardWriter sets up the writer's connection c: the file's triggers off,
// the append-only authorizer on.
func guardWriter(c *sqlite3.SQLiteConn) error {
	if err := triggersOn(c, 0); err != nil {
		return fmt.Errorf("ledger: writer connection: %w", err)
	}
	c.RegisterAuthorizer(appendOnly)
	return nil
}

// appendOnlyTables are the tables whose rows the file's triggers refuse
// to change or delete (schema.sql, attest.go).
var appendOnlyTables = map[string]bool{"entries": true, "checkpoints": true, "checkpoint_timestamps": true, "checkpoint_cosignatures": true}

// appendOnly is the writer's authorizer: it refuses to prepare an UPDATE
// or DELETE of an append-only table (what the file's triggers refuse on
// every other connection). For SQLITE_UPDATE and SQLITE_DELETE, table is
// the table and db the schema ("main", or "temp" for a temporary table
// of the same name, which is not the ledger).
func appendOnly(op int, table, _, db string) int {
	if (op == sqlite3.SQLITE_UPDATE || op == sqlite3.SQLITE_DELETE) && db == "main" && appendOnlyTables[table] {
		return sqlite3.SQLITE_DENY
	}
	return sqlite3.SQLITE_OK
}

// triggersOn runs custody_triggers(want) on c and checks what it says is
// now in force.
func triggersOn(c *sqlite3.SQLiteConn, want int64) error {
	rows, err := c.Query("SELECT custody_triggers(?)", []driver.Value{want})
	if err != nil {
		return err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return err
	}
	if got, _ := v[0].(int64); got != want {
		return fmt.Errorf("custody_triggers(%d) left them at %v", want, v[0])
	}
	return nil
}
