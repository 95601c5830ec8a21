package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestMain lets testscript run this test binary as the `custody` command.
func TestMain(m *testing.M) {
	// Tests that measure a child process run this binary as custody.
	if os.Getenv(childEnv) == "1" {
		os.Exit(runMain())
	}
	testscript.Main(m, map[string]func(){
		"custody": func() { os.Exit(runMain()) },
	})
}

// TestScripts runs the CLI scripts in testdata/*.txt.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("CUSTODY_LEDGER", "")
			// Under -race every command would otherwise sleep 1 s at exit.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
		Cmds: mergeCmds(scriptCmds, simScriptCmds(), matterScriptCmds(), strictScriptCmds(), cleanScriptCmds(), attestScriptCmds(), eraseScriptCmds(), verifyScriptCmds()),
	})
}

func mergeCmds(sets ...map[string]func(*testscript.TestScript, bool, []string)) map[string]func(*testscript.TestScript, bool, []string) {
	out := map[string]func(*testscript.TestScript, bool, []string){}
	for _, set := range sets {
		for k, v := range set {
			out[k] = v
		}
	}
	return out
}

// scriptCmds are test-only commands for the scripts: they build ledgers
// faster than an export, and play the attacker with raw SQL.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// status N COMMAND ARGS...: run COMMAND (like exec) and require exit
	// status N; stdout and stderr can be checked afterwards.
	"status": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: status N COMMAND [ARGS...]")
		}
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		code := 0
		if err := ts.Exec(args[1], args[2:]...); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				ts.Fatalf("status: %v", err)
			}
			code = ee.ExitCode()
		}
		if code != want {
			ts.Fatalf("exit status %d, want %d", code, want)
		}
	},
	// gzip-magic FILE: FILE starts as a gzip stream does (a pprof profile).
	"gzip-magic": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: gzip-magic FILE")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			ts.Fatalf("%s: %d bytes, not a gzip stream", args[0], len(b))
		}
	},
	// ledger-append LEDGER N [CONVERSATION]: append N message entries.
	"ledger-append": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: ledger-append LEDGER N [CONVERSATION]")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			ts.Fatalf("ledger-append: %v", err)
		}
		conv := "conv-1"
		if len(args) == 3 {
			conv = args[2]
		}
		ctx := context.Background()
		l, err := ledger.Open(ctx, ts.MkAbs(args[0]), ledger.Options{})
		if err != nil {
			ts.Check(err)
		}
		defer l.Close()
		head, err := l.Head(ctx)
		ts.Check(err)
		entries := make([]leaf.Entry, n)
		for i := range entries {
			entries[i] = scriptMessage(conv, int(head.Size)+i)
		}
		_, err = l.Append(ctx, entries...)
		if neg {
			if err == nil {
				ts.Fatalf("ledger-append succeeded")
			}
			return
		}
		ts.Check(err)
	},
	// sql LEDGER STATEMENT...: run SQL directly on the file.
	"sql": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: sql LEDGER STATEMENT...")
		}
		db, err := sql.Open("sqlite3", "file:"+ts.MkAbs(args[0])+"?mode=rw")
		ts.Check(err)
		defer db.Close()
		for _, stmt := range args[1:] {
			rows, err := db.Query(stmt)
			if err == nil {
				err = printRows(ts, rows)
			}
			if neg {
				if err == nil {
					ts.Fatalf("sql %q succeeded", stmt)
				}
				ts.Logf("sql %q: %v", stmt, err)
				return
			}
			ts.Check(err)
		}
	},
	// resign LEDGER ID: replace stored checkpoint ID by the same checkpoint
	// signed with a new key that has the ledger's key name (a forgery).
	"resign": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: resign LEDGER ID")
		}
		path := ts.MkAbs(args[0])
		l, err := ledger.Open(context.Background(), path, ledger.Options{})
		ts.Check(err)
		cps, err := l.Checkpoints(context.Background())
		l.Close()
		ts.Check(err)
		id, _ := strconv.Atoi(args[1])
		if id < 1 || id > len(cps) {
			ts.Fatalf("no checkpoint %d", id)
		}
		forger, _, err := hashchain.GenerateKey(cps[id-1].Origin)
		ts.Check(err)
		note, err := hashchain.SignCheckpoint(cps[id-1].Checkpoint, forger)
		ts.Check(err)
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=rw")
		ts.Check(err)
		defer db.Close()
		_, err = db.Exec(`DROP TRIGGER checkpoints_append_only_update; UPDATE checkpoints SET note = ? WHERE id = ?`, string(note), id)
		ts.Check(err)
	},
	// insider-flip-hold LEDGER: the insider holding the signing key (the
	// .key beside LEDGER) flips legal_hold in the first message entry,
	// recomputes every hash and re-signs every checkpoint; $SEQ is then
	// that entry's seq.
	"insider-flip-hold": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: insider-flip-hold LEDGER")
		}
		ctx := context.Background()
		path := ts.MkAbs(args[0])
		key, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".key")
		ts.Check(err)
		l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
		ts.Check(err)
		var seq uint64
		found := false
		for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
			ts.Check(err)
			if !found {
				seq, found = e.Seq, true
			}
		}
		l.Close()
		if !found {
			ts.Fatalf("insider-flip-hold: no message entry")
		}
		ts.Check(ledgertest.Rewrite(ctx, path, strings.TrimSpace(string(key)), seq, func(e *leaf.Entry) {
			h := !*e.Compliance.LegalHold
			e.Compliance.LegalHold = &h
		}))
		ts.Setenv("SEQ", strconv.FormatUint(seq, 10))
	},
	// replace FILE OLD NEW: replace the first OLD in FILE by NEW.
	"replace": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: replace FILE OLD NEW")
		}
		name := ts.MkAbs(args[0])
		b, err := os.ReadFile(name)
		ts.Check(err)
		if !strings.Contains(string(b), args[1]) {
			ts.Fatalf("replace: %q not in %s", args[1], args[0])
		}
		ts.Check(os.WriteFile(name, []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o644))
	},
	// treesum PATH...: print the name, size and SHA-256 of every file
	// under each PATH (a file or a folder), sorted: compare two runs with
	// cmp to show that a command wrote nothing.
	"treesum": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) == 0 {
			ts.Fatalf("usage: treesum PATH...")
		}
		var lines []string
		for _, root := range args {
			ts.Check(filepath.WalkDir(ts.MkAbs(root), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(ts.MkAbs("."), p)
				lines = append(lines, fmt.Sprintf("%s %d %x", filepath.ToSlash(rel), len(b), sha256.Sum256(b)))
				return nil
			}))
		}
		slices.Sort(lines)
		fmt.Fprint(ts.Stdout(), strings.Join(lines, "\n")+"\n")
	},
	// filemode FILE MODE: the file's permission bits are MODE (octal).
	"filemode": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: filemode FILE MODE")
		}
		fi, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		want, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
			ts.Fatalf("%s has mode %o", args[0], got)
		}
	},
}

// printRows prints query results to the script's stdout, one row a line.
func printRows(ts *testscript.TestScript, rows *sql.Rows) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		var parts []string
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts = append(parts, fmt.Sprint(v))
		}
		fmt.Fprintln(ts.Stdout(), strings.Join(parts, "|"))
	}
	return rows.Err()
}

// scriptMessage is a message entry with a predictable id: msg-000007 is
// the entry appended at seq 7.
func scriptMessage(conv string, i int) leaf.Entry {
	hold := i%2 == 0
	payload := sha256.Sum256([]byte(fmt.Sprintf("payload %d", i)))
	return leaf.Entry{
		Kind:           leaf.KindMessage,
		ConversationID: conv,
		MessageID:      fmt.Sprintf("msg-%06d", i),
		RunID:          "run-test",
		PayloadSHA256:  payload,
		EvidenceSHA256: sha256.Sum256([]byte("evidence " + conv)),
		Source:         &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/" + conv + "/messages/bulk", Status: 200, CorrelationID: "corr-1"},
		Compliance:     &leaf.Compliance{LegalHold: &hold, AuditRefs: []string{"audit-1"}, OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
		Detail:         json.RawMessage(`{"direction":"inbound","text_sha256":"` + strings.Repeat("ab", 32) + `"}`),
	}
}
