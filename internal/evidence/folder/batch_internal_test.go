package folder

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

func sumOf(b []byte) hashchain.Hash { return hashchain.Hash(sha256.Sum256(b)) }

// countSyncs counts the fsyncs of files and of directories until the test
// ends.
func countSyncs(t *testing.T) (files, dirs *atomic.Int64) {
	files, dirs, _ = countAllSyncs(t)
	return files, dirs
}

// countAllSyncs counts the fsyncs of files and directories and the
// syncfs calls until the test ends.
func countAllSyncs(t *testing.T) (files, dirs, fss *atomic.Int64) {
	files, dirs, fss = new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
	sf, sd, sfs := syncFile, syncDirFile, syncfsFile
	syncFile = func(f *os.File) error { files.Add(1); return sf(f) }
	syncDirFile = func(f *os.File) error { dirs.Add(1); return sd(f) }
	syncfsFile = func(f *os.File) error { fss.Add(1); return sfs(f) }
	t.Cleanup(func() { syncFile, syncDirFile, syncfsFile = sf, sd, sfs })
	return files, dirs, fss
}

// noTempLeft fails t if any temporary file of a write is left under dir.
func noTempLeft(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), tmpPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// perFileSyncs turns syncfs off until the test ends.
func perFileSyncs(t *testing.T) {
	u := useSyncfs
	useSyncfs = false
	t.Cleanup(func() { useSyncfs = u })
}

// conversation is what one conversation's capture stores: its object, a
// bulk page of messages and the deletion-protection answer.
func conversation(i int) [][]byte {
	return [][]byte{fmt.Appendf(nil, `{"id":"conv-%d"}`, i), fmt.Appendf(nil, `{"entities":[%d]}`, i), fmt.Appendf(nil, `{"protected":%d}`, i)}
}

// TestPutBatchSyncs counts fsyncs per conversation, one Put per object
// against one PutBatch, into shard directories that already exist: Put
// syncs each file and its directory; PutBatch each file and each distinct
// directory once, and nothing for an object already stored.
func TestPutBatchSyncs(t *testing.T) {
	perFileSyncs(t)
	ctx := context.Background()
	s, err := Open(t.TempDir(), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Create every shard directory first, so that neither side pays
	// for creating one.
	for i := range 256 {
		if err := s.(*folder).mkdirs(s.(*folder).path(fmt.Sprintf("%s/%02x", evidence.Dir, i))); err != nil {
			t.Fatal(err)
		}
	}
	files, dirs := countSyncs(t)
	const convs = 50
	for i := range convs {
		for _, d := range conversation(i) {
			if _, err := s.Put(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	putFiles, putDirs := files.Swap(0), dirs.Swap(0)
	distinct := 0
	for i := range convs {
		data := conversation(convs + i)
		shards := map[string]bool{}
		for _, d := range data {
			shards[evidence.Key(sumOf(d))[:len(evidence.Dir)+3]] = true
		}
		distinct += len(shards)
		if _, err := evidence.PutAll(ctx, s, data); err != nil {
			t.Fatal(err)
		}
	}
	batchFiles, batchDirs := files.Swap(0), dirs.Swap(0)
	t.Logf("fsyncs per conversation of 3 objects: Put %.2f (%.2f files + %.2f dirs), PutBatch %.2f (%.2f + %.2f)",
		float64(putFiles+putDirs)/convs, float64(putFiles)/convs, float64(putDirs)/convs,
		float64(batchFiles+batchDirs)/convs, float64(batchFiles)/convs, float64(batchDirs)/convs)
	if putFiles != 3*convs || putDirs != 3*convs {
		t.Errorf("Put: %d file and %d directory fsyncs for %d objects, want one each per object", putFiles, putDirs, 3*convs)
	}
	if batchFiles != 3*convs || batchDirs != int64(distinct) {
		t.Errorf("PutBatch: %d file and %d directory fsyncs, want %d and %d (one per distinct directory)", batchFiles, batchDirs, 3*convs, distinct)
	}
	// Stored again: nothing to sync.
	if _, err := evidence.PutAll(ctx, s, conversation(0)); err != nil {
		t.Fatal(err)
	}
	if n := files.Load() + dirs.Load(); n != 0 {
		t.Errorf("PutBatch of stored objects: %d fsyncs, want 0", n)
	}
}
