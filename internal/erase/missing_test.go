package erase_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
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

// sharedBody returns a conversation of convs with two messages whose
// entries name the same response body, the two messages, and that body.
func (m *matter) sharedBody(t *testing.T, convs []string) (conv string, msgs []string, body hashchain.Hash) {
	t.Helper()
	for _, c := range convs {
		byBody := map[hashchain.Hash][]string{}
		for e, err := range m.le.Ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage, ConversationID: c}) {
			if err != nil {
				t.Fatal(err)
			}
			rs, err := e.EvidenceRefs()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if h, _ := hashchain.ParseHash(r.SHA256); r.Role == leaf.RoleResponse && !h.IsZero() {
					byBody[h] = append(byBody[h], e.MessageID)
				}
			}
		}
		for h, ms := range byBody {
			if len(ms) >= 2 {
				return c, ms, h
			}
		}
	}
	t.Fatal("no conversation with two messages in one response body")
	return "", nil, hashchain.Hash{}
}

// refusedMissing checks that erasing req with object gone from store
// (not by custody) is refused naming it, deleting and recording nothing,
// and that verify --evidence still reports it missing.
func (m *matter) refusedMissing(t *testing.T, store evidence.Store, req erase.Request, gone hashchain.Hash) {
	t.Helper()
	ctx := context.Background()
	req.Reason, req.Operator, req.SignerKey = "DSR-9999", "dpo", m.le.Key
	before := m.size(t)
	var objects []string
	if err := store.Walk(ctx, func(h hashchain.Hash) error { objects = append(objects, h.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, store, req)
	if !errors.Is(err, erase.ErrMissing) || !errors.Is(err, fs.ErrNotExist) || res != nil ||
		!strings.Contains(err.Error(), gone.String()+" (") || !strings.Contains(err.Error(), "no erasure deleted it") ||
		!strings.Contains(err.Error(), "custody verify --evidence") || !strings.Contains(err.Error(), "nothing was erased") {
		t.Fatalf("erase with %s deleted by hand: %+v %v, want it refused naming the object and whose it is", gone, res, err)
	}
	if after := m.size(t); after != before {
		t.Errorf("the ledger grew from %d to %d entries", before, after)
	}
	var after []string
	if err := store.Walk(ctx, func(h hashchain.Hash) error { after = append(after, h.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after, objects) {
		t.Errorf("objects deleted by a refused erasure: %d before, %d after", len(objects), len(after))
	}
	if rep := m.verify(t); rep.OK {
		t.Error("verify passes after the refused erasure: the missing object is hidden")
	}
}

// TestEraseRefusesMissingObject: an object an erasure would delete that
// is already absent, with no earlier erasure entry recording it deleted
// and no journal of an erase cut short naming it (deleted by hand, or
// lost), refuses the erasure: nothing deleted, nothing recorded, and
// verify --evidence still reports it missing. Before, the absent object
// was "deleted" (a no-op), listed in the entry's erased objects as if
// the erasure had deleted it, and verify went from FAIL to OK; deleting
// by hand an altered object erase had refused got the same erase through
// (review rv2, finding 1). Once the object is back, the erasure goes
// ahead, and erasing what is left of the conversation after it (its
// body gone, recorded by the first entry) goes ahead too.
func TestEraseRefusesMissingObject(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)
	conv, ms, body := m.sharedBody(t, free)

	p := m.objectPath(body)
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if rep := m.verify(t); rep.OK {
		t.Fatal("verify passes with an object removed: the fixture removes nothing")
	}
	t.Run("message", func(t *testing.T) {
		m.refusedMissing(t, m.le.Store, erase.Request{Messages: []string{ms[0]}}, body)
	})
	t.Run("conversation", func(t *testing.T) {
		m.refusedMissing(t, m.le.Store, erase.Request{Conversations: []string{conv}}, body)
	})

	// Restored from a backup: the same erasure goes ahead, and records
	// the body it deleted.
	if err := os.WriteFile(p, orig, 0o444); err != nil {
		t.Fatal(err)
	}
	res, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{ms[0]}, Reason: "DSR-9999", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || !slices.Contains(res.Detail.Erased, body.String()) {
		t.Fatalf("erase with the body restored: %+v %v", res, err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
	// What is left of the conversation: its body is absent, and the
	// first entry records that it deleted it.
	res, err = erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{conv}, Reason: "DSR-10000", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || res.Already || slices.Contains(res.Detail.Erased, body.String()) {
		t.Fatalf("erase the rest of the conversation: %+v %v", res, err)
	}
	if rep := m.verify(t); !rep.OK {
		t.Fatalf("verify: %v", rep.Findings)
	}
}

// TestEraseRefusesMissingObjectS3: the same on S3, the body deleted
// with an S3 client behind custody's back.
func TestEraseRefusesMissingObjectS3(t *testing.T) {
	s3srv := s3test.Start(t)
	ctx := context.Background()
	st, err := s3store.Open(ctx, "s3://"+s3srv.Bucket(t, false)+"/m", s3store.Options{Client: s3srv.Client(t)}, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := exportMatterTo(t, st)
	var convs []string
	for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, e.ConversationID)
	}
	conv, ms, body := m.sharedBody(t, convs)
	if err := st.Delete(ctx, body); err != nil {
		t.Fatal(err)
	}
	m.refusedMissing(t, st, erase.Request{Messages: []string{ms[1]}}, body)
	m.refusedMissing(t, st, erase.Request{Conversations: []string{conv}}, body)
}
