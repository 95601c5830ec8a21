// Package dirtest lists folders for tests that check what a command left
// behind (a refused report, a killed production, a key written once).
package dirtest

import (
	"os"
	"testing"
)

// Names lists the names in dir, sorted, failing the test when dir cannot
// be read.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
