-- custody ledger schema, version 3 (PRAGMA user_version = 3).
-- Applied in one transaction by internal/ledger when a ledger is created;
-- docs/ledger-format.md is the specification these tables implement.
-- Version 1 ledgers are brought to version 2 in place when custody opens
-- them for writing (internal/ledger/migrate.go): version 2 adds the
-- middle levels of the message index, message_keys_1 to message_keys_6,
-- and a cheaper form of entries_append_only_insert. Version 3 (ledger
-- format v3: message leaves with salted commitments, erasure and hold
-- entries) adds entries_controls; a version 2 ledger's leaves are valid
-- as they are, and entries appended after the migration are v3. The
-- version is raised so that a custody that cannot read v3 leaves refuses
-- the ledger rather than misreading it.
--
-- Two kinds of table live here:
--   * the ledger proper, entries and checkpoints: INSERT only. Triggers
--     refuse UPDATE and DELETE, and refuse an INSERT that is not the next
--     sequence number (which also stops INSERT OR REPLACE from overwriting
--     a row without firing the delete trigger). The triggers are a guard
--     against accidents, not the proof: the hash chain, the Merkle tree and
--     the signed checkpoints are. custody's writer connection runs with
--     them off and refuses UPDATE and DELETE of entries and checkpoints
--     itself (internal/ledger/triggers.go: a row trigger makes SQLite copy
--     every inserted row through a temporary table); every other
--     connection keeps them. So no trigger here may do work custody's own
--     writes rely on: they only refuse.
--   * run state (runs, run_items, state): ordinary mutable tables for
--     progress, cursors and settings. Nothing in them is evidence.

-- entries: one row per ledger entry. seq is the 0-based position, equal to
-- the leaf index in the Merkle tree. leaf holds the exact bytes that were
-- hashed (the RFC 8785 form of the entry object); leaf_hash and chain are
-- what was computed at append time, kept so a verifier can point at the
-- first row where the stored values and the recomputed ones part. The
-- remaining columns copy fields of the leaf for lookups; no hash covers
-- them, so verify checks each against the leaf (as it checks the message
-- index below against the entries), and every lookup checks the rows it
-- finds.
CREATE TABLE entries (
    seq             INTEGER PRIMARY KEY CHECK (seq >= 0),
    leaf            BLOB    NOT NULL,
    leaf_hash       BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    chain           BLOB    NOT NULL CHECK (length(chain) = 32),
    kind            TEXT    NOT NULL,
    conversation_id TEXT,
    message_id      TEXT,
    run_id          TEXT
) STRICT;

CREATE INDEX entries_by_conversation ON entries (conversation_id, seq) WHERE conversation_id IS NOT NULL;

-- The erasure and hold entries, which every reader of message content
-- consults (internal/erasure): few, so a partial index costs appends
-- nothing.
CREATE INDEX entries_controls ON entries (seq) WHERE kind IN ('erasure', 'hold');

-- The message index: entries by message id, in eight levels so that
-- appends stay fast. Genesys message ids are random, so in one index each
-- of a batch's inserts would land on a different page, and WAL writes
-- every page a commit dirties. Instead an append adds its entries' keys
-- to level 0, message_keys_recent, which stays small; when an append
-- crosses a multiple of 16,384 entries the same transaction moves level 0,
-- in key order, into level 1 (message_keys_1), at a multiple of 4 x 16,384
-- level 1 into level 2, and so on: level i into level i+1 at multiples of
-- 4^i x 16,384, up to level 7, message_keys, which keeps the rest. Each
-- key is rewritten once per level, in bulk, rather than each move
-- rewriting the whole index. A lookup reads all eight levels. key is the
-- first 8 bytes of SHA-256(message_id) as a big-endian signed integer
-- (8-byte keys pack several times denser than the ids); the lookup then
-- checks entries.message_id, so a key collision costs a row read, never a
-- wrong answer. These tables are lookup aids, not evidence, and mutable
-- (a move empties the level it moves).
CREATE TABLE message_keys_recent (
    key INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE message_keys_1 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE message_keys_2 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE message_keys_3 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE message_keys_4 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE message_keys_5 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;
CREATE TABLE message_keys_6 (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) STRICT, WITHOUT ROWID;

CREATE TABLE message_keys (
    key INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) STRICT, WITHOUT ROWID;

-- The next sequence number is one more than the last row's, found by
-- reading the last row of the table (ORDER BY seq DESC LIMIT 1 on the
-- rowid); 0 when the table is empty.
CREATE TRIGGER entries_append_only_insert BEFORE INSERT ON entries
WHEN NEW.seq IS NOT coalesce((SELECT seq + 1 FROM entries ORDER BY seq DESC LIMIT 1), 0)
BEGIN
    SELECT RAISE(ABORT, 'custody: entries are append-only: seq must be the next sequence number');
END;

CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
BEGIN
    SELECT RAISE(ABORT, 'custody: entries are append-only: UPDATE refused');
END;

CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
BEGIN
    SELECT RAISE(ABORT, 'custody: entries are append-only: DELETE refused');
END;

-- checkpoints: every signed checkpoint custody made of this ledger, ids
-- 1, 2, 3, … in order. note is the complete C2SP signed note; size and root
-- repeat its body for queries and are checked against it by verify.
CREATE TABLE checkpoints (
    id         INTEGER PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    root       BLOB    NOT NULL CHECK (length(root) = 32),
    note       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;

CREATE INDEX checkpoints_by_size ON checkpoints (size);

CREATE TRIGGER checkpoints_append_only_insert BEFORE INSERT ON checkpoints
WHEN NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM checkpoints)
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoints are append-only: id must be the next id');
END;

CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoints are append-only: UPDATE refused');
END;

CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'custody: checkpoints are append-only: DELETE refused');
END;

-- runs: one row per export, refetch or other run. scope and accounting are
-- JSON documents owned by the command that runs.
CREATE TABLE runs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    matter     TEXT NOT NULL,
    scope      TEXT NOT NULL DEFAULT '{}',
    status     TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    accounting TEXT NOT NULL DEFAULT '{}'
) STRICT;

-- run_items: per-item progress of a run (item_id is e.g. a conversation id).
CREATE TABLE run_items (
    run_id     TEXT    NOT NULL REFERENCES runs (id),
    item_id    TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'gone')),
    reason     TEXT    NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (run_id, item_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX run_items_by_status ON run_items (run_id, status);

-- state: small key/value settings and cursors. Keys custody itself sets at
-- creation: ledger_id, origin, matter, created_at, verifier_key.
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
