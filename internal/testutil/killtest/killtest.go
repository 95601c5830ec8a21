// Package killtest runs a test binary again as a child process that
// kills itself (SIGKILL: no deferred cleanup, nothing flushed) at a point
// its test chooses, on a matter folder the test made: how erase, report
// and produce show that a run cut short is finished by the next.
package killtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// Main is the TestMain of a package with a kill helper: with env set in
// the environment the binary is the helper and exits with what helper
// returns (it should never return: Die); otherwise the tests run.
func Main(m *testing.M, env string, helper func() int) {
	if os.Getenv(env) != "" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

// Die kills this process with SIGKILL and never returns.
func Die() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// Run runs this test binary as the helper — env set, and each of vars
// ("NAME=VALUE") — and fails t unless it was killed by SIGKILL.
func Run(t testing.TB, env string, vars ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env+"=1"), vars...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the helper was not killed: %v\n%s", err, stderr.String())
	}
}

// OpenDir opens, in the helper, the matter the test made in dir: its
// ledger custody.db (with opts) and its evidence folder.
func OpenDir(ctx context.Context, dir string, opts ledger.Options) (*ledger.Ledger, evidence.Store, error) {
	l, err := ledger.Open(ctx, filepath.Join(dir, "custody.db"), opts)
	if err != nil {
		return nil, nil, err
	}
	st, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return l, st, nil
}

// DyingStore is a store that kills the process at its first read.
type DyingStore struct{ evidence.Store }

// Get dies.
func (DyingStore) Get(context.Context, hashchain.Hash) ([]byte, error) {
	Die()
	return nil, nil
}
