package erase_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// objectPath is where the matter's folder store keeps h.
func (m *matter) objectPath(h hashchain.Hash) string {
	return filepath.Join(m.le.Dir, "evidence", filepath.FromSlash(evidence.Key(h)))
}

// flipByte changes one byte of the stored object h, returning what undoes it.
func (m *matter) flipByte(t *testing.T, h hashchain.Hash) (undo func()) {
	t.Helper()
	p := m.objectPath(h)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	orig := slices.Clone(b)
	b[len(b)/2] ^= 0x01
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(p, orig, 0o444); err != nil {
			t.Fatal(err)
		}
	}
}

// storedObjects lists the objects in the matter's folder store.
func (m *matter) storedObjects(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := m.le.Store.Walk(context.Background(), func(h hashchain.Hash) error {
		out = append(out, h.String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEraseRefusesAlteredObject: an object an erasure would delete is
// hash-checked first, whether it is a body erase reads anyway or one
// the erased entries name themselves (the conversation's bulk body, an
// attachment). One byte changed in it refuses the erasure: nothing
// deleted, nothing recorded, and verify --evidence still finds the
// alteration. Before, the altered body or attachment was deleted
// unread, and verify went from FAIL to OK with nothing recorded.
func TestEraseRefusesAlteredObject(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)

	type msg struct {
		id          string
		body, media hashchain.Hash
	}
	msgsOf := func(conv string) []msg {
		var out []msg
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, ConversationID: conv}) {
			if err != nil {
				t.Fatal(err)
			}
			rs, err := e.EvidenceRefs()
			if err != nil {
				t.Fatal(err)
			}
			x := msg{id: e.MessageID}
			for _, r := range rs {
				h, _ := hashchain.ParseHash(r.SHA256)
				switch r.Role {
				case leaf.RoleResponse:
					x.body = h
				case leaf.RoleMedia:
					x.media = h
				}
			}
			out = append(out, x)
		}
		return out
	}
	refused := func(t *testing.T, req erase.Request, altered hashchain.Hash) {
		t.Helper()
		req.Reason, req.Operator, req.SignerKey = "DSR-9999", "dpo", m.le.Key
		before, objects := m.size(t), m.storedObjects(t)
		if rep := m.verify(t); rep.OK {
			t.Fatal("verify passes with an object altered: the fixture alters nothing")
		}
		_, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, req)
		if !errors.Is(err, evidence.ErrCorrupt) || !strings.Contains(err.Error(), altered.String()) ||
			!strings.Contains(err.Error(), "custody verify --evidence") || !strings.Contains(err.Error(), "nothing was erased") {
			t.Fatalf("erase with %s altered: %v, want it refused naming the object", altered, err)
		}
		if after := m.size(t); after != before {
			t.Errorf("the ledger grew from %d to %d entries", before, after)
		}
		if after := m.storedObjects(t); !slices.Equal(after, objects) {
			t.Errorf("objects deleted by a refused erasure: %d before, %d after", len(objects), len(after))
		}
		if rep := m.verify(t); rep.OK {
			t.Error("verify passes after the refused erasure: the alteration is hidden")
		}
	}

	// The bulk body of a conversation, altered (another message's text),
	// and one message erased: its own entry names that body.
	var conv string
	var ms []msg
	for _, c := range free {
		if ms = msgsOf(c); len(ms) >= 2 && !ms[1].body.IsZero() {
			conv = c
			break
		}
	}
	if conv == "" {
		t.Fatal("no conversation with two messages and a body")
	}
	undo := m.flipByte(t, ms[1].body)
	t.Run("message", func(t *testing.T) {
		refused(t, erase.Request{Messages: []string{ms[0].id}}, ms[1].body)
	})
	t.Run("conversation", func(t *testing.T) {
		refused(t, erase.Request{Conversations: []string{conv}}, ms[1].body)
	})
	undo()

	// An attachment of the message erased alone.
	var withMedia msg
	for _, c := range free {
		for _, x := range msgsOf(c) {
			if !x.media.IsZero() {
				withMedia = x
				break
			}
		}
	}
	if withMedia.id == "" {
		t.Fatal("no message with an attachment")
	}
	undo = m.flipByte(t, withMedia.media)
	t.Run("attachment", func(t *testing.T) {
		refused(t, erase.Request{Messages: []string{withMedia.id}}, withMedia.media)
	})
	undo()

	// Restored, the same erasure goes ahead.
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{ms[0].id}, Reason: "DSR-9999", Operator: "dpo", SignerKey: m.le.Key}); err != nil {
		t.Fatal(err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
}

// TestEraseLockedBody: on S3, the erased message's opening deletes but
// the conversation's bulk body, which holds its text, is under an
// Object Lock legal hold (an admin's, say). The erasure is recorded
// with that body kept, exits with an error matching ErrLocked that says
// to lift the hold and run again, and counts no message collateral for
// a body it did not delete. Run again under the lock, it records
// nothing and names the earlier entry rather than saying nothing was
// erased; once the lock is lifted, it deletes the body and records it.
// Before, the first run succeeded with the body kept, and its
// collateral listed every other message of the conversation.
func TestEraseLockedBody(t *testing.T) {
	s3srv := s3test.Start(t)
	ctx := context.Background()
	bucket := s3srv.Bucket(t, true)
	st, err := s3store.Open(ctx, "s3://"+bucket+"/m", s3store.Options{Client: s3srv.Client(t)}, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := exportMatterTo(t, st)
	var target string
	var body hashchain.Hash
	bodyOf := map[string]hashchain.Hash{}
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		bodyOf[e.MessageID] = e.EvidenceSHA256
	}
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range bodyOf {
			if b == e.EvidenceSHA256 {
				n++
			}
		}
		if n >= 2 && !e.EvidenceSHA256.IsZero() {
			target, body = e.MessageID, e.EvidenceSHA256
			break
		}
	}
	if target == "" {
		t.Fatal("no message whose body holds another")
	}
	locker := st.(evidence.Locker)
	if err := locker.SetLegalHold(ctx, body, true); err != nil {
		t.Fatal(err)
	}
	req := erase.Request{Messages: []string{target}, Reason: "DSR-S3-2", Operator: "dpo", SignerKey: m.le.Key}
	res, err := erase.Erase(ctx, m.le.Ledger, st, req)
	if !errors.Is(err, erase.ErrLocked) || res == nil || !strings.Contains(err.Error(), fmt.Sprintf("recorded as entry %d, but 1 evidence objects were not deleted (S3 Object Lock", res.Seq)) {
		t.Fatalf("erase with the body locked: %+v %v, want it recorded with 1 object not deleted under Object Lock", res, err)
	}
	if len(res.Detail.Erased) == 0 || slices.Contains(res.Detail.Erased, body.String()) {
		t.Fatalf("erased %v, want the opening and not the locked body %s", res.Detail.Erased, body)
	}
	for _, c := range res.Detail.Collateral {
		if bodyOf[c] == body {
			t.Errorf("message %s counted collateral, but its body %s was not deleted", c, body)
		}
	}
	first := res.Seq

	// Again, the lock still on: nothing more to delete, nothing recorded.
	size := m.size(t)
	res, err = erase.Erase(ctx, m.le.Ledger, st, req)
	if !errors.Is(err, erase.ErrLocked) || res != nil || strings.Contains(err.Error(), "nothing was erased") ||
		!strings.Contains(err.Error(), fmt.Sprintf("entry %d recorded this erasure", first)) {
		t.Fatalf("erase again under the lock: %+v %v, want the earlier entry named", res, err)
	}
	if m.size(t) != size {
		t.Errorf("an erase that deleted nothing more appended an entry")
	}

	// Lifted: the body is deleted and recorded, with its collateral.
	if err := locker.SetLegalHold(ctx, body, false); err != nil {
		t.Fatal(err)
	}
	res, err = erase.Erase(ctx, m.le.Ledger, st, req)
	if err != nil || !slices.Contains(res.Detail.Erased, body.String()) || len(res.Detail.Collateral) == 0 {
		t.Fatalf("erase once the lock is lifted: %+v %v", res, err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
}
