//go:build unix

package produce_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/testutil/slowfs"
	"github.com/custodyhq/custody/internal/verify"
)

// TestVerifyProductionHostileAndInOrder: files and proofs are checked
// many at once, but the findings come in the manifest's order, the same
// every time; a FIFO put in a file's or a proof's place is refused, not
// waited on; and a production on a network share (the slowfs model) is
// read many files at once.
func TestVerifyProductionHostileAndInOrder(t *testing.T) {
	m, out, pm := produced(t)
	ctx := context.Background()
	key := m.l.VerifierKey()
	if len(pm.Messages) < 6 {
		t.Fatalf("%d messages produced, want 6 or more", len(pm.Messages))
	}

	dir := filepath.Join(t.TempDir(), "p")
	copyDir(t, out, dir)
	var want []string
	for i, msg := range pm.Messages {
		if i%3 != 1 {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(msg.Proof)), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, msg.Proof)
	}
	fifoFile, fifoProof := pm.Files[0].Path, pm.Messages[0].Proof
	for _, name := range []string{fifoFile, fifoProof} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func() *verify.ProductionReport {
		t.Helper()
		done := make(chan *verify.ProductionReport, 1)
		go func() {
			rep, err := verify.Production(ctx, dir, verify.ProductionOptions{VerifierKey: key})
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
		select {
		case rep := <-done:
			return rep
		case <-time.After(30 * time.Second):
			t.Fatal("verify --production blocked on a FIFO")
			return nil
		}
	}
	first, again := check(), check()
	if first == nil || again == nil || first.OK {
		t.Fatalf("a damaged production verified: %+v", first)
	}
	if !slices.Equal(first.Findings, again.Findings) {
		t.Errorf("findings differ between two runs:\n%v\n%v", first.Findings, again.Findings)
	}
	var proofs []string
	fifos := map[string]bool{}
	for _, f := range first.Findings {
		switch {
		case f.Message == "not a regular file":
			fifos[f.File] = true
		case f.Check == verify.ProdCheckProof:
			proofs = append(proofs, f.File)
		}
	}
	if !fifos[fifoFile] || !fifos[fifoProof] {
		t.Errorf("the FIFOs are not both named as not regular files: %v", first.Findings)
	}
	if !slices.Equal(proofs, want) {
		t.Errorf("damaged proofs reported %v, want %v (the manifest's order)", proofs, want)
	}

	share := slowfs.Mount(t, out, 2*time.Millisecond)
	share.ResetPeak()
	rep, err := verify.Production(ctx, share.Dir, verify.ProductionOptions{VerifierKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("the production on a share does not verify: %+v", rep.Findings)
	}
	if p := share.Peak(); p < 8 {
		t.Errorf("the share held at most %d requests at once: the production's files were not read many at once", p)
	}
}
