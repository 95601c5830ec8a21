package erase_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestDiffAfterErasure: a message whose exported sender differed from
// the capture (value_altered) is erased; the next diff against the
// ledger cannot compare its sender, and says so — one erased finding
// for the message, naming the erasure entry, counted in the summary —
// where it dropped the finding without a word. The message's other
// fields' findings stay.
func TestDiffAfterErasure(t *testing.T) {
	ctx := context.Background()
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	conv := free[0]
	msg := messagesOf(t, m, conv)[0]
	dir := t.TempDir()
	line := `{"conversation_id":"` + conv + `","message_id":"` + msg + `","timestamp":"2020-01-01T00:00:00.000Z","content":"x","sender":"+0000 not the sender"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "export.jsonl"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() ([]diff.Finding, diff.Summary) {
		t.Helper()
		src, err := exportfile.NewDirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var fs []diff.Finding
		s, err := reconcile.Compare(ctx, m.le.Ledger, src, reconcile.DiffOptions{Evidence: m.le.Store, Emit: func(f diff.Finding) error {
			if f.MessageID == msg {
				fs = append(fs, f)
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return fs, s
	}
	kinds := func(fs []diff.Finding) map[string]diff.Finding {
		out := map[string]diff.Finding{}
		for _, f := range fs {
			out[string(f.Kind)+"/"+f.Field] = f
		}
		return out
	}
	before, sb := run()
	kb := kinds(before)
	if _, ok := kb["value_altered/sender"]; !ok {
		t.Fatalf("before the erasure, no sender value_altered: %+v", before)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msg}, Reason: "DSR-3", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	after, sa := run()
	ka := kinds(after)
	if _, ok := ka["value_altered/sender"]; ok {
		t.Errorf("after the erasure, the erased sender still compared: %+v", after)
	}
	er, ok := ka["erased/"]
	want := "erasure entry " + itoa(res.Seq)
	if !ok || er.Expected != want || !strings.Contains(er.Detail, "content and sender not compared") || !strings.Contains(er.Detail, want) {
		t.Fatalf("after the erasure, no erased finding naming %q: %+v", want, after)
	}
	// What erase's summary says of a diff run again: no erased sender
	// or text comes back into its findings, from either side.
	for _, f := range after {
		for _, v := range []string{f.Expected, f.Got, f.Detail} {
			if strings.Contains(v, "not the sender") || (kb["value_altered/sender"].Expected != "" && strings.Contains(v, kb["value_altered/sender"].Expected)) {
				t.Errorf("after the erasure, a finding holds the erased message's sender: %+v", f)
			}
		}
	}
	if _, ok := ka["timestamp_shifted/timestamp"]; !ok {
		t.Errorf("the timestamp is still the ledger's and compared: %+v", after)
	}
	if sa.Counts[finding.Erased] != 1 || len(sa.ErasedEntries) != 1 || sa.ErasedEntries[0] != res.Seq {
		t.Errorf("summary: erased %d, entries %v; want 1, [%d]", sa.Counts[finding.Erased], sa.ErasedEntries, res.Seq)
	}
	// The totals reconcile: what was lost is what erased stands for.
	lost := len(before) - len(after) + 1 // the erased finding
	if sa.Counts.Total() != sb.Counts.Total()-lost+1 || sa.Counts[finding.ValueAltered] != sb.Counts[finding.ValueAltered]-1 {
		t.Errorf("totals: before %v, after %v", sb.Counts, sa.Counts)
	}
}
