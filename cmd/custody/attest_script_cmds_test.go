package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/testutil/needtool"
)

// scriptT is a testscript.T that records whether a script failed, and
// its log, instead of failing the test: for a test of a script command
// whose failure is the point.
type scriptT struct {
	mu     sync.Mutex
	log    strings.Builder
	failed bool
}

var errScriptStopped = errors.New("script stopped")

func (t *scriptT) Skip(args ...any)  { t.Log(args...); panic(errScriptStopped) }
func (t *scriptT) Fatal(args ...any) { t.Log(args...); t.FailNow() }
func (t *scriptT) Parallel()         {}
func (t *scriptT) Verbose() bool     { return false }

func (t *scriptT) Log(args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(&t.log, args...)
}

func (t *scriptT) FailNow() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	panic(errScriptStopped)
}

func (t *scriptT) Run(_ string, f func(testscript.T)) {
	defer func() {
		if r := recover(); r != nil && r != errScriptStopped {
			panic(r)
		}
	}()
	f(t)
}

// TestOpenSSLTSVerifyNeedsAToken: the scripts' openssl-ts-verify fails the
// script when the row it names holds no token (a recorded gap) or is not
// there, with or without '!'. openssl refuses an empty token, so
// "! openssl-ts-verify" of a gap passed, testing nothing: the old command
// passed the first case (attest_timestamps.txt checked a gap so for
// what it meant to be the untrusted token), and failed the next two
// without saying why.
func TestOpenSSLTSVerifyNeedsAToken(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		needtool.Missing(t, "openssl")
	}
	// Row 1: checkpoint 1's gap (the authority down); row 2: its token.
	const script = `tsa-start
exec custody init --matter acme
ledger-append custody.db 2
tsa-fault down
exec custody checkpoint --tsa $TSA --tsa-roots tsa-root.pem
stderr 'has no timestamp from'
tsa-fault none
exec custody checkpoint --timestamp-missing
stdout 'timestamped'
`
	for _, tc := range []struct {
		name, line string
		says       string // in the failure; "": the script passes
	}{
		{"a gap", "! openssl-ts-verify custody.db 1 tsa-root.pem", "openssl-ts-verify: row 1 of custody.db holds no token (a recorded gap: "},
		{"a gap, without !", "openssl-ts-verify custody.db 1 tsa-root.pem", "openssl-ts-verify: row 1 of custody.db holds no token"},
		{"no such row", "! openssl-ts-verify custody.db 3 tsa-root.pem", "openssl-ts-verify: custody.db has no row 3 in checkpoint_timestamps"},
		{"a token", "openssl-ts-verify custody.db 2 tsa-root.pem", ""},
		{"a token, another CA's root", "tsa-other-root other.pem\n! openssl-ts-verify custody.db 2 other.pem", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "gap.txt"), []byte(script+tc.line+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			st := &scriptT{}
			testscript.RunT(st, testscript.Params{
				Dir: dir,
				Setup: func(env *testscript.Env) error {
					env.Setenv("CUSTODY_LEDGER", "")
					env.Setenv("GORACE", "atexit_sleep_ms=0")
					return nil
				},
				Cmds: mergeCmds(scriptCmds, attestScriptCmds()),
			})
			switch {
			case tc.says == "" && st.failed:
				t.Fatalf("the script failed:\n%s", st.log.String())
			case tc.says != "" && !st.failed:
				t.Fatalf("%q passed, want the script to fail saying %q:\n%s", tc.line, tc.says, st.log.String())
			case tc.says != "" && !strings.Contains(st.log.String(), "FAIL: "+filepath.Join(dir, "gap.txt")+":10: "+tc.says):
				t.Fatalf("%q failed, but not saying %q at line 10:\n%s", tc.line, tc.says, st.log.String())
			}
		})
	}
}
