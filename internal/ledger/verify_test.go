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

// tamper is one attack on a ledger: surgery is raw SQL run after the
// ledger was built (10 entries, checkpoints at 4 and 10, a copy of the
// latest checkpoint kept outside).
type tamper struct {
	name    string
	sql     []string
	check   string // expected check of the first finding
	seq     int    // expected seq of the first finding, -1 for none
	message string // expected in the first finding's message
}

var tamperMatrix = []tamper{
	{
		name:    "leaf byte changed",
		sql:     []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'inbound', 'inbounD') AS BLOB) WHERE seq = 6`},
		check:   CheckLeafHash,
		seq:     6,
		message: "leaf altered",
	},
	{
		name: "leaf changed and its hashes recomputed",
		// An attacker who also fixes leaf_hash and the chain from there
		// on still cannot produce the signed root.
		sql:     []string{`DROP TRIGGER entries_append_only_update`, `UPDATE entries SET leaf_hash = zeroblob(32) WHERE seq = 2`},
		check:   CheckLeafHash,
		seq:     2,
		message: "leaf altered",
	},
	{
		name:    "entry deleted",
		sql:     []string{`DROP TRIGGER entries_append_only_delete`, `DELETE FROM entries WHERE seq = 5`},
		check:   CheckSequence,
		seq:     5,
		message: "entry missing: expected seq 5, the next stored entry is seq 6",
	},
	{
		name: "two entries swapped",
		sql: []string{`DROP TRIGGER entries_append_only_update`,
			`UPDATE entries SET seq = 1000 WHERE seq = 3`, `UPDATE entries SET seq = 3 WHERE seq = 4`, `UPDATE entries SET seq = 4 WHERE seq = 1000`},
		check:   CheckChain,
		seq:     3,
		message: "is not ChainLink(previous link, leaf hash)",
	},
	{
		name: "tail truncated (with its checkpoint)",
		sql: []string{`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
			`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`},
		check:   CheckTruncated,
		seq:     -1,
		message: "ledger truncated: checkpoint has 10 entries, ledger has 7",
	},
	{
		name:    "stored root altered",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_update`, `UPDATE checkpoints SET root = zeroblob(32) WHERE id = 1`},
		check:   CheckCheckpointRow,
		seq:     -1,
		message: "differ from the signed note",
	},
	{
		name:    "checkpoint note text altered",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_update`, `UPDATE checkpoints SET note = replace(note, char(10) || '4' || char(10), char(10) || '3' || char(10)) WHERE id = 1`},
		check:   CheckCheckpointSig,
		seq:     -1,
		message: "signature does not verify",
	},
	{
		name:    "stored checkpoint deleted",
		sql:     []string{`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id = 2`},
		check:   "", // still consistent with the external checkpoint: no finding
		seq:     -1,
		message: "",
	},
}

func buildTamperFixture(t *testing.T) (*fixture, []byte) {
	f := newFixture(t)
	f.appendN(4)
	f.checkpoint()
	f.appendN(6)
	cp := f.checkpoint()
	return f, cp.Note
}

func TestVerifyTamperMatrix(t *testing.T) {
	// Untouched, everything holds.
	f, ext := buildTamperFixture(t)
	rep := f.verify(VerifyOptions{External: []ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if !rep.OK || rep.Entries != 10 || rep.Checkpoints != 2 || rep.CoveredEntries != 10 || len(rep.Warnings) != 0 {
		t.Fatalf("clean ledger: %+v", rep)
	}
	for _, tc := range tamperMatrix {
		t.Run(tc.name, func(t *testing.T) {
			f, ext := buildTamperFixture(t)
			f.raw(tc.sql...)
			f.reopen()
			rep := f.verify(VerifyOptions{External: []ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
			if tc.check == "" {
				if !rep.OK {
					t.Fatalf("findings: %v", rep.Findings)
				}
				return
			}
			if rep.OK {
				t.Fatal("tampering not detected")
			}
			first := rep.First()
			t.Logf("first: %s (%d findings)", first, len(rep.Findings))
			if first.Check != tc.check {
				t.Errorf("first finding %q, want %q", first.Check, tc.check)
			}
			if tc.seq < 0 && first.Seq != nil || tc.seq >= 0 && (first.Seq == nil || *first.Seq != uint64(tc.seq)) {
				t.Errorf("first finding at seq %v, want %d", first.Seq, tc.seq)
			}
			if !strings.Contains(first.Message, tc.message) {
				t.Errorf("message %q lacks %q", first.Message, tc.message)
			}
		})
	}
}

// TestVerifyTruncationNeedsOutsideCheckpoint: without the copy kept
// outside, a tail cut together with its checkpoint is invisible; with it,
// it is caught. A rewrite that keeps the size is caught as a root mismatch.
func TestVerifyTruncationNeedsOutsideCheckpoint(t *testing.T) {
	f, ext := buildTamperFixture(t)
	f.raw(`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
		`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`)
	f.reopen()
	if rep := f.verify(VerifyOptions{}); !rep.OK {
		t.Fatalf("without the outside checkpoint: %v", rep.Findings)
	}
	rep := f.verify(VerifyOptions{External: []ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != CheckTruncated {
		t.Fatalf("with it: %+v", rep.Findings)
	}

	// Rewritten history of the same length: re-append different entries
	// after truncating, re-sign with the (stolen) key.
	g, ext := buildTamperFixture(t)
	g.raw(`DROP TRIGGER entries_append_only_delete`, `DROP TRIGGER checkpoints_append_only_delete`,
		`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`)
	g.reopen()
	if _, err := g.l.Append(g.ctx, messages("conv-forged", 3)...); err != nil {
		t.Fatal(err)
	}
	g.checkpoint()
	if rep := g.verify(VerifyOptions{}); !rep.OK {
		t.Fatalf("a rewrite re-signed with the real key is self-consistent: %v", rep.Findings)
	}
	rep = g.verify(VerifyOptions{External: []ExternalCheckpoint{{Name: "outside.note", Note: ext}}})
	if rep.OK || rep.First().Check != CheckCheckpointRoot || !strings.Contains(rep.First().Message, "history rewritten") {
		t.Fatalf("rewrite against the outside checkpoint: %+v", rep.Findings)
	}
	t.Log(rep.First())
}

func TestVerifyResignedWithAnotherKey(t *testing.T) {
	f, _ := buildTamperFixture(t)
	cps, _ := f.l.Checkpoints(f.ctx)
	sameName, _, _ := hashchain.GenerateKey(f.l.Origin())
	forged, err := hashchain.SignCheckpoint(cps[1].Checkpoint, sameName)
	if err != nil {
		t.Fatal(err)
	}
	f.raw(`DROP TRIGGER checkpoints_append_only_update`, fmt.Sprintf(`UPDATE checkpoints SET note = '%s' WHERE id = 2`, forged))
	f.reopen()
	rep := f.verify(VerifyOptions{})
	if rep.OK || rep.First().Check != CheckCheckpointSig || rep.First().Checkpoint != "stored #2" {
		t.Fatalf("findings: %+v", rep.Findings)
	}
	t.Log(rep.First())

	// Verifying with the forger's key fails before looking: its name
	// matches, so the signatures decide — and the genuine one fails.
	_, forgerVerifier, _ := hashchain.GenerateKey("custody/someone-else")
	if _, err := f.l.Verify(f.ctx, VerifyOptions{VerifierKey: forgerVerifier}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("verify with another ledger's key: %v, want ErrWrongKey", err)
	}
	if _, err := f.l.Verify(f.ctx, VerifyOptions{}); !errors.Is(err, ErrNoVerifierKey) {
		t.Errorf("verify without a key: %v, want ErrNoVerifierKey", err)
	}
}

func TestVerifyWarningsAndProgress(t *testing.T) {
	f := newFixture(t)
	f.appendN(5)
	rep := f.verify(VerifyOptions{})
	if !rep.OK || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "no signed checkpoint") {
		t.Errorf("no checkpoint: %+v", rep)
	}
	f.checkpoint()
	f.appendN(3)
	var calls []uint64
	rep = f.verify(VerifyOptions{ProgressEvery: 2, Progress: func(done, total uint64) {
		if total != 8 {
			t.Errorf("total %d", total)
		}
		calls = append(calls, done)
	}})
	if !rep.OK || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "entries 5 to 7 are not covered") {
		t.Errorf("uncovered tail: %+v", rep)
	}
	if fmt.Sprint(calls) != "[2 4 6 8 8]" {
		t.Errorf("progress calls %v", calls)
	}
	if rep.Root == "" || rep.ChainHead == "" {
		t.Error("report lacks root or chain head")
	}
}

// countingCheck is an EntryCheck like the evidence checker will be.
type countingCheck struct {
	n      int
	failAt uint64
}

func (c *countingCheck) Check(_ context.Context, e *leaf.Entry) ([]Finding, error) {
	c.n++
	if e.Seq == c.failAt {
		return []Finding{{Check: CheckEvidence, Message: "evidence object missing"}}, nil
	}
	return nil, nil
}

func (c *countingCheck) Finish(context.Context) ([]Finding, error) {
	return []Finding{{Check: CheckEvidence, Message: "1 unreferenced evidence object", Warning: true}}, nil
}

func TestVerifyEntryChecks(t *testing.T) {
	f := newFixture(t)
	f.appendN(6)
	f.checkpoint()
	c := &countingCheck{failAt: 3}
	rep := f.verify(VerifyOptions{Checks: []EntryCheck{c}})
	if c.n != 6 {
		t.Errorf("check saw %d entries", c.n)
	}
	if rep.OK || rep.First().Check != CheckEvidence || *rep.First().Seq != 3 {
		t.Errorf("findings %+v", rep.Findings)
	}
	if len(rep.Warnings) != 1 {
		t.Errorf("warnings %+v", rep.Warnings)
	}
}

// TestVerifyDuringAppends: verify works on a snapshot while an export
// keeps appending.
func TestVerifyDuringAppends(t *testing.T) {
	f := newFixture(t)
	f.appendN(200)
	f.checkpoint()
	done := make(chan error)
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := f.l.Append(f.ctx, messages(fmt.Sprintf("conc-%d", i), 20)...); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 5; i++ {
		if rep := f.verify(VerifyOptions{}); !rep.OK {
			t.Errorf("verify during appends: %+v", rep.Findings)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h, _ := f.l.Head(f.ctx); h.Size != 600 {
		t.Errorf("size %d", h.Size)
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
