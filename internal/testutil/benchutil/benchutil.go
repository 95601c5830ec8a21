package benchutil

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Messages is a benchmark's size in messages: CUSTODY_BENCH_MESSAGES when
// set (the 1,000,000-message figures), else def.
func Messages(b *testing.B, def int) int {
	if s := os.Getenv("CUSTODY_BENCH_MESSAGES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("CUSTODY_BENCH_MESSAGES=%q: want a positive number", s)
		}
		return n
	}
	return def
}

// WriteTree writes files (relative name → content) under a new temp dir
// and returns it.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// CrashSeed is the seed of a crash campaign's kill times: 1, or
// $CUSTODY_CRASH_SEED, so that a campaign can be run again with other
// kill points (and a failure reproduced with the seed it logs).
func CrashSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(1)
	if s := os.Getenv("CUSTODY_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CUSTODY_CRASH_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("kill times from seed %d (CUSTODY_CRASH_SEED)", seed)
	return seed
}
