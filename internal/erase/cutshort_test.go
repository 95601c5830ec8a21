package erase_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/testutil/killtest"
	"github.com/custodyhq/custody/internal/verify"
)

// TestEraseCutShortJournal: an erase killed (SIGKILL) between its
// deletions and its entry leaves a journal beside the ledger naming what
// it was erasing and the command that finishes it. verify still fails
// but says so, in a warning and on every missing object the erase
// deleted; an erase of something else refuses, naming the command; the
// same erase run again records the erasure, removes the journal, and
// verify passes.
// Before the journal, nothing explained the missing objects and a hold
// made the rerun refuse (operations review, finding 1).
func TestEraseCutShortJournal(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	target := free[0]
	ledgerPath := filepath.Join(m.le.Dir, "custody.db")

	killtest.Run(t, killHelperEnv, "KILL_DIR="+m.le.Dir, "KILL_CONV="+target)

	p, err := erasure.ReadPending(ledgerPath)
	if err != nil || p == nil {
		t.Fatalf("no journal after an erase killed mid-delete: %v, %v", p, err)
	}
	if !p.SameSelection([]string{target}, nil) || p.Reason != "DSR-1" || len(p.Objects) < 2 ||
		!strings.Contains(p.Command, " erase --conversation "+target+" --reason DSR-1") {
		t.Fatalf("journal: %+v", p)
	}
	checkCutShortVerify(t, m, p, ledgerPath)
	refusedWhilePending(t, m, p, free[1])

	m.eraseAgain(t, erase.Request{Conversations: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}, nil, nil)
	if _, err := os.Lstat(erasure.PendingPath(ledgerPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the journal is still there after the erase was finished: %v", err)
	}
}

// TestEraseCutShortMessage: a message erasure killed after deleting
// its opening and both response bodies that held it — its first
// capture's, and the one a later capture of its conversation (another
// message changed at the source) names — and before its entry. The
// later body is found through its conversation's entries only while it
// is there, so only the journal says it was this erasure's: the same
// erase run again records it, and verify passes. Without the journal
// the rerun recorded the opening and the first body only, and verify
// kept failing on the later body (an object missing, unexplained).
func TestEraseCutShortMessage(t *testing.T) {
	m := exportMatter(t, 14)
	free, _ := m.conversations(t)
	ledgerPath := filepath.Join(m.le.Dir, "custody.db")
	var conv string
	var msgs []string
	for _, c := range free {
		if msgs = plainMessages(t, m, c); len(msgs) >= 2 {
			conv = c
			break
		}
	}
	if conv == "" {
		t.Fatal("no conversation with two plain texts of its own")
	}
	// msgs[0] changes at the source: the conversation is captured again,
	// its new bulk body holding msgs[1] too.
	c, _ := m.srv.Org.Conversation(conv)
	var text string
	for k := range c.Messages {
		if c.Messages[k].ID == msgs[0] {
			text = genesys.MessageText(&c.Messages[k])
		}
	}
	m.exportVia(t, editingProxy(t, m, map[string]string{jsonString(t, text): jsonString(t, "EDITED AT THE SOURCE "+text)}))

	killtest.Run(t, killHelperEnv, "KILL_DIR="+m.le.Dir, "KILL_MSG="+msgs[1], "KILL_AFTER=3")
	p, err := erasure.ReadPending(ledgerPath)
	if err != nil || p == nil {
		t.Fatalf("no journal after an erase killed mid-delete: %v, %v", p, err)
	}
	checkCutShortVerify(t, m, p, ledgerPath)

	res, err := erase.Erase(context.Background(), m.le.Ledger, m.le.Store, erase.Request{Messages: []string{msgs[1]}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || res.Already {
		t.Fatalf("the same erase again: %+v, %v", res, err)
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Missing != 0 {
		t.Fatalf("verify after the erase ran again: ok %v, findings %v", rep.OK, rep.Findings)
	}
	if p, err := erasure.ReadPending(ledgerPath); p != nil || err != nil {
		t.Fatalf("journal after the erase was finished: %+v, %v", p, err)
	}
}

// plainMessages are the messages of conv whose text is plain and found
// in no other conversation (so that an edit of it changes one body).
func plainMessages(t *testing.T, m *matter, conv string) []string {
	t.Helper()
	count := map[string]int{}
	for i := range m.srv.Org.Len() {
		c := m.srv.Org.ConversationAt(i)
		for k := range c.Messages {
			count[genesys.MessageText(&c.Messages[k])]++
		}
	}
	c, ok := m.srv.Org.Conversation(conv)
	if !ok {
		t.Fatalf("conversation %s not in the org", conv)
	}
	var ids []string
	for k := range c.Messages {
		md := &c.Messages[k]
		text := genesys.MessageText(md)
		if md.NormalizedMessage == nil || len(md.NormalizedMessage.Content) > 0 || md.NormalizedMessage.Text != text || len(text) < 8 || count[text] != 1 {
			continue
		}
		ids = append(ids, md.ID)
	}
	return ids
}

// checkCutShortVerify: verify with the journal fails, reports the erase
// cut short, and labels every missing object as deleted by it.
func checkCutShortVerify(t *testing.T, m *matter, p *erasure.Pending, ledgerPath string) {
	t.Helper()
	rep, err := verify.Ledger(context.Background(), m.le.Ledger, verify.Options{VerifierKey: m.le.Ledger.VerifierKey(), Evidence: m.le.Store, ErasePending: p})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Evidence.Missing == 0 {
		t.Fatalf("verify after a killed erase: ok %v, evidence %+v: the unrecorded deletions are a gap until recorded", rep.OK, rep.Evidence)
	}
	c := rep.EraseCutShort
	if c == nil || c.Journal != erasure.PendingPath(ledgerPath) || c.Command != p.Command || c.Missing != rep.Evidence.Missing ||
		!strings.Contains(c.String(), p.Command) {
		t.Fatalf("verify's report of the erase cut short: %+v (evidence missing %d)", c, rep.Evidence.Missing)
	}
	for _, f := range rep.Findings {
		if !strings.Contains(f.Message, "deleted by an erase cut short, see "+erasure.PendingPath(ledgerPath)) {
			t.Errorf("finding not explained by the journal: %s", f)
		}
	}
	if _, err := os.Lstat(erasure.PendingPath(ledgerPath)); err != nil {
		t.Fatalf("verify removed the journal: %v", err)
	}
}

// refusedWhilePending: an erase of something else refuses while the
// journal is there, naming the command that finishes the erase cut
// short (the other writers refuse in the CLI: erase_cutshort.txt).
func refusedWhilePending(t *testing.T, m *matter, p *erasure.Pending, other string) {
	t.Helper()
	entries := m.size(t)
	_, err := erase.Erase(context.Background(), m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{other}, Reason: "r", Operator: "dpo"})
	if !errors.Is(err, erasure.ErrPending) || !strings.Contains(err.Error(), p.Command) {
		t.Fatalf("another erase while one cut short is unfinished: %v, want ErrPending naming %q", err, p.Command)
	}
	if got := m.size(t); got != entries {
		t.Fatalf("refused, but %d entries appended", got-entries)
	}
}
