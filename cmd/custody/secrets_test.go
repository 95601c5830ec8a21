package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// TestEchoedCredentialsNeverLeave runs exports through the whole CLI,
// in-process, against a simulator that echoes credentials (docs/sim.md,
// echo and oauthecho): error bodies quoting the Authorization header, the
// token sent back as the correlation id of failures and successes, the
// Basic credentials quoted by the token endpoint. Requests fail for good
// (400s), after retries (500s) or the whole run fails (a refused token
// request), so the echoed text reaches failure reasons, the stop reason,
// the run-end entry and the logs. Then neither the secret, id:secret, any
// base64 of it, nor any token the simulator issued may be in any byte of
// stdout, stderr (text and JSON logs at debug level), the ledger file and
// its -wal, or anything else in the matter folder, evidence included.
func TestEchoedCredentialsNeverLeave(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults string
		scope  []string // after the export flags; "IDS" stands for an ids file of the whole org
		log    string
		output string
		codes  []int // acceptable exit codes of the export
	}{
		{"items fail with echoed reasons, text log", "echo=0.25:400,echo=0.15,echo=0.3:200", []string{"--ids-file", "IDS"}, "text", "json", []int{1, 3}},
		{"items fail with echoed reasons, json log", "echo=0.25:400,echo=0.15,echo=0.3:200", []string{"--ids-file", "IDS"}, "json", "text", []int{1, 3}},
		// Request 1 reads the org's limits; 2 and 3 create the audit query
		// and the listing job, in either order.
		{"listing fails, the run stops", "echo@2:400,echo@3:400,echo=0.2:200", []string{"--interval", "2024-01-01/2024-04-05"}, "json", "json", []int{1, 3}},
		{"token endpoint refuses quoting the credentials", "oauthecho=1:401", []string{"--interval", "2024-01-01/2024-04-05"}, "text", "json", []int{1}},
		{"token endpoint fails, then headers echo on success", "oauthecho@1,oauthecho@2:200,echo=0.5:200", []string{"--interval", "2024-01-01/2024-04-05"}, "json", "json", []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := simtest.Start(t, sim.Options{
				OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 30, LegalHoldShare: 0.2, OtherMediaShare: 0.1},
				Faults:    tc.faults,
			})
			t.Setenv("CUSTODY_LEDGER", "")
			t.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
			t.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
			t.Setenv("GENESYSCLOUD_ACCESS_TOKEN", "")
			dir := t.TempDir()
			ledger := filepath.Join(dir, "custody.db")
			var ids strings.Builder
			for i := range srv.Org.Len() {
				ids.WriteString(srv.Org.ConversationID(i) + "\n")
			}
			idsFile := filepath.Join(t.TempDir(), "ids.txt")
			if err := os.WriteFile(idsFile, []byte(ids.String()), 0o600); err != nil {
				t.Fatal(err)
			}

			var out, errs bytes.Buffer
			cli := func(want []int, args ...string) {
				t.Helper()
				args = append([]string{"--ledger", ledger, "--log-format", tc.log, "--log-level", "debug", "--output", tc.output}, args...)
				var o, e bytes.Buffer
				code := run(context.Background(), args, strings.NewReader(""), &o, &e)
				out.Write(o.Bytes())
				errs.Write(e.Bytes())
				for _, w := range want {
					if code == w {
						return
					}
				}
				t.Fatalf("custody %s: exit %d, want one of %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, o.String(), e.String())
			}
			cli([]int{0}, "init", "--matter", "Echo v. Leak")
			// A reader held open keeps the -wal file on disk when custody
			// closes the ledger, so its raw frames are scanned too.
			hold, err := sql.Open("sqlite3", "file:"+ledger+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			defer hold.Close()
			hold.SetMaxOpenConns(1)
			tx, err := hold.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
				t.Fatal(err)
			}
			_ = tx.Rollback()
			export := []string{"export", "--api-url", srv.APIURL, "--login-url", srv.LoginURL, "--rate-limit", "60000"}
			for _, a := range tc.scope {
				if a == "IDS" {
					a = idsFile
				}
				export = append(export, a)
			}
			cli(tc.codes, export...)
			if tc.codes[0] == 0 {
				cli([]int{0}, "verify", "--evidence")
			}
			cli([]int{0}, "log")

			st := srv.Stats()
			echoed := int64(0)
			for _, r := range st.Routes {
				echoed += r.FaultsByKind[sim.FaultEcho] + r.FaultsByKind[sim.FaultOAuthEcho]
			}
			if echoed == 0 {
				t.Fatal("the simulator echoed nothing: the test proves nothing")
			}
			tokens := srv.IssuedTokens()
			if len(tokens) == 0 && !strings.Contains(tc.faults, "oauthecho=1:") {
				t.Fatal("no token issued")
			}

			// Everything custody wrote: its outputs and every file of the matter.
			written := map[string][]byte{"stdout": out.Bytes(), "stderr": errs.Bytes()}
			err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				written[path] = b
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{ledger, ledger + "-wal"} {
				if len(written[f]) == 0 {
					t.Fatalf("no %s among the %d files scanned", filepath.Base(f), len(written))
				}
			}
			for name, b := range written {
				for what, needle := range credentialForms(srv.ClientID, srv.ClientSecret, tokens) {
					if bytes.Contains(b, []byte(needle)) {
						t.Errorf("%s holds the %s", name, what)
					}
				}
			}
			// The echoes did reach the writers, redacted.
			all := bytes.Join([][]byte{out.Bytes(), errs.Bytes(), written[ledger], written[ledger+"-wal"]}, nil)
			if !bytes.Contains(all, []byte("[REDACTED]")) {
				t.Errorf("no [REDACTED] in stdout, stderr or the ledger: the echoed text never reached them\nstdout:\n%s\nstderr:\n%s", out.String(), errs.String())
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
			}
		})
	}
}

// credentialForms are the spellings of the credentials a leak would take:
// each as is and URL-escaped.
func credentialForms(id, secret string, tokens []string) map[string]string {
	pair := id + ":" + secret
	forms := map[string]string{"client secret": secret, "id:secret": pair}
	for name, enc := range map[string]*base64.Encoding{"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding} {
		forms["base64 ("+name+") of id:secret"] = enc.EncodeToString([]byte(pair))
	}
	for i, tok := range tokens {
		forms[fmt.Sprintf("token %d of %d", i+1, len(tokens))] = tok
	}
	escaped := map[string]string{}
	for what, s := range forms {
		if e := url.QueryEscape(s); e != s {
			escaped[what+", URL-escaped"] = e
		}
	}
	maps.Copy(forms, escaped)
	return forms
}
