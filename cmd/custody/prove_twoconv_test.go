package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// TestProveMessageInTwoConversations: a message id captured in two
// conversations is two messages; prove --message proves the one
// --conversation names, refuses to guess without it (exit 2, naming
// both), and needs no --conversation when one conversation captured it.
// Before, it proved whichever conversation captured the id last.
func TestProveMessageInTwoConversations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "custody.db")
	cli := func(want int, args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(ctx, append([]string{"--ledger", db}, args...), strings.NewReader(""), &o, &e); code != want {
			t.Fatalf("custody %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, o.String(), e.String())
		}
		return o.String() + e.String()
	}
	cli(0, "init", "--matter", "m")
	l, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hold := false
	var seqs = map[string]uint64{}
	for _, c := range []struct{ conv, msg string }{{"A", "X"}, {"B", "X"}, {"B", "Y"}} {
		out, err := l.Append(ctx, leaf.Entry{Kind: leaf.KindMessage, Matter: "m", ConversationID: c.conv, MessageID: c.msg,
			PayloadSHA256: hashchain.Hash{1}, Compliance: &leaf.Compliance{LegalHold: &hold, AuditRefs: []string{}, OriginalTimestamp: "2024-03-01T10:00:00.000Z"}})
		if err != nil {
			t.Fatal(err)
		}
		seqs[c.conv+"/"+c.msg] = out[0].Seq
	}
	l.Close()
	cli(0, "checkpoint")
	provenSeq := func(out string) uint64 {
		var p struct {
			Seq uint64 `json:"index"`
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("proof %q: %v", out, err)
		}
		return p.Seq
	}
	if got := provenSeq(cli(0, "prove", "--message", "X", "--conversation", "A")); got != seqs["A/X"] {
		t.Errorf("--conversation A: proved seq %d, want A's capture %d", got, seqs["A/X"])
	}
	if out := cli(2, "prove", "--message", "X"); !strings.Contains(out, "captured in 2 conversations (A, B)") {
		t.Errorf("no --conversation: %q", out)
	}
	if got := provenSeq(cli(0, "prove", "--message", "Y")); got != seqs["B/Y"] {
		t.Errorf("one conversation: proved seq %d, want %d", got, seqs["B/Y"])
	}
	cli(1, "prove", "--message", "X", "--conversation", "C")
	cli(2, "prove", "--conversation", "A", "--seq", "0")
}
