package reconcile_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// lookupOnly is a diff.Index and nothing more: the diff then looks each
// message up (Lookup) and reads the captures with Each.
type lookupOnly struct{ diff.Index }

// TestMessageIDInTwoConversations: a message id captured in conversations
// A and B (export captures each apart, TestExportMessageIDInTwoConversations)
// is two messages. A diff of an export holding X in A compares it with
// A's capture, whichever capture of X is the latest in the ledger: no
// finding when it is as A's capture says, value_altered with A's content
// when it is not, and B's capture missing from the export either way —
// whether the diff loads conversations (Conversation, as custody diff
// does, and so report, which reads the findings diff recorded: already
// right) or looks messages up one by one (Lookup, the diff.Index method
// any other index is diffed through). The old Lookup took the latest
// capture by message id alone, B's, and answered that A never captured X:
// not_captured A/X and missing_from_export A/X.
func TestMessageIDInTwoConversations(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log := &captureLog{t: t, l: l, seq: map[string]uint64{}}
	log.capture("m", "A", "X", "in A, old")
	xa := log.capture("m", "A", "X", "in A")
	xb := log.capture("m", "B", "X", "in B")
	log.capture("m", "B", "B1", "B1")

	for _, tc := range []struct {
		name    string
		content string
		want    []string // kind conversation/message field, sorted
	}{
		{"as captured", "in A", []string{"conversation_absent B/ "}},
		{"altered", "in B", []string{"content_differs A/X content", "conversation_absent B/ "}},
	} {
		files := map[string]string{"A-X.jsonl": `{"conversation_id":"A","message_id":"X","timestamp":"2024-03-01T10:00:00.000Z","content":"` +
			tc.content + `","sender":"+100","legal_hold":false,"audit_trail_id":[]}`}
		dir := benchutil.WriteTree(t, files)
		emit := func(got *[]string, altered *[]diff.Finding) func(diff.Finding) error {
			return func(f diff.Finding) error {
				*got = append(*got, string(f.Kind)+" "+f.ConversationID+"/"+f.MessageID+" "+f.Field)
				if f.Kind == finding.ContentDiffers {
					*altered = append(*altered, f)
				}
				return nil
			}
		}
		for _, run := range []struct {
			name string
			diff func(src exportfile.Source, emit func(diff.Finding) error) error
		}{
			{"custody diff", func(src exportfile.Source, emit func(diff.Finding) error) error {
				_, err := reconcile.Compare(ctx, l, src, reconcile.DiffOptions{Emit: emit})
				return err
			}},
			{"by message", func(src exportfile.Source, emit func(diff.Finding) error) error {
				_, err := diff.Run(ctx, src, lookupOnly{&reconcile.LedgerIndex{L: l, Matter: "m"}}, diff.Options{}, emit)
				return err
			}},
		} {
			t.Run(tc.name+"/"+run.name, func(t *testing.T) {
				src, err := exportfile.NewDirSource(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				var got []string
				var altered []diff.Finding
				if err := run.diff(src, emit(&got, &altered)); err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.want) {
					t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
				}
				for _, f := range altered {
					if f.Expected != genesys.ContentHash("in A") {
						t.Errorf("content_differs expects %s, want A's capture's content %s", f.Expected, genesys.ContentHash("in A"))
					}
				}
			})
		}
	}

	t.Run("Lookup", func(t *testing.T) {
		x := &reconcile.LedgerIndex{L: l, Matter: "m"}
		for conv, seq := range map[string]uint64{"A": xa, "B": xb} {
			c, ok, err := x.Lookup(ctx, conv, "X")
			if err != nil || !ok || c.ConversationID != conv || c.Seq != seq {
				t.Errorf("Lookup(%s, X) = seq %d of %q, %v, %v; want seq %d", conv, c.Seq, c.ConversationID, ok, err, seq)
			}
		}
		if _, ok, err := x.Lookup(ctx, "C", "X"); err != nil || ok {
			t.Errorf("Lookup(C, X) = %v, %v; want no capture", ok, err)
		}
	})

	t.Run("captured again after the snapshot", func(t *testing.T) {
		x := &reconcile.LedgerIndex{L: l, Matter: "m"}
		if _, err := x.Conversation(ctx, "A"); err != nil { // first use
			t.Fatal(err)
		}
		log.capture("m", "A", "X", "in A, newer")
		log.capture("m", "B", "X", "in B, newer")
		for conv, seq := range map[string]uint64{"A": xa, "B": xb} {
			c, ok, err := x.Lookup(ctx, conv, "X")
			if err != nil || !ok || c.ConversationID != conv || c.Seq != seq {
				t.Errorf("Lookup(%s, X) = seq %d of %q, %v, %v; want seq %d, the latest before the snapshot", conv, c.Seq, c.ConversationID, ok, err, seq)
			}
		}
	})
}

// TestRefetchOutcomeTwoConversations: a gap of message X in conversation
// A, refetched, is judged by A's capture of X, whichever conversation
// captured X last. Before, the latest capture by message id alone was
// B's, and a gap A/X whose capture was there said "the conversation at
// the source has no such message" (not_at_source), where A's capture
// confirms it.
func TestRefetchOutcomeTwoConversations(t *testing.T) {
	ctx := context.Background()
	l, _, err := ledger.Create(ctx, filepath.Join(t.TempDir(), "custody.db"), "m", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log := &captureLog{t: t, l: l, seq: map[string]uint64{}}
	log.capture("m", "A", "X", "in A")
	log.capture("m", "B", "X", "in B")
	for _, tc := range []struct {
		conv, kind, want string
	}{
		{"A", string(finding.MissingFromExport), reconcile.Confirmed},
		{"A", string(finding.NotCaptured), reconcile.Filled},
		{"B", string(finding.MissingFromExport), reconcile.Confirmed},
		{"C", string(finding.MissingFromExport), reconcile.NotAtSource},
	} {
		got, why, err := reconcile.MessageOutcome(ctx, l, diff.Finding{Kind: finding.Kind(tc.kind), ConversationID: tc.conv, MessageID: "X"})
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %s/X: %s (%s), want %s", tc.kind, tc.conv, got, why, tc.want)
		}
	}
}
