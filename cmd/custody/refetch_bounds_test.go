package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/reconcile"
)

// TestRefetchFindingsBounded: refetch --findings bounds what a hostile
// file costs and echoes. A record over 16 MiB (here a 40 MiB
// conversation_id) is refused, exit 1, naming its line, in a short
// message, with nothing on stdout and the matter untouched; a 10 MiB id,
// under the bound, is no Genesys id: its gap is listed not_refetchable
// with the id cut, in text and json, never echoed whole — and no request
// is sent (the API url answers nothing).
func TestRefetchFindingsBounded(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "custody.db")
	t.Setenv("CUSTODY_LEDGER", "")
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", "id")
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret")
	t.Setenv("GENESYSCLOUD_ACCESS_TOKEN", "")
	cli := func(want int, args ...string) (string, string) {
		t.Helper()
		var o, e bytes.Buffer
		args = append([]string{"--ledger", db}, args...)
		if code := run(context.Background(), args, strings.NewReader(""), &o, &e); code != want {
			t.Fatalf("custody %.200s: exit %d, want %d\nstdout: %.2000s\nstderr: %.2000s", strings.Join(args, " "), code, want, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	cli(0, "init", "--matter", "m")
	write := func(name, id string) string {
		p := filepath.Join(dir, name)
		line := `{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}` + "\n" +
			`{"kind":"not_captured","conversation_id":"` + id + `","message_id":"m2"}` + "\n"
		if err := os.WriteFile(p, []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	api := []string{"--api-url", "http://127.0.0.1:1", "--login-url", "http://127.0.0.1:1"}

	huge := write("huge.jsonl", strings.Repeat("A", 40<<20))
	out, errs := cli(exitError, append([]string{"refetch", "--findings", huge}, api...)...)
	if out != "" || len(errs) > 500 || !strings.Contains(errs, "findings line 2: not a findings file: more than 16777216 bytes (16 MiB)") {
		t.Errorf("a 40 MiB record: stdout %d bytes, stderr %q", len(out), errs)
	}

	// Only c1's gap could be asked for: keep that file's second gap alone.
	long := strings.Repeat("A", 10<<20) + "!"
	p := filepath.Join(dir, "long.jsonl")
	if err := os.WriteFile(p, []byte(`{"kind":"not_captured","conversation_id":"`+long+`","message_id":"m2"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs = cli(0, append([]string{"refetch", "--findings", p}, api...)...)
	if len(out)+len(errs) > 4096 || !strings.Contains(out, "not_refetchable: conversation \""+strings.Repeat("A", 64)+"… (10485761 bytes)\"") {
		t.Errorf("a 10 MiB id: stdout (%d bytes) %.600q, stderr (%d bytes) %.600q; want it listed cut", len(out), out, len(errs), errs)
	}
	out, _ = cli(0, append([]string{"refetch", "--findings", p, "--output", "json"}, api...)...)
	var res reconcile.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(out) > 4096 || res.Counts[reconcile.NotRefetchable] != 1 ||
		!strings.HasSuffix(res.Outcomes[0].ConversationID, "… (10485761 bytes)") {
		t.Errorf("a 10 MiB id, json (%d bytes): %v %.600s", len(out), err, out)
	}
}
