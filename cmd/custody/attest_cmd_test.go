package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/tsa"
)

// A witness key is given inline or as a file; a name with '/' and base64
// with '/' and '+' must not be taken for a path.
func TestReadKeyArg(t *testing.T) {
	const key = "counsel.example/w1+52110d21+BKYbX3j3CcNpCGZkd/hTc7ZXjtE+Q05Uj2CxiaZ2L9Oh"
	if got, _, err := readKeyArg("witness", key); err != nil || got != key {
		t.Fatalf("inline: %q, %v", got, err)
	}
	f := filepath.Join(t.TempDir(), "w.pub")
	os.WriteFile(f, []byte(key+"\n"), 0o644)
	if got, _, err := readKeyArg("witness", f); err != nil || got != key {
		t.Fatalf("file: %q, %v", got, err)
	}
	if _, _, err := readKeyArg("witness", filepath.Join(t.TempDir(), "missing.pub")); err == nil {
		t.Fatal("a missing file that is not a key was accepted")
	}
	if _, err := readWitnessKey("PRIVATE+KEY+w+00000000+AQ=="); err == nil {
		t.Fatal("a signer key was accepted as a witness verifier key")
	}
	// A file at the path the key spells is not read: the key typed is
	// the key (a copy of a matter could carry a file there).
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("counsel.example/w1+00000000+AAAA\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _, err := readKeyArg("witness", key); err != nil || got != key {
		t.Fatalf("inline beside a file at its path: %q, %v", got, err)
	}
}

// serveLine runs a serving command in process and returns its ready line
// decoded, and a stop function that cancels it and returns its exit code.
func serveLine(t *testing.T, args ...string) (map[string]string, func() int) {
	t.Helper()
	return serveLineTo(t, &lockedBuilder{}, args...)
}

// lockedBuilder is a strings.Builder that a server's handlers may write
// to while the test reads it: a request cut at shutdown is still logged
// by its handler after the command has returned.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveLineTo is serveLine with the command's stderr written to stderr.
func serveLineTo(t *testing.T, stderr *lockedBuilder, args ...string) (map[string]string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, strings.NewReader(""), pw, stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("%v: no ready line; stderr: %s", args, stderr.String())
	}
	var ready map[string]string
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil {
		cancel()
		t.Fatalf("ready line %q: %v", sc.Text(), err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return ready, func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("%v did not stop", args)
			return -1
		}
	}
}

// TestSimTSAAndWitnessServe runs 'custody sim tsa' and 'custody witness
// serve' in process, as a user would: each prints one JSON line, serves,
// and exits 0 when cancelled; a checkpoint gets a token and a cosignature
// from them, and verify checks both.
func TestSimTSAAndWitnessServe(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "custody.db")
	cli := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		if c := run(context.Background(), append([]string{"--ledger", ledger}, args...), strings.NewReader(""), &stdout, &stderr); c != want {
			t.Fatalf("%v: exit %d, want %d; stderr: %s", args, c, want, stderr.String())
		}
		return stdout.String()
	}
	cli(0, "init", "--matter", "m")
	tsaReady, stopTSA := serveLine(t, "sim", "tsa", "--root-out", filepath.Join(dir, "root.pem"))
	if !strings.HasPrefix(tsaReady["url"], "http://127.0.0.1:") || !strings.Contains(tsaReady["root_pem"], "BEGIN CERTIFICATE") || len(tsaReady) != 2 {
		t.Fatalf("sim tsa ready line %v", tsaReady)
	}
	cli(0, "witness", "keygen", "--name", "w.example", "--out", filepath.Join(dir, "w"))
	wReady, stopW := serveLine(t, "witness", "serve", "--key", filepath.Join(dir, "w.key"), "--log-key", filepath.Join(dir, "custody.pub"), "--state", filepath.Join(dir, "ws"))
	note := cli(0, "checkpoint", "--tsa", tsaReady["url"], "--tsa-roots", filepath.Join(dir, "root.pem"), "--witness", wReady["url"])
	if !strings.Contains(note, "\n— w.example ") {
		t.Fatalf("checkpoint without the cosignature:\n%s", note)
	}
	out := cli(0, "verify", "--witness", filepath.Join(dir, "w.pub"), "--tsa-roots", filepath.Join(dir, "root.pem"))
	if !strings.Contains(out, "chained to a trusted root") || !strings.Contains(out, "by 1: w.example") {
		t.Fatalf("verify:\n%s", out)
	}
	if c := stopTSA(); c != 0 {
		t.Fatalf("sim tsa exit %d", c)
	}
	if c := stopW(); c != 0 {
		t.Fatalf("witness serve exit %d", c)
	}
	var stdout, stderr strings.Builder
	if c := run(context.Background(), []string{"sim", "tsa", "--fault", "sideways"}, strings.NewReader(""), &stdout, &stderr); c != exitUsage {
		t.Fatalf("sim tsa --fault sideways: exit %d", c)
	}
}

// TestVerifyTSARootsOfTheMatter: the roots the matter names (its
// tsa_roots setting) are as writable as the rest of the ledger file, so
// they never make a time proven. An attacker who replaces every token
// with one of their own authority's and puts its root in the settings
// gets, from the auditor's verify without --tsa-roots, times stated as
// the tokens' claims with a warning to pass --tsa-roots, never "chained
// to a trusted root"; with --tsa-roots the tokens fail.
func TestVerifyTSARootsOfTheMatter(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "custody.db")
	cli := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr strings.Builder
		if c := run(context.Background(), append([]string{"--ledger", ledgerPath}, args...), strings.NewReader(""), &stdout, &stderr); c != want {
			t.Fatalf("%v: exit %d, want %d; stdout: %s; stderr: %s", args, c, want, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	start := func(name string) (*tsasim.Server, string) {
		s, err := tsasim.Start(tsasim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(f, s.RootPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return s, f
	}
	genuine, genuineRoots := start("genuine")
	cli(0, "init", "--matter", "m")
	cli(0, "checkpoint", "--tsa", genuine.URL, "--tsa-roots", genuineRoots)
	pub := filepath.Join(dir, "custody.pub")

	// Honest: proven with the auditor's roots; without them, the
	// matter's roots only make the time a claim.
	out := cli(0, "verify", "--key", pub, "--tsa-roots", genuineRoots)
	if !strings.Contains(out, "chained to a trusted root") || strings.Contains(out, "warn") {
		t.Fatalf("verify --tsa-roots:\n%s", out)
	}
	out = cli(0, "verify", "--key", pub)
	if strings.Contains(out, "trusted root") || !strings.Contains(out, "as its token claims, not proven") ||
		!strings.Contains(out, "warn  timestamp: 1 timestamp token chains only to the roots the matter itself names") || !strings.Contains(out, "pass --tsa-roots") {
		t.Fatalf("verify without --tsa-roots:\n%s", out)
	}

	// The attack: the token replaced by one of the attacker's authority,
	// its root put in the matter's settings.
	mallory, _ := start("mallory")
	db, err := sql.Open("sqlite3", "file:"+ledgerPath+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := db.QueryRow(`SELECT note FROM checkpoints WHERE id = 1`).Scan(&note); err != nil {
		t.Fatal(err)
	}
	tok, err := (&tsa.Client{}).Timestamp(context.Background(), mallory.URL, tsa.Imprint([]byte(note)))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP TRIGGER checkpoint_timestamps_append_only_update`, `UPDATE checkpoint_timestamps SET token = ?`, `UPDATE state SET value = ? WHERE key = 'tsa_roots'`} {
		var args []any
		switch {
		case strings.Contains(stmt, "token"):
			args = []any{tok}
		case strings.Contains(stmt, "state"):
			args = []any{string(mallory.RootPEM)}
		}
		if _, err := db.Exec(stmt, args...); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	out = cli(0, "verify", "--key", pub)
	if strings.Contains(out, "trusted root") || !strings.Contains(out, "chained only to roots the matter names, not independently trusted") ||
		!strings.Contains(out, "claimed, not proven; pass --tsa-roots") {
		t.Fatalf("the attacker's token, chained to the root they put in the matter:\n%s", out)
	}
	var rep struct {
		Times []struct {
			Chained bool   `json:"chained"`
			Roots   string `json:"roots"`
		} `json:"checkpoint_times"`
	}
	if err := json.Unmarshal([]byte(cli(0, "verify", "--key", pub, "--output", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Times) != 1 || rep.Times[0].Chained || rep.Times[0].Roots != "matter" {
		t.Fatalf("--output json checkpoint_times %+v, want chained false, roots matter", rep.Times)
	}
	cli(exitFindings, "verify", "--key", pub, "--tsa-roots", genuineRoots)
}
