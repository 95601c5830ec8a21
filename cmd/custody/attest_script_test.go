package main

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/witness"
)

// attestScriptCmds give the scripts a test timestamp authority and
// witnesses, in process:
//
//	tsa-start                 start a test TSA: $TSA, and its root in tsa-root.pem
//	tsa-other-root FILE       write the root of another test CA to FILE
//	tsa-fault NAME            make it misbehave (tsasim faults; none clears)
//	witness-start NAME KEY LOGKEY STATE
//	                          serve a witness with signer key file KEY for the
//	                          ledger key file LOGKEY: $WITNESS_NAME is its URL
//	witness-stop NAME         stop it: its URL refuses connections
//	openssl-ts-verify LEDGER ROW ROOT
//	                          check stored token ROW with openssl ts -verify
//	                          -digest <SHA-256 of its checkpoint's note> -CAfile ROOT;
//	                          a row with no token (a gap) fails the script,
//	                          with or without '!'
func attestScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	var mu sync.Mutex
	tsas := map[*testscript.TestScript]*tsasim.Server{}
	type witnessKey struct {
		ts   *testscript.TestScript
		name string
	}
	witnesses := map[witnessKey]*httptest.Server{}
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"tsa-start": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 0 {
				ts.Fatalf("usage: tsa-start")
			}
			s, err := tsasim.Start(tsasim.Options{})
			ts.Check(err)
			mu.Lock()
			tsas[ts] = s
			mu.Unlock()
			ts.Defer(func() {
				s.Close()
				mu.Lock()
				delete(tsas, ts)
				mu.Unlock()
			})
			ts.Setenv("TSA", s.URL)
			ts.Check(os.WriteFile(ts.MkAbs("tsa-root.pem"), s.RootPEM, 0o644))
		},
		"tsa-other-root": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: tsa-other-root FILE")
			}
			s, err := tsasim.Start(tsasim.Options{})
			ts.Check(err)
			s.Close()
			ts.Check(os.WriteFile(ts.MkAbs(args[0]), s.RootPEM, 0o644))
		},
		"tsa-fault": func(ts *testscript.TestScript, neg bool, args []string) {
			mu.Lock()
			s := tsas[ts]
			mu.Unlock()
			if neg || len(args) != 1 || s == nil {
				ts.Fatalf("usage: tsa-fault NAME (after tsa-start)")
			}
			f, err := tsasim.ParseFault(args[0])
			ts.Check(err)
			s.SetFault(f)
		},
		"witness-start": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 4 {
				ts.Fatalf("usage: witness-start NAME KEYFILE LOGKEYFILE STATEDIR")
			}
			skey, err := os.ReadFile(ts.MkAbs(args[1]))
			ts.Check(err)
			lkey, err := os.ReadFile(ts.MkAbs(args[2]))
			ts.Check(err)
			w, err := witness.New(strings.TrimSpace(string(skey)), []string{strings.TrimSpace(string(lkey))}, ts.MkAbs(args[3]))
			ts.Check(err)
			srv := httptest.NewServer(witness.Handler(w))
			k := witnessKey{ts, args[0]}
			mu.Lock()
			witnesses[k] = srv
			mu.Unlock()
			ts.Defer(func() {
				srv.Close()
				mu.Lock()
				delete(witnesses, k)
				mu.Unlock()
			})
			ts.Setenv("WITNESS_"+args[0], srv.URL)
		},
		"witness-stop": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: witness-stop NAME")
			}
			mu.Lock()
			srv := witnesses[witnessKey{ts, args[0]}]
			mu.Unlock()
			if srv == nil {
				ts.Fatalf("witness-stop: no witness %s", args[0])
			}
			srv.Close()
		},
		"openssl-ts-verify": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 3 {
				ts.Fatalf("usage: openssl-ts-verify LEDGER ROW ROOT")
			}
			openssl, err := exec.LookPath("openssl")
			if err != nil {
				ts.Fatalf("openssl is not installed (scripts/install-test-deps.sh installs it)")
			}
			db, err := sql.Open("sqlite3", "file:"+ts.MkAbs(args[0])+"?mode=ro")
			ts.Check(err)
			defer db.Close()
			var token []byte
			var gap, note string
			err = db.QueryRow(`SELECT t.token, t.error, c.note FROM checkpoint_timestamps t JOIN checkpoints c ON c.id = t.checkpoint_id WHERE t.id = ?`, args[1]).Scan(&token, &gap, &note)
			if errors.Is(err, sql.ErrNoRows) {
				ts.Fatalf("openssl-ts-verify: %s has no row %s in checkpoint_timestamps", args[0], args[1])
			}
			ts.Check(err)
			// With or without '!': openssl refuses an empty token, so a
			// line naming a recorded gap would pass while testing nothing.
			if len(token) == 0 {
				ts.Fatalf("openssl-ts-verify: row %s of %s holds no token (a recorded gap: %s): name a row with a token", args[1], args[0], gap)
			}
			tok := ts.MkAbs("openssl-token.der")
			ts.Check(os.WriteFile(tok, token, 0o644))
			imprint := tsa.Imprint([]byte(note))
			out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint[:]), "-token_in", "-in", tok, "-CAfile", ts.MkAbs(args[2])).CombinedOutput()
			ts.Logf("openssl ts -verify: %s", out)
			ok := err == nil && strings.Contains(string(out), "Verification: OK")
			if ok == neg {
				ts.Fatalf("openssl ts -verify: ok=%v, want %v", ok, !neg)
			}
		},
	}
}
