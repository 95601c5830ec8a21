package erase_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
)

// treeState lists every file under dir with its size, modification time
// and SHA-256, but SQLite's shared-memory index (-shm), whose lock
// words any reader of the ledger writes (verify too).
func treeState(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "-shm") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %d %x", p, info.Size(), info.ModTime().UnixNano(), sha256.Sum256(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEraseDryRun: a dry run says what the erasure would do — the same
// objects deleted, collateral messages, objects kept, productions and
// reports named, places left — and changes nothing: no file under the
// matter's folder (ledger, evidence) changes its bytes or modification
// time, and none comes or goes. A conversation under legal hold is
// previewed, said held, not refused. Before, there was no way to see the
// collateral of erasing one message before it was done (review L5).
func TestEraseDryRun(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, held := m.conversations(t)
	msg := messagesOf(t, m, free[0])[0]
	before := treeState(t, m.le.Dir)
	size := m.size(t)
	dry, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msg}, Operator: "dpo", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || dry.Seq != 0 || len(dry.Detail.Erased) == 0 || len(dry.Detail.Collateral) == 0 {
		t.Fatalf("dry run: %+v, want objects to delete and collateral", dry)
	}
	if after := treeState(t, m.le.Dir); !slices.Equal(before, after) || m.size(t) != size {
		t.Fatalf("a dry run changed the matter's files (%d entries → %d):\nbefore %v\nafter  %v", size, m.size(t), before, after)
	}
	hd, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{held[0]}, Operator: "dpo", DryRun: true})
	if err != nil || !slices.Equal(hd.Held, []string{held[0]}) {
		t.Fatalf("dry run of a held conversation: %v, held %v", err, hd)
	}
	if after := treeState(t, m.le.Dir); !slices.Equal(before, after) {
		t.Fatal("a dry run of a held conversation changed the matter's files")
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msg}, Reason: "DSR-5", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	d, r := dry.Detail, res.Detail
	if !slices.Equal(d.Erased, r.Erased) || !slices.Equal(d.Collateral, r.Collateral) || !slices.Equal(d.Messages, r.Messages) ||
		fmt.Sprint(d.Kept) != fmt.Sprint(r.Kept) || fmt.Sprint(d.Outputs) != fmt.Sprint(r.Outputs) || fmt.Sprint(dry.Remains) != fmt.Sprint(res.Remains) {
		t.Errorf("the dry run said\n%+v\n%+v\nthe erasure did\n%+v\n%+v", d, dry.Remains, r, res.Remains)
	}
}
