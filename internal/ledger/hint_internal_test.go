package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaleWALHintQuotesFolder: the hint's chmod command names the copy's
// folder as one shell word, so that, copied as shown, it write-protects
// that folder and nothing else when its name holds a space (review L5).
func TestStaleWALHintQuotesFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "matter copy")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := staleWAL(filepath.Join(dir, "custody.db"), errors.New("unable to open database file"))
	if want := "chmod -R a-w '" + dir + "'"; err == nil || !strings.Contains(err.Error()+hintOf(err), want) {
		t.Errorf("hint %q, want it to hold %q", hintOf(err), want)
	}
}

// hintOf is err's hint, if it has one.
func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}
