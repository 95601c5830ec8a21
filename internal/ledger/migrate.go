package ledger

import (
	"context"
	"fmt"

	custody "github.com/custodyhq/custody"
)

// migrations[v] brings a ledger from schema version v to v+1. It runs in
// the transaction that then sets user_version, so a ledger is migrated
// completely or not at all. The statements create what schema.sql
// creates, text for text: TestMigrateV1 checks that a migrated ledger's
// schema equals a new one's.
var migrations = map[int64]string{
	// Version 2: the middle levels of the message index (its levels 0 and
	// 7 are version 1's message_keys_recent and message_keys, kept as
	// they are), and entries_append_only_insert reading the last row
	// rather than max(seq). No entry, leaf or hash changes.
	1: `
CREATE TABLE IF NOT EXISTS message_keys_1 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_keys_2 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_keys_3 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_keys_4 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_keys_5 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS message_keys_6 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
DROP TRIGGER IF EXISTS entries_append_only_insert;
CREATE TRIGGER entries_append_only_insert BEFORE INSERT ON entries
WHEN NEW.seq IS NOT coalesce((SELECT seq + 1 FROM entries ORDER BY seq DESC LIMIT 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'custody: entries are append-only: seq must be the next sequence number');
END;
`,
	// Version 3 (ledger format v3): the index of erasure and hold
	// entries. No entry, leaf or hash changes; entries appended from now
	// on may be v3, which is why the version is raised at all (an older
	// custody refuses the ledger instead of failing on a v3 leaf).
	2: `
CREATE INDEX IF NOT EXISTS entries_controls ON entries (seq) WHERE kind IN ('erasure', 'hold');
`,
}

// migrate brings the ledger's schema up to custody.SchemaVersion in one
// immediate transaction. It reads the version again under the write lock,
// so two processes opening the same old ledger migrate it once.
func (l *Ledger) migrate(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", classify(err))
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("migrate: %w", classify(err))
	}
	from := version
	for ; version < custody.SchemaVersion; version++ {
		m, ok := migrations[version]
		if !ok {
			return fmt.Errorf("migrate: no migration from schema version %d", version)
		}
		if _, err := tx.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migrate: schema version %d to %d: %w", version, version+1, classify(err))
		}
	}
	if version == from {
		return nil
	}
	// PRAGMA takes no bound parameters; the value is a constant.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("migrate: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: schema version %d to %d: %w", from, version, classify(err))
	}
	return nil
}
