package erase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/evidence/storetest"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/testutil/s3test"
	"github.com/custodyhq/custody/internal/verify"
)

var start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

type matter struct {
	srv *sim.Server
	le  *ledgertest.Env
}

// diffOldExport writes a Recording API export of m's org into a folder
// of its own, records custody diff of it against the ledger (signed),
// and returns the export, open until the test ends.
func (m *matter) diffOldExport(t *testing.T) *exportfile.DirSource {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	tgt, err := recexport.OpenTarget(ctx, dir, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(ctx, m.srv.Org, nil, tgt, recexport.DefaultProfile(recexport.ShapeGenesys, 3)); err != nil {
		t.Fatal(err)
	}
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if _, err := reconcile.Diff(ctx, m.le.Ledger, m.le.Store, src, reconcile.DiffOptions{SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	return src
}

func exportMatter(t testing.TB, conversations int) *matter {
	t.Helper()
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 11, Conversations: conversations, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.3},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	m := &matter{srv: srv, le: ledgertest.New(t, "m")}
	m.export(t)
	return m
}

func (m *matter) export(t testing.TB) *export.Accounting {
	t.Helper()
	c, err := fetch.New(fetch.Config{ClientID: m.srv.ClientID, ClientSecret: m.srv.ClientSecret, APIURL: m.srv.APIURL,
		LoginURL: m.srv.LoginURL, Rate: 1e9, PollInitial: 5 * time.Millisecond, PollMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: m.le.Ledger, Evidence: m.le.Store}, export.Options{
		Scope: export.Scope{Matter: "m", Interval: start.Format(time.RFC3339) + "/" + start.AddDate(0, 0, 9).Format(time.RFC3339),
			MediaType: "message", MessageType: "whatsapp", WithMedia: true}, SignerKey: m.le.Key})
	if err != nil || !acct.Complete() {
		t.Fatalf("export: %v %+v", err, acct)
	}
	return acct
}

// size is the number of entries in the matter's ledger.
func (m *matter) size(t *testing.T) uint64 {
	t.Helper()
	h, err := m.le.Ledger.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Size
}

func (m *matter) verify(t *testing.T) verify.Report {
	t.Helper()
	rep, err := verify.Ledger(context.Background(), m.le.Ledger, verify.Options{VerifierKey: m.le.Ledger.VerifierKey(), Evidence: m.le.Store})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// conversations returns the captured conversations, held (deletion
// protection at capture) or not, each with at least two messages.
func (m *matter) conversations(t testing.TB) (free, held []string) {
	t.Helper()
	for e, err := range m.le.Ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindConversation}) {
		if err != nil {
			t.Fatal(err)
		}
		dd, _ := leaf.DecodeDetail(e.Kind, e.Detail)
		d := dd.(*leaf.ConversationDetail)
		if d.Messages < 2 {
			continue
		}
		if d.LegalHold {
			held = append(held, e.ConversationID)
		} else {
			free = append(free, e.ConversationID)
		}
	}
	if len(free) < 3 || len(held) < 1 {
		t.Fatalf("%d free and %d held conversations: the fixture needs more", len(free), len(held))
	}
	return free, held
}

// secrets are the texts (and, addresses true, the addresses) of a
// conversation found in no other conversation of the org: what must be
// gone from every file once it is erased.
func secrets(t *testing.T, org *sim.Org, convID string, addresses bool) []string {
	t.Helper()
	count := map[string]int{}
	mine := map[string]bool{}
	for i := range org.Len() {
		c := org.ConversationAt(i)
		seen := map[string]bool{}
		for k := range c.Messages {
			md := &c.Messages[k]
			vals := []string{genesys.MessageText(md)}
			if addresses {
				vals = append(vals, md.FromAddress, md.ToAddress)
			}
			for _, s := range vals {
				if len(s) >= 8 && !seen[s] {
					seen[s] = true
					count[s]++
					if c.ID == convID {
						mine[s] = true
					}
				}
			}
		}
	}
	var out []string
	for s := range mine {
		if count[s] == 1 {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("conversation %s has no text of its own to look for", convID)
	}
	return out
}

// grepTree reports every file under dir holding any of needles.
func grepTree(t *testing.T, dir string, needles []string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				hits = append(hits, p+": "+n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func (m *matter) messageSeqs(t *testing.T, conv string) []uint64 {
	t.Helper()
	var seqs []uint64
	for e, err := range m.le.Ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

func (m *matter) prove(t *testing.T, seq uint64) []byte {
	t.Helper()
	p, err := m.le.Ledger.Prove(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEraseConversation is the acceptance test: erase a
// conversation; verify --evidence passes and lists it as erased; proofs
// issued before, for it and for others, still verify; its text and
// addresses are in no file of the matter (ledger, WAL, evidence); a diff
// sees it as erased; an export run again does not bring it back.
func TestEraseConversation(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	target, other := free[0], free[1]
	needles := secrets(t, m.srv.Org, target, false)
	addresses := secrets(t, m.srv.Org, target, true)
	if hits := grepTree(t, m.le.Dir, needles); len(hits) == 0 {
		t.Fatal("the conversation's text is in no file before erasure: the search cannot work")
	}
	// A recorded diff of an old export: its findings are evidence too.
	src := m.diffOldExport(t)
	// Findings of the conversations not erased, before and after.
	findingsOf := func() []string {
		var out []string
		_, err := reconcile.Compare(ctx, m.le.Ledger, src, reconcile.DiffOptions{Evidence: m.le.Store, Emit: func(f diff.Finding) error {
			if f.ConversationID != target {
				out = append(out, fmt.Sprintf("%+v", f))
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	before := findingsOf()
	var proofs [][]byte
	for _, c := range []string{target, other} {
		for _, seq := range m.messageSeqs(t, c) {
			proofs = append(proofs, m.prove(t, seq))
		}
	}

	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{
		Conversations: []string{target}, Reason: "GDPR Art. 17 request #42", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detail.Erased) == 0 || !slices.Equal(res.Detail.Conversations, []string{target}) {
		t.Fatalf("erasure %+v", res.Detail)
	}

	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Erased != len(res.Detail.Erased) || !slices.Equal(rep.Evidence.ErasedConversations, []string{target}) || rep.Evidence.Missing != 0 {
		t.Fatalf("verify after erasure: ok %v, findings %v, evidence %+v", rep.OK, rep.Findings, rep.Evidence)
	}
	for i, p := range proofs {
		if _, err := leaf.VerifyProof(p, m.le.Ledger.VerifierKey()); err != nil {
			t.Errorf("proof %d issued before the erasure: %v", i, err)
		}
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) > 0 {
		t.Errorf("erased text still in the matter's files: %v", hits)
	}
	if after := findingsOf(); len(before) == 0 || !slices.Equal(after, before) {
		t.Errorf("the findings of conversations not erased changed: %d before, %d after", len(before), len(after))
	}
	// The recorded diff's findings named the conversation, with the
	// plain SHA-256 of its texts where they differed: deleted, and named
	// with the diff, so verify (above) takes them as erased.
	for _, k := range res.Detail.Kept {
		if strings.Contains(k.Why, "diff findings") {
			t.Errorf("a recorded diff's findings kept: %+v", k)
		}
	}
	if len(res.Detail.Diffs) != 1 || len(res.Detail.Diffs[0].Findings) == 0 || !strings.Contains(res.Detail.Diffs[0].Why, "conversation "+target) ||
		!strings.Contains(res.Detail.Diffs[0].Why, "run custody diff again") ||
		!strings.Contains(res.Detail.Diffs[0].Why, "compares no erased message's text or sender") ||
		!strings.Contains(res.Detail.Diffs[0].Why, "may name the erased conversations and messages again") {
		t.Fatalf("the erasure's diffs: %+v, want the recorded diff's findings naming %s", res.Detail.Diffs, target)
	}
	for _, f := range res.Detail.Diffs[0].Findings {
		h, _ := hashchain.ParseHash(f)
		if ok, err := m.le.Store.Exists(ctx, h); ok || err != nil || !slices.Contains(res.Detail.Erased, f) {
			t.Errorf("findings object %s: still there %v (%v), or not in erased", f, ok, err)
		}
	}
	// Its addresses remain only in what the erasure entry says it kept:
	// the analytics listing pages, the evidence of the export's scope.
	keptFiles := map[string]bool{}
	for _, k := range res.Detail.Kept {
		keptFiles[k.Object] = true
	}
	for _, hit := range grepTree(t, m.le.Dir, addresses) {
		name := filepath.Base(hit[:bytes.IndexByte([]byte(hit), ':')])
		if !keptFiles[name] {
			t.Errorf("an erased address is in a file the erasure does not name as kept: %s", hit)
		}
	}

	// The diff's view: erased, nothing to compare; the other opens.
	x := &reconcile.LedgerIndex{L: m.le.Ledger, Evidence: m.le.Store}
	cs, err := x.Conversation(ctx, target)
	if err != nil || len(cs) == 0 {
		t.Fatalf("index of the erased conversation: %v %v", cs, err)
	}
	for _, c := range cs {
		if !c.Erased || c.ContentSHA256 != "" || c.Sender != "" {
			t.Errorf("erased capture %+v", c)
		}
	}
	cs, err = x.Conversation(ctx, other)
	if err != nil || len(cs) == 0 || cs[0].Erased || cs[0].Sender == "" {
		t.Fatalf("index of another conversation: %+v %v", cs, err)
	}
	st, err := erasure.Load(ctx, m.le.Ledger)
	if err != nil || !st.Conversation(target) || !st.Message(target, "any-message") || st.Message(other, cs[0].MessageID) {
		t.Errorf("erasure state: %v", err)
	}

	// Exporting again captures nothing of it.
	m.export(t)
	if hits := grepTree(t, m.le.Dir, needles); len(hits) > 0 {
		t.Errorf("a second export brought erased data back: %v", hits)
	}
	if rep := m.verify(t); !rep.OK {
		t.Errorf("verify after a second export: %v", rep.Findings)
	}
}

// TestEraseHoldReasonEscaped: a refusal names a matter hold's reason as
// the diff's summary shows an export's id — escape sequences, C1
// controls, bidi overrides and line breaks escaped ('\x1b', '\u202e',
// '\n') — where it wrote the ledger's text raw, so printing the error
// ran the reason's escape sequences on the operator's terminal.
func TestEraseHoldReasonEscaped(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	if _, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{free[0]}, Reason: "legal\x1b[2J\x1b]0;pwn\a\u009b31m\u202e\nx", Operator: "counsel"}); err != nil {
		t.Fatal(err)
	}
	_, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0]}, Reason: "r", Operator: "dpo"})
	if !errors.Is(err, erase.ErrHeld) {
		t.Fatalf("erase under a matter hold: %v", err)
	}
	if want := `(matter hold: legal\x1b[2J\x1b]0;pwn\a\u009b31m\u202e\nx)`; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to hold %q", err, want)
	}
}

// TestEraseHold: a conversation under legal hold is refused, nothing
// erased; with an override it is erased and the override recorded; a
// matter hold refuses too, and its release lifts it.
func TestEraseHold(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, held := m.conversations(t)
	before := m.size(t)
	_, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{held[0]}, Reason: "r", Operator: "dpo"})
	if !errors.Is(err, erase.ErrHeld) || m.size(t) != before {
		t.Fatalf("erase under deletion protection: %v (size %d → %d)", err, before, m.size(t))
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Erased != 0 {
		t.Fatalf("a refused erasure changed something: %v", rep.Findings)
	}
	// Under both holds, the refusal names both: releasing the matter hold
	// alone would not be enough.
	if _, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{held[1]}, Reason: "litigation hold LGL-2", Operator: "counsel"}); err != nil {
		t.Fatal(err)
	}
	_, err = erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{held[1]}, Reason: "r", Operator: "dpo"})
	if !errors.Is(err, erase.ErrHeld) || !strings.Contains(err.Error(), held[1]+" (deletion protection at capture; matter hold: litigation hold LGL-2)") {
		t.Fatalf("erase under both holds: %v, want both named", err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{held[0]}, Reason: "r", Operator: "dpo",
		OverrideHold: "court order 2024-17 lifts the hold", SignerKey: m.le.Key})
	if err != nil || res.Detail.OverrideHold != "court order 2024-17 lifts the hold" || !slices.Equal(res.Held, []string{held[0]}) {
		t.Fatalf("override: %+v %v", res, err)
	}
	e, err := m.le.Ledger.Entry(ctx, res.Seq)
	if err != nil || !bytes.Contains(e.Leaf, []byte(`"override_hold":"court order 2024-17 lifts the hold"`)) {
		t.Fatalf("the override is not in the entry: %s %v", e.Leaf, err)
	}

	// A matter hold.
	hr, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{free[0]}, Reason: "litigation hold acme-v-smith", Operator: "counsel"})
	if err != nil || hr.Detail.ObjectLock != "unsupported" {
		t.Fatalf("hold: %+v %v", hr, err)
	}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0]}, Reason: "r", Operator: "dpo"}); !errors.Is(err, erase.ErrHeld) {
		t.Fatalf("erase under a matter hold: %v", err)
	}
	if _, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{free[0]}, Reason: "settled", Operator: "counsel", Release: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{free[0]}, Reason: "r", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatalf("erase after release: %v", err)
	}
	if _, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: []string{"no-such-conversation"}, Reason: "x"}); !errors.Is(err, erase.ErrNotFound) {
		t.Errorf("hold of an unknown conversation: %v", err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
}

// TestEraseMessage: one message erased; the other messages of its
// conversation lose their response body (collateral) but keep their
// openings, so a diff still compares them; verify passes.
func TestEraseMessage(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	conv := free[2]
	x := &reconcile.LedgerIndex{L: m.le.Ledger, Evidence: m.le.Store}
	cs, err := x.Conversation(ctx, conv)
	if err != nil || len(cs) < 2 {
		t.Fatalf("%v %v", cs, err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{cs[0].MessageID}, Reason: "r", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Detail.Partial, []string{conv}) || len(res.Detail.Collateral) == 0 || slices.Contains(res.Detail.Collateral, cs[0].MessageID) {
		t.Fatalf("erasure %+v", res.Detail)
	}
	x = &reconcile.LedgerIndex{L: m.le.Ledger, Evidence: m.le.Store}
	after, err := x.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range after {
		if c.MessageID == cs[0].MessageID {
			if !c.Erased {
				t.Errorf("erased message not erased: %+v", c)
			}
		} else if c.Erased || c.ContentSHA256 != cs[i].ContentSHA256 || c.Sender != cs[i].Sender || c.MessageID != cs[i].MessageID {
			t.Errorf("a message not erased changed: %+v, was %+v", c, cs[i])
		}
	}
	if rep := m.verify(t); !rep.OK || !slices.Equal(rep.Evidence.ErasedMessages, []string{cs[0].MessageID}) {
		t.Fatalf("verify: %v %+v", rep.Findings, rep.Evidence)
	}
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{"nope"}, Reason: "r"}); !errors.Is(err, erase.ErrNotFound) {
		t.Errorf("erase of an unknown message: %v", err)
	}
}

// exportMatterTo exports a six-conversation org into a new ledger whose
// evidence goes to st (an S3 store, for Object Lock).
func exportMatterTo(t *testing.T, st evidence.Store) *matter {
	t.Helper()
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 6, Start: start, End: start.AddDate(0, 0, 5)},
		JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
	})
	le := ledgertest.New(t, "m")
	le.Store = st
	m := &matter{srv: srv, le: le}
	m.export(t)
	return m
}

// TestEraseObjectLock: with the evidence in S3 under Object Lock legal
// hold (export --legal-hold), erase is refused with a clear message and
// nothing is deleted or recorded; custody release lifts the Object Lock
// hold on the conversation's objects, and erase then succeeds.
func TestEraseObjectLock(t *testing.T) {
	s3srv := s3test.Start(t)
	ctx := context.Background()
	bucket := s3srv.Bucket(t, true)
	st, err := s3store.Open(ctx, "s3://"+bucket+"/m", s3store.Options{Client: s3srv.Client(t)}, evidence.Options{LegalHold: true})
	if err != nil {
		t.Fatal(err)
	}
	m := exportMatterTo(t, st)
	le := m.le
	free, _ := func() ([]string, []string) {
		var free []string
		for e, err := range le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
			if err != nil {
				t.Fatal(err)
			}
			free = append(free, e.ConversationID)
		}
		return free, nil
	}()
	head := func() uint64 {
		h, err := le.Ledger.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h.Size
	}
	before := head()
	_, err = erase.Erase(ctx, le.Ledger, st, erase.Request{Conversations: free[:1], Reason: "r", Operator: "dpo"})
	if !errors.Is(err, erase.ErrLocked) || !strings.Contains(err.Error(), "S3 Object Lock") || head() != before {
		t.Fatalf("erase under Object Lock: %v (entries %d → %d)", err, before, head())
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Erased != 0 {
		t.Fatalf("a refused erasure changed the evidence: %v", rep.Findings)
	}
	// A matter hold on another conversation sets Object Lock on its objects.
	if len(free) < 2 {
		t.Fatalf("%d conversations", len(free))
	}
	hr, err := erase.Hold(ctx, le.Ledger, st, erase.HoldRequest{Conversations: free[1:2], Reason: "litigation", Operator: "counsel"})
	if err != nil || hr.Detail.ObjectLock != "set" || hr.Objects == 0 || hr.Failed != 0 {
		t.Fatalf("hold on S3: %+v %v", hr, err)
	}
	hr, err = erase.Hold(ctx, le.Ledger, st, erase.HoldRequest{Conversations: free[:1], Reason: "released for erasure", Operator: "counsel", Release: true})
	if err != nil || hr.Detail.ObjectLock != "cleared" || hr.Objects == 0 {
		t.Fatalf("release: %+v %v", hr, err)
	}
	res, err := erase.Erase(ctx, le.Ledger, st, erase.Request{Conversations: free[:1], Reason: "r", Operator: "dpo", SignerKey: le.Key})
	if err != nil || len(res.Detail.Erased) == 0 {
		t.Fatalf("erase after release: %+v %v", res, err)
	}
	for _, k := range res.Detail.Kept {
		if strings.Contains(k.Why, "object lock") {
			t.Errorf("kept under object lock after release: %+v", k)
		}
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Erased != len(res.Detail.Erased) {
		t.Fatalf("verify: %v %+v", rep.Findings, rep.Evidence)
	}
}

// remoteDeletes is a store whose deletions and legal holds wait a
// little, as S3's round trips do, and that asks for 16 requests in
// flight (evidence.Parallel); it records the most requests it had in
// flight, the order deletions started in, and each object's hold.
type remoteDeletes struct {
	evidence.Store
	requests benchutil.InFlight
	mu       sync.Mutex
	started  []hashchain.Hash
	held     map[hashchain.Hash]bool
}

func (s *remoteDeletes) Parallelism() int { return 16 }

// request notes a request in flight, waits as a round trip does, and
// returns the function that notes it ended.
func (s *remoteDeletes) request() (done func()) {
	done = s.requests.Enter()
	time.Sleep(5 * time.Millisecond)
	return done
}

func (s *remoteDeletes) Delete(ctx context.Context, sum hashchain.Hash) error {
	s.mu.Lock()
	s.started = append(s.started, sum)
	s.mu.Unlock()
	defer s.request()()
	return s.Store.Delete(ctx, sum)
}

func (s *remoteDeletes) SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error {
	defer s.request()()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[hashchain.Hash]bool{}
	}
	s.held[sum] = on
	return nil
}

// TestEraseDeletesInParallel: from a store that keeps requests in flight
// (S3), erase deletes several objects at once, up to the store's figure,
// still deleting every opening before it starts on any other object;
// every object it deleted is recorded as erased, none as kept for a
// failure, and verify passes.
func TestEraseDeletesInParallel(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	target := free[0]
	openings := map[hashchain.Hash]bool{}
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: target}) {
		if err != nil {
			t.Fatal(err)
		}
		refs, err := e.EvidenceRefs()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			if r.Role == leaf.RoleOpening {
				h, err := hashchain.ParseHash(r.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				openings[h] = true
			}
		}
	}
	if len(openings) < 2 {
		t.Fatalf("conversation %s has %d openings: too few to see deletions overlap", target, len(openings))
	}
	st := &remoteDeletes{Store: m.le.Store}
	res, err := erase.Erase(ctx, m.le.Ledger, st, erase.Request{Conversations: []string{target}, Reason: "r", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Detail.Erased) != len(st.started) {
		t.Errorf("%d objects recorded as erased, %d deleted", len(res.Detail.Erased), len(st.started))
	}
	for _, k := range res.Detail.Kept {
		if strings.HasPrefix(k.Why, "not deleted") || strings.HasPrefix(k.Why, "s3 object lock") {
			t.Errorf("kept: %+v", k)
		}
	}
	if most := st.requests.Most(); most < 2 || most > 16 {
		t.Errorf("at most %d deletions in flight, want 2 to 16", most)
	}
	for i, h := range st.started {
		if i > 0 && openings[h] && !openings[st.started[i-1]] {
			t.Errorf("deletion %d, an opening, started after another object's", i)
		}
	}
	if n := len(openings); len(st.started) <= n || !openings[st.started[n-1]] {
		t.Errorf("the first %d deletions are not the %d openings", n, n)
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Erased != len(res.Detail.Erased) {
		t.Fatalf("verify: %v %+v", rep.Findings, rep.Evidence)
	}
}

// TestHoldInParallel: custody hold and release set and clear the legal
// hold of every object of the conversations, several at a time on a
// store that keeps requests in flight, and record it as done.
func TestHoldInParallel(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	st := &remoteDeletes{Store: m.le.Store}
	hr, err := erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:3], Reason: "litigation", Operator: "counsel"})
	if err != nil || hr.Detail.ObjectLock != "set" || hr.Failed != 0 || hr.Objects < 3 || hr.Objects != len(st.held) {
		t.Fatalf("hold: %+v %v (%d objects held)", hr, err, len(st.held))
	}
	if most := st.requests.Most(); most < 2 || most > 16 {
		t.Errorf("at most %d holds in flight, want 2 to 16", most)
	}
	hr, err = erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:3], Reason: "settled", Operator: "counsel", Release: true})
	if err != nil || hr.Detail.ObjectLock != "cleared" || hr.Objects != len(st.held) {
		t.Fatalf("release: %+v %v", hr, err)
	}
	for h, on := range st.held {
		if on {
			t.Errorf("object %s still held after release", h)
		}
	}
}

// failingLocks is remoteDeletes whose legal hold fails for the objects in
// fail.
type failingLocks struct {
	remoteDeletes
	fail map[hashchain.Hash]bool
}

func (s *failingLocks) SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error {
	if s.fail[sum] {
		return errors.New("AccessDenied: simulated")
	}
	return s.remoteDeletes.SetLegalHold(ctx, sum, on)
}

// TestHoldPartlyFailed: a hold or release whose Object Lock change fails
// for some objects is recorded as partial, lists them, and returns an
// error saying so (exit 1), as an erase that could not delete everything
// does: a partial hold must not look like a done one. Run again with the
// failures gone, it records the hold as set.
func TestHoldPartlyFailed(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	st := &failingLocks{remoteDeletes: remoteDeletes{Store: m.le.Store}, fail: map[hashchain.Hash]bool{}}
	// The first pass finds the objects; then two of them fail.
	hr, err := erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:2], Reason: "litigation", Operator: "counsel"})
	if err != nil || hr.Failed != 0 {
		t.Fatalf("hold: %+v %v", hr, err)
	}
	var objs []hashchain.Hash
	for h := range st.held {
		objs = append(objs, h)
	}
	slices.SortFunc(objs, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	st.fail[objs[1]], st.fail[objs[len(objs)-1]] = true, true
	for _, release := range []bool{true, false} {
		hr, err = erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:2], Reason: "again", Operator: "counsel", Release: release})
		if err == nil || !strings.Contains(err.Error(), "2 evidence objects were not changed") {
			t.Errorf("release %v with 2 objects failing: error %v, want one saying so", release, err)
		}
		if hr == nil || hr.Failed != 2 || len(hr.NotChanged) != 2 || !strings.HasPrefix(hr.Detail.ObjectLock, "partial: ") || hr.Seq == 0 {
			t.Fatalf("release %v with 2 objects failing: %+v", release, hr)
		}
	}
	clear(st.fail)
	if hr, err = erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:2], Reason: "again", Operator: "counsel"}); err != nil || hr.Detail.ObjectLock != "set" {
		t.Fatalf("hold with nothing failing: %+v %v", hr, err)
	}
}

// BenchmarkEraseS3 erases the conversations without a legal hold of a
// 30-conversation matter whose evidence is in S3 (versitygw, every
// request held 20 ms: s3test.DelayedClient), in one request: with the
// store's Parallelism deletions in flight (default), and one at a time,
// as erase deleted before. Each op is one erasure of a new matter; the
// export that makes it is not timed.
//
//	go test ./internal/erase -run '^$' -bench EraseS3 -benchtime 3x
func BenchmarkEraseS3(b *testing.B) {
	s3srv := s3test.Start(b)
	ctx := context.Background()
	bucket := s3srv.Bucket(b, false)
	client := s3srv.DelayedClient(b, 20*time.Millisecond)
	for _, n := range []int{0, 1} {
		name := fmt.Sprintf("deletes-in-flight=%d", n)
		if n == 0 {
			name = "deletes-in-flight=default"
		}
		b.Run(name, func(b *testing.B) {
			objects := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				st, err := s3store.Open(ctx, fmt.Sprintf("s3://%s/%s-%d", bucket, name, i), s3store.Options{Client: client}, evidence.Options{})
				if err != nil {
					b.Fatal(err)
				}
				srv := simtest.Start(b, sim.Options{
					OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 30, Start: start, End: start.AddDate(0, 0, 5), LegalHoldShare: 0.3},
					JobDelay:  10 * time.Millisecond, AuditDelay: 10 * time.Millisecond,
				})
				m := &matter{srv: srv, le: ledgertest.New(b, "m")}
				m.le.Store = st
				m.export(b)
				free, _ := m.conversations(b)
				var store evidence.Store = st
				if n > 0 {
					store = storetest.WithParallelism(st, n)
				}
				b.StartTimer()
				res, err := erase.Erase(ctx, m.le.Ledger, store, erase.Request{Conversations: free, Reason: "r", Operator: "dpo"})
				if err != nil {
					b.Fatal(err)
				}
				objects += len(res.Detail.Erased)
			}
			b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// TestHoldTwice: a hold on a conversation already held, or a release of
// one not held, is recorded all the same (the ledger keeps every
// request) and says so: AlreadyHeld names the hold in force, NotHeld the
// conversations there was nothing to lift on.
func TestHoldTwice(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	hold := func(release bool, reason string, convs ...string) *erase.HoldResult {
		t.Helper()
		hr, err := erase.Hold(ctx, m.le.Ledger, m.le.Store, erase.HoldRequest{Conversations: convs, Reason: reason, Operator: "counsel", Release: release})
		if err != nil {
			t.Fatal(err)
		}
		return hr
	}
	first := hold(false, "litigation", free[0])
	if len(first.AlreadyHeld) != 0 || len(first.NotHeld) != 0 {
		t.Fatalf("first hold: %+v", first)
	}
	again := hold(false, "second matter", free[0], free[1])
	want := []erase.PriorHold{{Conversation: free[0], Seq: first.Seq, Reason: "litigation"}}
	if again.Seq <= first.Seq || !slices.Equal(again.AlreadyHeld, want) || len(again.NotHeld) != 0 {
		t.Fatalf("hold again: seq %d (first %d), already held %+v, want %+v", again.Seq, first.Seq, again.AlreadyHeld, want)
	}
	rel := hold(true, "settled", free[0], free[1])
	if len(rel.NotHeld) != 0 || len(rel.AlreadyHeld) != 0 {
		t.Fatalf("release of held conversations: %+v", rel)
	}
	relAgain := hold(true, "settled", free[0], free[2])
	if want := []string{free[0], free[2]}; relAgain.Seq <= rel.Seq || !slices.Equal(relAgain.NotHeld, sortedCopy(want)) {
		t.Fatalf("release again: seq %d, not held %q, want %q", relAgain.Seq, relAgain.NotHeld, want)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// failingGets is a store whose reads fail (not "absent": an I/O error).
type failingGets struct{ evidence.Store }

func (s failingGets) Get(context.Context, hashchain.Hash) ([]byte, error) {
	return nil, errors.New("EIO: simulated")
}

// TestEraseUnreadableKeptObject: the objects erase keeps (the listing
// pages) are read to say which hold the erased conversation. One that
// cannot be read stops the erasure before anything is deleted or
// recorded, instead of being taken for absent and left out of the kept
// list.
func TestEraseUnreadableKeptObject(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	needles := secrets(t, m.srv.Org, free[0], false)
	before, _ := m.le.Ledger.Head(ctx)
	_, err := erase.Erase(ctx, m.le.Ledger, failingGets{m.le.Store}, erase.Request{Conversations: free[:1], Reason: "DSR-9", Operator: "dpo"})
	if err == nil || !strings.Contains(err.Error(), "EIO: simulated") {
		t.Fatalf("erase with a kept object unreadable: %v, want its read error", err)
	}
	if after, _ := m.le.Ledger.Head(ctx); after.Size != before.Size {
		t.Errorf("the ledger grew from %d to %d entries", before.Size, after.Size)
	}
	if hits := grepTree(t, m.le.Dir, needles); len(hits) == 0 {
		t.Error("the conversation's evidence was deleted by an erasure that failed")
	}
}

// missingLocks is remoteDeletes whose legal hold fails, as S3's does
// (NoSuchKey), for an object the store does not hold.
type missingLocks struct{ remoteDeletes }

func (s *missingLocks) SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error {
	if _, err := s.Store.Get(ctx, sum); err != nil {
		return fmt.Errorf("NoSuchKey: simulated: %w", err)
	}
	return s.remoteDeletes.SetLegalHold(ctx, sum, on)
}

// TestHoldAfterErasure: a hold on a conversation one of whose messages
// was erased (its bodies deleted with it) counts the deleted objects as
// erased, not as failures: the lock is set on every object there, and
// the hold is no partial one. Before, each deleted object's NoSuchKey was
// a failure, and the hold was recorded partial with an error (exit 1).
func TestHoldAfterErasure(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	var target string
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: free[0]}) {
		if err != nil {
			t.Fatal(err)
		}
		target = e.MessageID
		break
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{target}, Reason: "DSR", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || len(res.Detail.Erased) == 0 {
		t.Fatalf("erase: %+v %v", res, err)
	}
	st := &missingLocks{remoteDeletes{Store: m.le.Store}}
	hr, err := erase.Hold(ctx, m.le.Ledger, st, erase.HoldRequest{Conversations: free[:1], Reason: "litigation", Operator: "counsel"})
	if err != nil || hr.Detail.ObjectLock != "set" || hr.Failed != 0 || hr.Erased == 0 || hr.Objects != len(st.held) || hr.Objects == 0 {
		t.Fatalf("hold after an erasure: %+v %v", hr, err)
	}
}
