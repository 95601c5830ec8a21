package produce_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/produce"
)

// TestProduceRefusesNonStrictLeaf: a message leaf that is valid JSON but
// not in the ledger's strict form, under a checkpoint signed over it (a
// holder of the signing key rewrote the ledger), is refused by name and
// nothing is written. The scan checks leaves as it decodes them and the
// proofs skip the check for those it found strict, so this is what holds
// that skip to the leaves it may skip.
func TestProduceRefusesNonStrictLeaf(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, st, key := fixture(t, dir, 3, 2)
	st.Close()
	origin := l.Origin()
	l.Close()

	db, err := sql.Open("sqlite3", filepath.Join(dir, "custody.db"))
	if err != nil {
		t.Fatal(err)
	}
	const seq = 1 // conversation 0's first message
	var leafBytes []byte
	if err := db.QueryRow(`SELECT leaf FROM entries WHERE seq = ?`, seq).Scan(&leafBytes); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(leafBytes, []byte(`"kind":"message"`)) {
		t.Fatalf("entry %d is not a message: %s", seq, leafBytes)
	}
	loose := append([]byte("{ "), leafBytes[1:]...) // same JSON, not canonical
	lh := hashchain.LeafHash(loose)
	var hashes []hashchain.Hash
	rows, err := db.Query(`SELECT seq, leaf_hash FROM entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		var h []byte
		if err := rows.Scan(&s, &h); err != nil {
			t.Fatal(err)
		}
		if s == seq {
			h = lh[:]
		}
		hashes = append(hashes, hashchain.Hash(h))
	}
	rows.Close()
	root := hashchain.NewTree(hashes).Root()
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: origin, Size: uint64(len(hashes)), Root: root}, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		stmt string
		args []any
	}{
		{`DROP TRIGGER entries_append_only_update`, nil},
		{`DROP TRIGGER checkpoints_append_only_update`, nil},
		{`UPDATE entries SET leaf = ?, leaf_hash = ? WHERE seq = ?`, []any{loose, lh[:], seq}},
		{`UPDATE checkpoints SET root = ?, note = ?, size = ? WHERE id = (SELECT max(id) FROM checkpoints)`, []any{root[:], string(note), len(hashes)}},
	} {
		if _, err := db.Exec(q.stmt, q.args...); err != nil {
			t.Fatalf("%s: %v", q.stmt, err)
		}
	}
	db.Close()

	l, err = ledger.Open(ctx, filepath.Join(dir, "custody.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err = backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := filepath.Join(t.TempDir(), "prod")
	_, err = produce.Run(ctx, produce.Deps{Ledger: l, Store: st}, produce.Options{Out: out, SignerKey: key, VerifierKey: l.VerifierKey()})
	if !errors.Is(err, ledger.ErrInconsistent) || !strings.Contains(err.Error(), "entry 1:") {
		t.Fatalf("produce of a ledger with a non-strict leaf: %v, want ErrInconsistent naming entry 1", err)
	}
	t.Log(err)
	if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the refused production left %s: %v", out, serr)
	}
}
