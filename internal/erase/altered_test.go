package erase_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
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
