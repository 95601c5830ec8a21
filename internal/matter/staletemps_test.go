package matter_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/matter"
)

// A write killed part-way (a produce keeping its manifest) leaves a
// temporary file in the store; the next command that writes the matter
// removes it when it opens the store, and says so once. A temporary
// newer than its lock (a write by something else begun since) and other
// strays stay, and a reader removes nothing. On the old code only erase
// removed them, and verify warned about them for ever.
func TestWriterRemovesStaleTemporaries(t *testing.T) {
	ctx := context.Background()
	opts := newMatter(t)
	ev := filepath.Join(filepath.Dir(opts.Ledger), "evidence")
	old := time.Now().Add(-time.Hour)
	files := map[string]time.Time{
		"sha256/ee/.tmp-1091810095": old,
		"checkpoints/.tmp-77":       old,
		"sha256/ab/.tmp-later":      time.Now().Add(time.Hour),
		"sha256/ab/notes.txt":       old,
	}
	for name, mt := range files {
		p := filepath.Join(ev, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half a manifest"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	open := func(readOnly bool) []string {
		t.Helper()
		var warned []string
		o := opts
		o.ReadOnly = readOnly
		o.Warn = func(s string) { warned = append(warned, s) }
		m, err := matter.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if _, err := m.Evidence(ctx); err != nil {
			t.Fatal(err)
		}
		return warned
	}
	if w := open(true); len(w) != 0 {
		t.Fatalf("a reader warned %q", w)
	}
	w := open(false)
	if len(w) != 1 || !strings.Contains(w[0], "removed 2 temporary file(s)") || !strings.Contains(w[0], "sha256/ee/.tmp-1091810095") {
		t.Fatalf("warned %q, want one message naming the 2 removed", w)
	}
	for name := range files {
		_, err := os.Stat(filepath.Join(ev, filepath.FromSlash(name)))
		if gone := os.IsNotExist(err); gone != (files[name].Equal(old) && strings.Contains(name, ".tmp-")) {
			t.Errorf("%s: removed %v", name, gone)
		}
	}
	if w := open(false); len(w) != 0 {
		t.Fatalf("the next writer warned %q, want nothing left to remove", w)
	}
}
