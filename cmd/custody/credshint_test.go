//go:build !windows

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCredentialsHintQuotesPath: the error's chmod command names the
// credentials file as one shell word, so that, copied as shown, it changes
// that file's mode and nothing else when its path holds a space
// (review-commits4 L3).
func TestCredentialsHintQuotesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "client secrets")
	if err := os.WriteFile(p, []byte("b:sb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readCredentialsFile(p)
	if want := "chmod 600 '" + p + "'"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error %v, want it to end %q", err, want)
	}
}
