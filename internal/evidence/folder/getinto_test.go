//go:build unix

package folder_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/hashchain"
)

// TestGetInto gives what Get gives — the bytes, or an error of the same
// kind — for stored objects, absent ones, a FIFO, a directory and
// objects over the size limit, whatever the buffer it is handed.
func TestGetInto(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := folder.Open(dir, evidence.Options{MaxSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	gi, ok := evidence.ReadOnly(s).(evidence.GetIntoer) // through the wrapper read-only commands use
	if _, direct := s.(evidence.GetIntoer); !direct {
		t.Fatal("the folder store has no GetInto")
	}
	if !ok {
		t.Fatal("the folder store has no GetInto")
	}
	plant := func(data []byte) (hashchain.Hash, string) {
		sum := hashchain.Hash(sha256.Sum256(data))
		p := filepath.Join(dir, filepath.FromSlash(evidence.Key(sum)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return sum, p
	}
	var sums []hashchain.Hash
	for _, n := range []int{0, 1, 99, 100} {
		ref, err := s.Put(ctx, bytes.Repeat([]byte{'x'}, n))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, ref.Sum)
	}
	big, p := plant([]byte("too large"))
	if err := os.WriteFile(p, bytes.Repeat([]byte{'y'}, 101), 0o444); err != nil {
		t.Fatal(err)
	}
	fifo, p := plant([]byte("a pipe"))
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	sub, p := plant([]byte("a folder"))
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	absent := hashchain.Hash(sha256.Sum256([]byte("absent")))
	sums = append(sums, big, fifo, sub, absent)
	for _, buf := range [][]byte{nil, make([]byte, 0, 1), make([]byte, 5, 200)} {
		for _, sum := range sums {
			want, wantErr := s.Get(ctx, sum)
			got, gotErr := gi.GetInto(ctx, sum, buf)
			if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("%s: GetInto %d bytes, %v; Get %d bytes, %v", sum, len(got), gotErr, len(want), wantErr)
			}
			for _, kind := range []error{fs.ErrNotExist, evidence.ErrTooLarge, evidence.ErrCorrupt} {
				if errors.Is(gotErr, kind) != errors.Is(wantErr, kind) {
					t.Errorf("%s: GetInto %v, Get %v", sum, gotErr, wantErr)
				}
			}
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := gi.GetInto(cancelled, sums[0], nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
