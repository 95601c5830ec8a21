//go:build unix

package folder_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestVerifyFIFO: a FIFO planted where an object should be is reported as
// altered, not read: opening it for reading would wait for a writer.
func TestVerifyFIFO(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := hashchain.Hash(sha256.Sum256([]byte("a pipe")))
	p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep, err := evidence.Verify(ctx, evidence.ReadOnly(s), evidence.Sums([]hashchain.Hash{sum}), evidence.VerifyOptions{})
		if err != nil || len(rep.Altered) != 1 || !strings.Contains(rep.Altered[0].Detail, "not a regular file") {
			t.Errorf("verify of a FIFO: %v %+v", err, rep)
		}
		if _, err := s.Get(ctx, sum); !errors.Is(err, evidence.ErrCorrupt) {
			t.Errorf("get of a FIFO: err = %v, want ErrCorrupt", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("verify blocked opening a FIFO")
	}
}
