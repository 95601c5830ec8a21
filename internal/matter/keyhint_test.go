//go:build !windows

package matter_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/matter"
)

// TestSignerKeyHintQuotesPath: the readable-key warning's chmod command
// names the key as one shell word, so that, copied as shown, it changes
// the key's mode and nothing else when the matter's folder name holds a
// space (review-commits4 L3: it ran chmod 600 on '/cases/My').
func TestSignerKeyHintQuotesPath(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "My Matter")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	opts := matter.Options{Ledger: filepath.Join(dir, "custody.db"), Warn: func(s string) { warnings = append(warnings, s) }}
	m, err := matter.Create(ctx, opts, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	key := matter.SignerKeyPath(opts.Ledger)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SignerKey(); err != nil {
		t.Fatal(err)
	}
	want := "chmod 600 '" + key + "'"
	if len(warnings) != 1 || !strings.HasSuffix(warnings[0], want) {
		t.Errorf("warnings %q, want one ending %q", warnings, want)
	}
}
