package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// benchBatch is how many entries one Append carries, as an export commits
// a bulk page of messages.
const benchBatch = 1000

// appendBlock is how many batches BenchmarkAppendVsInsert appends before
// it inserts them into the plain table.
const appendBlock = 16

// BenchmarkAppend appends message-sized entries (~600-byte leaves) in
// batches of 1,000, one transaction per batch, synchronous=FULL, 50
// messages to a conversation. b.N counts entries. ids=random gives each
// message a random 32-hex-digit id, as Genesys does, and random
// conversation ids; ids=ordered gives shorter, increasing ids. The message
// index is keyed by a hash of the id (schema.sql), so it sees random keys
// either way; the conversation index sees ordered ones only in the second.
func BenchmarkAppend(b *testing.B) {
	for _, order := range []string{"random", "ordered"} {
		b.Run("ids="+order, func(b *testing.B) {
			f := newFixture(b)
			all := make([]leaf.Entry, b.N)
			for i := range all {
				conv := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i / 50), byte(i / 50 >> 8), byte(i / 50 >> 16)}))[:32]
				all[i] = message(conv, i)
				if order == "ordered" {
					all[i].ConversationID = fmt.Sprintf("conv-%08d", i/50)
					all[i].MessageID = fmt.Sprintf("msg-%010d", i)
				}
			}
			leaf, _ := all[0].AppendLeaf(nil)
			b.ReportMetric(float64(len(leaf)), "leaf-bytes")
			b.ResetTimer()
			cpu0 := benchutil.CPUTime()
			for done := 0; done < b.N; done += benchBatch {
				if _, err := f.l.Append(f.ctx, all[done:min(done+benchBatch, b.N)]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64((benchutil.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/entry")
		})
	}
}

// BenchmarkLatestCapture looks up the latest capture of random messages of
// a 100,000-entry ledger with random ids, as an export does for each
// message it fetches: through every level of the message index, then the
// entry's row. Each op is one lookup.
func BenchmarkLatestCapture(b *testing.B) {
	const size = 100_000
	f := newFixture(b)
	ids := make([]string, 0, size)
	batch := make([]leaf.Entry, benchBatch)
	for done := 0; done < size; done += benchBatch {
		for i := range batch {
			conv := fmt.Sprintf("%x", sha256.Sum256([]byte{byte((done + i) / 50), byte((done + i) / 50 >> 8)}))[:32]
			batch[i] = message(conv, done+i)
			ids = append(ids, batch[i].MessageID)
		}
		if _, err := f.l.Append(f.ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := ids[(i*7919)%size]
		if _, ok, err := f.l.LatestCapture(f.ctx, id); err != nil || !ok {
			b.Fatalf("LatestCapture(%s): %v %v", id, ok, err)
		}
		i++
	}
}

// plainSchema gives db the entries table as schema.sql defines it
// (columns, checks, primary key, its indexes) without what makes it a
// ledger: it runs the schema, then drops every trigger (the append-only
// guards) and the message index's tables. Taken from schema.sql itself,
// so the plain side cannot drift from it (a hand copy once missed the
// entries_controls index).
func plainSchema(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, custody.Schema); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT type, name FROM sqlite_master
		WHERE type = 'trigger' OR type = 'table' AND name LIKE 'message\_keys%' ESCAPE '\'
		ORDER BY type = 'table'`)
	if err != nil {
		return err
	}
	var drops []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			rows.Close()
			return err
		}
		drops = append(drops, fmt.Sprintf("DROP %s %q", strings.ToUpper(typ), name))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, strings.Join(drops, "; "))
	return err
}

// BenchmarkAppendVsInsert puts Append beside a plain insert of the same
// rows through the same driver, in one run: batches of 1,000 random-id
// message entries are appended to a ledger, then the rows Append stored
// (leaf, hashes, columns, all already computed) are inserted into a plain
// table in a second database with the ledger's settings (WAL,
// synchronous=FULL, 16 KiB pages, the same cache), one transaction a batch,
// by a prepared single-row INSERT — what a Go program storing those rows
// would do. The two alternate every appendBlock batches (16,000 entries,
// about one background checkpoint's worth), so both see the same load.
//
// An append block's time runs until the background WAL checkpoints it
// asked for have finished too (append-ckpt-wait-ns/entry is that wait):
// otherwise their CPU and disk writes would land in the plain inserts'
// time and flatter append. Within a block they overlap the next appends,
// as in an export. Each block's entries are made before its time starts,
// and no more than a block is held: holding all b.N (~150 MB at 200,000)
// made every garbage collection mark them, a cost of the benchmark that
// ran mostly in the background during the plain inserts.
//
// It reports each side's entries/s and CPU per entry (process CPU while
// it ran), the bytes each side wrote per entry (Linux: /proc/self/io
// wchar, WAL and checkpoint writes alike), and append/insert, the ratio
// of the rates (1.0: append costs nothing beyond storing the rows).
func BenchmarkAppendVsInsert(b *testing.B) {
	f := newFixture(b)
	plainPath := filepath.Join(b.TempDir(), "plain.db")
	if err := os.WriteFile(plainPath, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := initFile(f.ctx, plainPath); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open(driverName, dsn(plainPath, "immediate"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := plainSchema(f.ctx, db); err != nil {
		b.Fatal(err)
	}
	makeEntries := func(es []leaf.Entry, start int) {
		for j := range es {
			i := start + j
			conv := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i / 50), byte(i / 50 >> 8), byte(i / 50 >> 16)}))[:32]
			es[j] = message(conv, i)
		}
	}
	block := make([]leaf.Entry, appendBlock*benchBatch)
	stored := make([][]leaf.Entry, 0, appendBlock)
	insert := func(rows []leaf.Entry) error {
		tx, err := db.BeginTx(f.ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(f.ctx, `INSERT INTO entries (seq, leaf, leaf_hash, chain, kind, conversation_id, message_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range rows {
			if _, err := st.ExecContext(f.ctx, int64(e.Seq), e.Leaf, e.LeafHash[:], e.Chain[:], e.Kind, e.ConversationID, e.MessageID, e.RunID); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	b.ResetTimer()
	var appendWall, insertWall, appendCPU, insertCPU, ckptWait time.Duration
	var appendBytes, insertBytes int64
	for done := 0; done < b.N; done += len(block) {
		es := block[:min(len(block), b.N-done)]
		makeEntries(es, done)
		stored = stored[:0]
		w0, cpu0, t0 := writtenBytes(), benchutil.CPUTime(), time.Now()
		for i := 0; i < len(es); i += benchBatch {
			rows, err := f.l.Append(f.ctx, es[i:min(i+benchBatch, len(es))]...)
			if err != nil {
				b.Fatal(err)
			}
			stored = append(stored, rows)
		}
		tc := time.Now()
		f.l.ckpt.waitIdle()
		w1, cpu1, t1 := writtenBytes(), benchutil.CPUTime(), time.Now()
		for _, rows := range stored {
			if err := insert(rows); err != nil {
				b.Fatal(err)
			}
		}
		appendWall, appendCPU, ckptWait = appendWall+t1.Sub(t0), appendCPU+cpu1-cpu0, ckptWait+t1.Sub(tc)
		insertWall, insertCPU = insertWall+time.Since(t1), insertCPU+benchutil.CPUTime()-cpu1
		appendBytes, insertBytes = appendBytes+w1-w0, insertBytes+writtenBytes()-w1
	}
	n := float64(b.N)
	b.ReportMetric(n/appendWall.Seconds(), "append-entries/s")
	b.ReportMetric(n/insertWall.Seconds(), "insert-entries/s")
	b.ReportMetric(insertWall.Seconds()/appendWall.Seconds(), "append/insert")
	b.ReportMetric(float64(appendCPU.Nanoseconds())/n, "append-cpu-ns/entry")
	b.ReportMetric(float64(insertCPU.Nanoseconds())/n, "insert-cpu-ns/entry")
	b.ReportMetric(float64(ckptWait.Nanoseconds())/n, "append-ckpt-wait-ns/entry")
	if appendBytes > 0 {
		b.ReportMetric(float64(appendBytes)/n, "append-written-B/entry")
		b.ReportMetric(float64(insertBytes)/n, "insert-written-B/entry")
	}
}

// writtenBytes is how many bytes this process has written so far
// (wchar of /proc/self/io), 0 where that is unknown.
func writtenBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
