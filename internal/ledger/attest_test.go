package ledger

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// The attestation tables are additive: a ledger without them (written by
// a custody before them) reads as having none, read-only; opening it for
// writing adds them without changing user_version.
func TestAttestTablesAdditive(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	f.checkpoint()
	f.raw(`DROP TABLE checkpoint_timestamps`, `DROP TABLE checkpoint_cosignatures`)
	ro, err := Open(f.ctx, f.path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := ro.Timestamps(f.ctx)
	if err != nil || len(ts) != 0 {
		t.Fatalf("read-only without the table: %v, %v", ts, err)
	}
	cs, err := ro.Cosignatures(f.ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("read-only without the table: %v, %v", cs, err)
	}
	snap, err := ro.Snapshot(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := snap.Timestamps(f.ctx); err != nil || len(ts) != 0 {
		t.Fatalf("snapshot: %v, %v", ts, err)
	}
	snap.Close()
	cps, err := ro.Checkpoints(f.ctx)
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpoints: %v, %v", cps, err)
	}
	if att, err := ro.Attested(f.ctx, cps[0]); err != nil || string(att.Note) != string(cps[0].Note) || att.Timestamps != nil {
		t.Fatalf("attested without the tables: %+v, %v", att, err)
	}
	ro.Close()
	f.reopen()
	if err := f.l.AddTimestamp(f.ctx, 1, "http://tsa.example/", []byte{1, 2, 3}, ""); err != nil {
		t.Fatal(err)
	}
	var version int
	f.raw() // close
	db, _ := sql.Open("sqlite3", "file:"+f.path+"?mode=ro")
	defer db.Close()
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != custody.SchemaVersion {
		t.Fatalf("user_version = %d, %v; the tables must not bump it", version, err)
	}
}

func TestAttestRows(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	cp := f.checkpoint()
	ctx := context.Background()
	if err := f.l.AddTimestamp(ctx, cp.ID, "http://a/", nil, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := f.l.AddTimestamp(ctx, cp.ID, "http://a/", []byte("token"), ""); err != nil {
		t.Fatal(err)
	}
	if err := f.l.AddTimestamp(ctx, 9, "http://a/", []byte("token"), ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown checkpoint: %v", err)
	}
	if err := f.l.AddTimestamp(ctx, cp.ID, "http://a/", []byte("token"), "and an error"); err == nil {
		t.Fatal("a token and an error accepted")
	}
	line := "— w.example AAAA\n"
	for range 2 {
		if err := f.l.AddCosignature(ctx, cp.ID, "w.example", line); err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := f.l.Timestamps(ctx)
	cs, _ := f.l.Cosignatures(ctx)
	if len(ts) != 2 || ts[0].Token != nil || ts[0].Error == "" || string(ts[1].Token) != "token" || len(cs) != 1 {
		t.Fatalf("rows: %+v %+v", ts, cs)
	}
	// The proof of an entry carries both.
	p, err := f.l.Prove(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Timestamps) != 1 || !strings.HasSuffix(string(p.Checkpoint), line) {
		t.Fatalf("proof: %d timestamps, note %q", len(p.Timestamps), p.Checkpoint)
	}
	// Attested, read once for many proofs, is what Prove attaches.
	att, err := f.l.Attested(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	if string(att.Note) != string(p.Checkpoint) || len(att.Timestamps) != 1 || string(att.Timestamps[0].Token) != "token" || att.Timestamps[0].TSA != "http://a/" {
		t.Fatalf("attested: %+v, proof note %q", att, p.Checkpoint)
	}
	if string(att.Note) != string(cp.Note)+line {
		t.Fatalf("attested note %q, want the checkpoint's and the cosignature line once", att.Note)
	}
	// INSERT only.
	db, _ := sql.Open("sqlite3", "file:"+f.path)
	defer db.Close()
	for _, stmt := range []string{
		`UPDATE checkpoint_timestamps SET tsa = 'x'`, `DELETE FROM checkpoint_timestamps`,
		`UPDATE checkpoint_cosignatures SET witness = 'x'`, `DELETE FROM checkpoint_cosignatures`,
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

// A token from an authority an older custody kept with secrets in its
// URL (user info, query) is stored as asked, but what goes into proof
// files names it as custody shows it (redact.URL); no signature covers
// the URL, so the proof verifies as before.
func TestAttestedRedactsTSAURL(t *testing.T) {
	f := newFixture(t)
	f.appendN(2)
	cp := f.checkpoint()
	ctx := context.Background()
	const u = "https://a:PWKEEP@tsa.example/tsr?key=QSKEEP"
	if err := f.l.AddTimestamp(ctx, cp.ID, u, []byte("token"), ""); err != nil {
		t.Fatal(err)
	}
	if ts, _ := f.l.Timestamps(ctx); len(ts) != 1 || ts[0].TSA != u {
		t.Fatalf("stored rows %+v: the row keeps the URL custody asks", ts)
	}
	att, err := f.l.Attested(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.l.Prove(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	const want = "https://[REDACTED]@tsa.example/tsr?[REDACTED]"
	for _, ts := range [][]leaf.ProofTimestamp{att.Timestamps, p.Timestamps} {
		if len(ts) != 1 || ts[0].TSA != want || string(ts[0].Token) != "token" {
			t.Errorf("timestamps for proofs %+v, want the token from %s", ts, want)
		}
	}
}

// AfterCheckpoint runs once per new checkpoint, not when Checkpoint
// returns the latest one unchanged.
func TestAfterCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.l.Close()
	var got []uint64
	l, err := Open(f.ctx, f.path, Options{Now: fixedClock(), AfterCheckpoint: func(_ context.Context, cp StoredCheckpoint) {
		got = append(got, cp.Size)
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.l = l
	f.appendN(2)
	f.checkpoint()
	f.checkpoint()
	f.appendN(1)
	f.checkpoint()
	if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("hook saw sizes %v, want [2 3]", got)
	}
	p, err := f.l.ConsistencyProof(f.ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	cps, _ := f.l.Checkpoints(f.ctx)
	if err := hashchain.VerifyConsistency(2, 3, cps[0].Root, cps[1].Root, p); err != nil {
		t.Fatal(err)
	}
}
