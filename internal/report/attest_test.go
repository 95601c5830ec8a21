package report_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/tsa"
)

// TestReportProofsAttested: the demo timestamps and cosigns its checkpoint
// before it writes the report, so every proof file of the report carries
// the tokens and cosignature lines the ledger stores for the checkpoint it
// is proved against — what custody prove gives — and verify --proof can
// state the time.
func TestReportProofsAttested(t *testing.T) {
	res := demoMatter(t)
	m, _, _ := openDemo(t)
	ctx := context.Background()
	cps, err := m.Ledger.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := m.Ledger.Timestamps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cos, err := m.Ledger.Cosignatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(res.ReportDir, "proofs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("the demo's report wrote no proofs")
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p, err := leaf.ParseProof(b)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		// The stored checkpoint it is proved against, and what others
		// attested of it.
		var id int64
		var note []byte
		for _, cp := range cps {
			if cp.Size == p.TreeSize {
				id, note = cp.ID, cp.Note
			}
		}
		if id == 0 {
			t.Fatalf("%s: no stored checkpoint of size %d", e.Name(), p.TreeSize)
		}
		var tokens [][]byte
		for _, r := range ts {
			if r.CheckpointID == id && r.Token != nil {
				tokens = append(tokens, r.Token)
			}
		}
		want := string(note)
		for _, c := range cos {
			if c.CheckpointID == id {
				want += c.Signature
			}
		}
		if len(tokens) == 0 || want == string(note) {
			t.Fatalf("checkpoint %d: %d tokens, cosigned %v: the demo should attest it", id, len(tokens), want != string(note))
		}
		if string(p.Checkpoint) != want {
			t.Fatalf("%s: checkpoint\n%s\nwant it with its cosignatures\n%s", e.Name(), p.Checkpoint, want)
		}
		if len(p.Timestamps) != len(tokens) {
			t.Fatalf("%s: %d timestamps, the ledger stores %d for checkpoint %d", e.Name(), len(p.Timestamps), len(tokens), id)
		}
		for i, pt := range p.Timestamps {
			if !bytes.Equal(pt.Token, tokens[i]) || !strings.HasPrefix(pt.TSA, "http") {
				t.Fatalf("%s: timestamp %d is not the stored token", e.Name(), i)
			}
			if _, err := tsa.Verify(pt.Token, tsa.Imprint(leaf.LedgerNote(p.Checkpoint)), nil); err != nil {
				t.Fatalf("%s: timestamp %d: %v", e.Name(), i, err)
			}
		}
		if _, err := p.Verify(m.Ledger.VerifierKey()); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
	}
}
