package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

func TestCheckpoint(t *testing.T) {
	f := newFixture(t)
	// The empty ledger can be checkpointed too.
	cp0 := f.checkpoint()
	if cp0.ID != 1 || cp0.Size != 0 || cp0.Root != hashchain.EmptyRoot {
		t.Errorf("empty checkpoint %+v", cp0)
	}
	out := f.appendN(10)
	cp := f.checkpoint()
	hashes := make([]hashchain.Hash, len(out))
	for i, e := range out {
		hashes[i] = e.LeafHash
	}
	if cp.ID != 2 || cp.Size != 10 || cp.Root != hashchain.Root(hashes) || cp.Origin != f.l.Origin() {
		t.Errorf("checkpoint %+v", cp.Checkpoint)
	}
	got, err := hashchain.VerifyCheckpoint(cp.Note, f.l.VerifierKey())
	if err != nil || got != cp.Checkpoint {
		t.Errorf("stored note: %+v, %v", got, err)
	}
	// Nothing new: the same checkpoint comes back, nothing is stored.
	again := f.checkpoint()
	if again.ID != cp.ID {
		t.Errorf("re-checkpoint stored a duplicate: id %d", again.ID)
	}
	cps, err := f.l.Checkpoints(f.ctx)
	if err != nil || len(cps) != 2 {
		t.Errorf("checkpoints: %d, %v", len(cps), err)
	}
	if latest, ok, err := f.l.LatestCheckpoint(f.ctx); err != nil || !ok || latest.ID != 2 || !bytes.Equal(latest.Note, cp.Note) {
		t.Errorf("latest: %+v %v %v", latest, ok, err)
	}
}

func TestCheckpointWrongKey(t *testing.T) {
	f := newFixture(t)
	f.appendN(3)
	other := newFixture(t)
	sameName, _, err := hashchain.GenerateKey(f.l.Origin()) // right name, wrong key
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{
		"another ledger's key":   other.signer,
		"same name, another key": sameName,
		"garbage":                "PRIVATE+KEY+nonsense",
		"empty":                  "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.l.Checkpoint(f.ctx, key)
			if !errors.Is(err, ErrWrongKey) {
				t.Fatalf("Checkpoint: %v, want ErrWrongKey", err)
			}
			if strings.Contains(err.Error(), "PRIVATE") && key != "" {
				t.Errorf("error shows key material: %v", err)
			}
			t.Log(err)
			if cps, _ := f.l.Checkpoints(f.ctx); len(cps) != 0 {
				t.Errorf("a checkpoint was stored")
			}
		})
	}
}

// TestCheckpointRefusesInconsistentLedger: custody must not sign over a
// ledger whose new entries are damaged or whose history was rewritten.
func TestCheckpointRefusesInconsistentLedger(t *testing.T) {
	t.Run("new entry altered", func(t *testing.T) {
		f := newFixture(t)
		f.appendN(5)
		f.checkpoint()
		f.appendN(5)
		f.raw(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'inbound', 'outbound') AS BLOB) WHERE seq = 7`)
		f.reopen()
		if _, err := f.l.Checkpoint(f.ctx, f.signer); !errors.Is(err, ErrInconsistent) {
			t.Fatalf("Checkpoint: %v, want ErrInconsistent", err)
		}
	})
	t.Run("old history rewritten", func(t *testing.T) {
		f := newFixture(t)
		f.appendN(5)
		f.checkpoint()
		f.appendN(2)
		f.raw(`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf_hash = zeroblob(32) WHERE seq = 1`)
		f.reopen()
		_, err := f.l.Checkpoint(f.ctx, f.signer)
		if !errors.Is(err, ErrInconsistent) {
			t.Fatalf("Checkpoint: %v, want ErrInconsistent", err)
		}
		t.Log(err)
	})
}

func TestProveAndVerifyProof(t *testing.T) {
	f := newFixture(t)
	f.appendN(6)
	if _, err := f.l.Prove(f.ctx, 2); !errors.Is(err, ErrNotCovered) {
		t.Fatalf("Prove without a checkpoint: %v, want ErrNotCovered", err)
	}
	f.checkpoint()
	out := f.appendN(7) // seq 6..12, not covered yet
	if _, err := f.l.Prove(f.ctx, 8); !errors.Is(err, ErrNotCovered) {
		t.Fatalf("Prove of an uncovered entry: %v, want ErrNotCovered", err)
	}
	if _, err := f.l.Prove(f.ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Prove of a missing entry: %v, want ErrNotFound", err)
	}
	f.checkpoint()
	for seq := uint64(0); seq < 13; seq++ {
		p, err := f.l.Prove(f.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if p.TreeSize != 13 {
			t.Errorf("seq %d proved against size %d, want the latest checkpoint", seq, p.TreeSize)
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := leaf.VerifyProof(data, f.l.VerifierKey())
		if err != nil {
			t.Fatalf("seq %d: %v\n%s", seq, err, data)
		}
		if res.Entry.Seq != seq || res.Checkpoint.Size != 13 {
			t.Errorf("seq %d: result %+v", seq, res)
		}
		if seq == 8 && res.Entry.MessageID != out[2].MessageID {
			t.Errorf("seq 8 proves message %q, want %q", res.Entry.MessageID, out[2].MessageID)
		}
	}
}

// proofEdits are edits to a valid proof file, each of which VerifyProof
// must reject.
func proofEdits(t *testing.T, data []byte, wrongKeyNote []byte) map[string][]byte {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(m map[string]any)) []byte {
		var c map[string]any
		json.Unmarshal(data, &c)
		fn(c)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	leaf, _ := base64.StdEncoding.DecodeString(m["leaf"].(string))
	altered := bytes.Replace(leaf, []byte("inbound"), []byte("outbond"), 1)
	if bytes.Equal(altered, leaf) {
		t.Fatal("leaf has no 'inbound' to alter")
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == '0' {
			b[0] = '1'
		} else {
			b[0] = '0'
		}
		return string(b)
	}
	return map[string][]byte{
		"leaf edited": edit(func(m map[string]any) { m["leaf"] = base64.StdEncoding.EncodeToString(altered) }),
		"leaf and leaf_hash edited": edit(func(m map[string]any) {
			m["leaf"] = base64.StdEncoding.EncodeToString(altered)
			m["leaf_hash"] = hashchain.LeafHash(altered).String()
		}),
		"index edited":     edit(func(m map[string]any) { m["index"] = m["index"].(float64) + 1 }),
		"tree size edited": edit(func(m map[string]any) { m["tree_size"] = m["tree_size"].(float64) + 1 }),
		"path hash edited": edit(func(m map[string]any) {
			p := m["inclusion"].([]any)
			p[0] = flip(p[0].(string))
		}),
		"path shortened": edit(func(m map[string]any) { m["inclusion"] = m["inclusion"].([]any)[1:] }),
		// The same hash in upper case: hex is lower case (Conventions).
		"path hash in upper case": edit(func(m map[string]any) {
			p := m["inclusion"].([]any)
			if up := strings.ToUpper(p[0].(string)); up != p[0] {
				p[0] = up
			} else {
				t.Fatal("the path hash has no letter to upper-case")
			}
		}),
		"checkpoint root edited": edit(func(m map[string]any) {
			note := m["checkpoint"].(string)
			lines := strings.SplitN(note, "\n", 4)
			r, _ := base64.StdEncoding.DecodeString(lines[2])
			r[0] ^= 1
			lines[2] = base64.StdEncoding.EncodeToString(r)
			m["checkpoint"] = strings.Join(lines, "\n")
		}),
		"checkpoint signed by another key": edit(func(m map[string]any) { m["checkpoint"] = string(wrongKeyNote) }),
		"unknown member":                   edit(func(m map[string]any) { m["extra"] = 1 }),
		"format":                           edit(func(m map[string]any) { m["format"] = "custody-proof/v2" }),
		"truncated file":                   data[:len(data)/2],
		"trailing data":                    append(append([]byte(nil), data...), []byte(" {}")...),
		// A member twice: encoding/json would read the last, Python's
		// json the last too, others the first; a proof must read alike.
		"index twice": bytes.Replace(data, []byte(`"index": `), []byte(`"index": 0, "index": `), 1),
		"index twice, same value": bytes.Replace(data, []byte(`"tree_size": `),
			[]byte(fmt.Sprintf(`"index": %v, "tree_size": `, m["index"])), 1),
	}
}

func TestVerifyProofRejectsEdits(t *testing.T) {
	f := newFixture(t)
	f.appendN(9)
	cp := f.checkpoint()
	p, err := f.l.Prove(f.ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.MarshalIndent(p, "", "  ")
	if _, err := leaf.VerifyProof(data, f.l.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	sameName, _, _ := hashchain.GenerateKey(f.l.Origin())
	forged, err := hashchain.SignCheckpoint(cp.Checkpoint, sameName)
	if err != nil {
		t.Fatal(err)
	}
	for name, edited := range proofEdits(t, data, forged) {
		t.Run(name, func(t *testing.T) {
			_, err := leaf.VerifyProof(edited, f.l.VerifierKey())
			if err == nil {
				t.Fatalf("edited proof verified:\n%s", edited)
			}
			if !errors.Is(err, leaf.ErrMalformedProof) && !errors.Is(err, hashchain.ErrProof) && !errors.Is(err, hashchain.ErrBadSignature) && !errors.Is(err, hashchain.ErrMalformed) {
				t.Errorf("error %v is none of the documented classes", err)
			}
			t.Log(err)
		})
	}
	// The right proof with another ledger's key.
	other := newFixture(t)
	if _, err := leaf.VerifyProof(data, other.l.VerifierKey()); !errors.Is(err, hashchain.ErrBadSignature) {
		t.Errorf("proof checked with another ledger's key: %v", err)
	}
}

func TestLedgerPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x#y%z", "c.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	l, _, err := Create(context.Background(), path, "m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// TestProveWith: leaf hashes the caller already read give the same proof
// as Prove, whether they cover part of the tree, all of it or more; a
// known hash that is not the stored one is refused, not proved.
func TestProveWith(t *testing.T) {
	f := newFixture(t)
	f.appendN(9)
	f.checkpoint()
	f.appendN(2) // seq 9, 10: not covered by the checkpoint of 9
	var all []hashchain.Hash
	rows, err := f.l.rdb.QueryContext(f.ctx, `SELECT leaf_hash FROM entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var lh []byte
		if err := rows.Scan(&lh); err != nil {
			t.Fatal(err)
		}
		all = append(all, hashchain.Hash(lh))
	}
	rows.Close()
	want, err := f.l.Prove(f.ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 3, 9, 11} {
		got, err := f.l.ProveWith(f.ctx, 5, all[:n])
		if err != nil {
			t.Fatalf("known %d: %v", n, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("known %d: proof %+v, want %+v", n, got, want)
		}
	}
	wrong := slices.Clone(all)
	wrong[2][0] ^= 1
	if _, err := f.l.ProveWith(f.ctx, 5, wrong); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("a wrong known hash: %v, want ErrInconsistent", err)
	}
}

// TestProveIn: the leaf hashes read once (LeafHashes, one read of the
// stored hashes) and a tree over them give Prove's proof of every
// entry, reading no leaf hash again — and still when the checkpoint a
// proof is against is smaller than the tree (from the tree's leaves) or
// larger (reading only the hashes after them); a nil tree is Prove.
// LeafHashes refuses more than the ledger holds (ErrNotFound) and a
// missing entry, even the last one asked for (ErrInconsistent).
func TestProveIn(t *testing.T) {
	f := newFixture(t)
	var reads []int
	f.l.onLeafHashes = func(n int) { reads = append(reads, n) }
	f.appendN(9)
	f.checkpoint()
	f.appendN(4)
	f.checkpoint()
	f.appendN(2) // seq 13, 14: covered by no checkpoint
	var stored []hashchain.Hash
	rows, err := f.l.rdb.QueryContext(f.ctx, `SELECT leaf_hash FROM entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var lh []byte
		if err := rows.Scan(&lh); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hashchain.Hash(lh))
	}
	rows.Close()
	want := make([]leaf.Proof, 13)
	for seq := range want {
		if want[seq], err = f.l.Prove(f.ctx, uint64(seq)); err != nil {
			t.Fatal(err)
		}
	}

	reads = nil
	hashes, err := f.l.LeafHashes(f.ctx, 13)
	if err != nil || !slices.Equal(hashes, stored[:13]) || !slices.Equal(reads, []int{13}) {
		t.Fatalf("LeafHashes(13): %v, %d hashes in reads %v; want the 13 stored in one read", err, len(hashes), reads)
	}
	for _, tc := range []struct {
		name  string
		tree  *hashchain.Tree
		reads []int // for each proof, against the checkpoint of 13
	}{
		{"tree of the checkpoint", hashchain.NewTree(hashes), nil},
		{"tree larger than the checkpoint", hashchain.NewTree(stored), nil},
		{"tree smaller than the checkpoint", hashchain.NewTree(stored[:9]), []int{4}},
		{"no tree", nil, []int{13}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seq := range want {
				reads = nil
				got, err := f.l.ProveIn(f.ctx, uint64(seq), tc.tree)
				if err != nil {
					t.Fatalf("seq %d: %v", seq, err)
				}
				if !reflect.DeepEqual(got, want[seq]) {
					t.Errorf("seq %d: proof %+v, want %+v", seq, got, want[seq])
				}
				if !slices.Equal(reads, tc.reads) {
					t.Errorf("seq %d: leaf hashes read %v, want %v", seq, reads, tc.reads)
				}
			}
		})
	}
	if _, err := f.l.LeafHashes(f.ctx, 16); !errors.Is(err, ErrNotFound) {
		t.Errorf("LeafHashes(16) of 15 entries: %v, want ErrNotFound", err)
	}
	f.raw(`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 12`)
	f.reopen()
	if h, err := f.l.LeafHashes(f.ctx, 13); !errors.Is(err, ErrInconsistent) {
		t.Errorf("LeafHashes(13) without entry 12: %v (%d hashes), want ErrInconsistent", err, len(h))
	}
	if h, err := f.l.LeafHashes(f.ctx, 11); err != nil || !slices.Equal(h, stored[:11]) {
		t.Errorf("LeafHashes(11) without entry 12: %v, %d hashes", err, len(h))
	}
}
