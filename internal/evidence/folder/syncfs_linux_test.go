//go:build linux

package folder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
)

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"5.8.0", true}, {"5.7.19", false}, {"6.1.0-18-amd64", true}, {"4.19.0", false},
		{"5.10", true}, {"10.0.0", true}, {"5", false}, {"", false}, {"x.y", false}, {"5.8rc1", true},
	} {
		if got := kernelAtLeast(c.release, 5, 8); got != c.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", c.release, got, c.want)
		}
	}
}

// syncfsHere skips the test when this machine's temp folder is not one
// PutBatch syncs with syncfs (an old kernel, overlayfs…): the per-file
// path is what runs there, and TestPutBatchSyncs covers it.
func syncfsHere(t *testing.T, dir string) {
	t.Helper()
	d, err := openSyncfs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil {
		t.Skipf("syncfs is not used for %s on this machine (kernel before 5.8 or file system not listed): per-file fsync", dir)
	}
	d.Close()
}

// TestPutBatchSyncfs: a batch of many new objects costs two syncfs
// calls (the files, then their links) and no fsync; a small batch keeps
// per-file fsync; objects already stored cost nothing.
func TestPutBatchSyncfs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	syncfsHere(t, dir)
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, dirs, fss := countAllSyncs(t)
	var data [][]byte
	for i := range 20 {
		data = append(data, conversation(i)...)
	}
	refs, err := evidence.PutAll(ctx, s, data)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		got, err := s.Get(ctx, r.Sum)
		if err != nil || string(got) != string(data[i]) || r.Existed {
			t.Fatalf("object %d: %q, %v (existed %v)", i, got, err, r.Existed)
		}
	}
	// The new shard directories too are made durable by the syncfs.
	if f, d, fs := files.Load(), dirs.Load(), fss.Load(); f != 0 || d != 0 || fs != 2 {
		t.Errorf("batch of %d new objects into new directories: %d file and %d directory fsyncs and %d syncfs, want 0, 0 and 2", len(data), f, d, fs)
	}
	files.Store(0)
	dirs.Store(0)
	fss.Store(0)
	if _, err := evidence.PutAll(ctx, s, data); err != nil {
		t.Fatal(err)
	}
	if n := files.Load() + dirs.Load() + fss.Load(); n != 0 {
		t.Errorf("batch of stored objects: %d syncs, want 0", n)
	}
	small := conversation(1000)[:syncfsMin-1]
	if _, err := evidence.PutAll(ctx, s, small); err != nil {
		t.Fatal(err)
	}
	if f, fs := files.Load(), fss.Load(); f != int64(len(small)) || fs != 0 {
		t.Errorf("batch of %d new objects: %d file fsyncs and %d syncfs, want %d and 0", len(small), f, fs, len(small))
	}
}

// TestPutBatchSyncfsFails: when the first syncfs fails, nothing is
// linked into place (no name points at bytes that may be lost) and no
// temporary file is left; when the second fails, the error is returned.
func TestPutBatchSyncfsFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	syncfsHere(t, dir)
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, failAt := range []int{1, 2} {
		t.Run(fmt.Sprint("call ", failAt), func(t *testing.T) {
			orig := syncfsFile
			t.Cleanup(func() { syncfsFile = orig })
			calls := 0
			syncfsFile = func(f *os.File) error {
				calls++
				if calls == failAt {
					return errors.New("injected EIO")
				}
				return orig(f)
			}
			var data [][]byte
			for i := range 4 {
				data = append(data, conversation(100*failAt+i)...)
			}
			_, err := evidence.PutAll(ctx, s, data)
			if err == nil || !strings.Contains(err.Error(), "injected EIO") {
				t.Fatalf("PutAll: %v, want the syncfs error", err)
			}
			for i, d := range data {
				ok, err := s.Exists(ctx, sumOf(d))
				if err != nil {
					t.Fatal(err)
				}
				if failAt == 1 && ok {
					t.Errorf("object %d linked into place though its bytes were not made durable", i)
				}
			}
			noTempLeft(t, dir)
		})
	}
}

// BenchmarkPutBatchSyncfs stores batches of n new 4 KiB objects, made
// durable file by file (fsync) or with syncfs, side by side in one run;
// b.N counts objects. It is how syncfsMin was chosen.
func BenchmarkPutBatchSyncfs(b *testing.B) {
	for _, n := range []int{2, 4, 14, 56} {
		for _, mode := range []string{"fsync", "syncfs"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				ctx := context.Background()
				s, err := Open(b.TempDir(), evidence.Options{})
				if err != nil {
					b.Fatal(err)
				}
				u, m := useSyncfs, syncfsMin
				useSyncfs, syncfsMin = mode == "syncfs", 1
				b.Cleanup(func() { useSyncfs, syncfsMin = u, m })
				batch := make([][]byte, n)
				for i := range batch {
					batch[i] = make([]byte, 4096)
				}
				b.SetBytes(4096)
				for done := 0; done < b.N; done += n {
					for i := range batch {
						binary.BigEndian.PutUint64(batch[i], uint64(done+i))
					}
					if _, err := evidence.PutAll(ctx, s, batch); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestPutBatchSyncfsOtherFileSystem: a file that turns out to be on
// another file system than the store's root (a shard directory mounted
// from elsewhere) makes the batch fall back to fsync: every file, and the
// parent of every directory the batch created, then the linked
// directories; no syncfs.
func TestPutBatchSyncfsOtherFileSystem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	syncfsHere(t, dir)
	s, err := Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	orig := sameFileSystem
	sameFileSystem = func(uint64, *os.File) (bool, error) { return false, nil }
	t.Cleanup(func() { sameFileSystem = orig })
	files, dirs, fss := countAllSyncs(t)
	data := append(conversation(1), conversation(2)...)
	if _, err := evidence.PutAll(ctx, s, data); err != nil {
		t.Fatal(err)
	}
	shards := map[string]bool{}
	for _, d := range data {
		shards[evidence.Key(sumOf(d))[:len(evidence.Dir)+3]] = true
	}
	// Parents: the root (for sha256/) and sha256/ (for each shard); then
	// each shard that received a link.
	if f, d, fs := files.Load(), dirs.Load(), fss.Load(); f != int64(len(data)) || d < int64(1+2*len(shards)) || fs != 0 {
		t.Errorf("%d file and %d directory fsyncs and %d syncfs, want %d, at least %d and 0", f, d, fs, len(data), 1+2*len(shards))
	}
	for _, d := range data {
		if got, err := s.Get(ctx, sumOf(d)); err != nil || string(got) != string(d) {
			t.Fatalf("%q: %q %v", d, got, err)
		}
	}
}
