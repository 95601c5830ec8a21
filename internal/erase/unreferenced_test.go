package erase_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// countingStore counts the listings of a store and the reads of each
// object.
type countingStore struct {
	evidence.Store
	mu      sync.Mutex
	surveys int
	gets    map[hashchain.Hash]int
}

func (s *countingStore) Survey(ctx context.Context, objects func(hashchain.Hash) error, strays func(string) error) error {
	s.mu.Lock()
	s.surveys++
	s.mu.Unlock()
	return s.Store.Survey(ctx, objects, strays)
}

func (s *countingStore) Get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	s.mu.Lock()
	s.gets[sum]++
	s.mu.Unlock()
	return s.Store.Get(ctx, sum)
}

// TestEraseUnreferencedBodies: a custody before ef2d53c stored the
// response bodies of every conversation it read again unchanged, and no
// entry names them (attachment urls signed per request made each new).
// Erasing a message deletes such a body, bulk or a single message's,
// that holds it, and erasing a conversation whole its conversation
// response and bulk bodies, recorded in erased and unreferenced, so that
// the text is in no file of the matter; an unreferenced body holding
// nothing erased stays. verify --evidence passes before and after: what
// no entry referenced is not missing once deleted. An unreferenced object
// that does not hash to its name stops the erasure before anything is
// deleted; one put back after the erasure is deleted by the same erase
// run again. Before, the text survived in the unreferenced bodies.
func TestEraseUnreferencedBodies(t *testing.T) {
	m := exportMatter(t, 14)
	ctx := context.Background()
	free, _ := m.conversations(t)

	// The conversation entry of each conversation: its conversation
	// response and its bulk bodies.
	bodiesOf := func(conv string) (convBody []byte, bulk [][]byte) {
		for e, err := range m.le.Ledger.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation, ConversationID: conv}) {
			if err != nil {
				t.Fatal(err)
			}
			get := func(h hashchain.Hash) []byte {
				b, err := evidence.GetChecked(ctx, m.le.Store, h)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			convBody = get(e.EvidenceSHA256)
			rs, _ := e.EvidenceRefs()
			for _, r := range rs {
				if r.Role == leaf.RoleBulk {
					h, _ := hashchain.ParseHash(r.SHA256)
					bulk = append(bulk, get(h))
				}
			}
		}
		return convBody, bulk
	}
	// As the old export stored them: the same content in other bytes
	// (there, the attachment urls' signatures), named by no entry.
	unreferenced := func(b []byte) hashchain.Hash {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", " "); err != nil {
			t.Fatal(err)
		}
		ref, err := m.le.Store.Put(ctx, out.Bytes())
		if err != nil || ref.Existed {
			t.Fatalf("put %v %v", ref, err)
		}
		return ref.Sum
	}

	// A message with a text of its own, written plainly in the bodies.
	var part, target, targetText string
	for _, c := range free {
		texts := secrets(t, m.srv.Org, c, false)
		cv, _ := m.srv.Org.Conversation(c)
		for k := range cv.Messages {
			md := &cv.Messages[k]
			if text := genesys.MessageText(md); slices.Contains(texts, text) && len(grepTree(t, m.le.Dir, []string{text})) > 0 {
				part, target, targetText = c, md.ID, text
				break
			}
		}
		if part != "" {
			break
		}
	}
	if part == "" {
		t.Fatal("no message with a text of its own written plainly in its body")
	}
	wholeConv, other := free[0], free[1]
	if wholeConv == part {
		wholeConv = free[2]
	} else if other == part {
		other = free[2]
	}

	_, partBulk := bodiesOf(part)
	var single []byte // the message's own object, as a GET …/messages/{id} answers
	for _, b := range partBulk {
		raws, err := derive.MessagesIn(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range raws {
			if md, err := derive.ReadMessage(raw); err == nil && md.ID == target {
				single = raw
			}
		}
	}
	if single == nil {
		t.Fatalf("message %s not in the bulk bodies of %s", target, part)
	}
	msgUnrefs := []hashchain.Hash{unreferenced(partBulk[0]), unreferenced(single)}
	wholeBody, wholeBulk := bodiesOf(wholeConv)
	wholeUnrefs := []hashchain.Hash{unreferenced(wholeBody), unreferenced(wholeBulk[0])}
	_, otherBulk := bodiesOf(other)
	keep := unreferenced(otherBulk[0])
	sortHashes := func(hs []hashchain.Hash) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.String())
		}
		slices.Sort(out)
		return out
	}

	rep := m.verify(t)
	if !rep.OK || rep.Evidence.Unreferenced != 5 {
		t.Fatalf("verify before: %v %+v, want 5 unreferenced", rep.Findings, rep.Evidence)
	}
	if hits := grepTree(t, m.le.Dir, []string{targetText}); len(hits) < 3 {
		t.Fatalf("the text to erase is in %d files, want its bodies and the two unreferenced: %v", len(hits), hits)
	}

	// An unreferenced object that is not what its name says stops the
	// erasure, nothing deleted or recorded.
	path := filepath.Join(m.le.Dir, "evidence", filepath.FromSlash(evidence.Key(msgUnrefs[0])))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(good, []byte(targetText), []byte("altered"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	before := m.size(t)
	if _, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key}); !errors.Is(err, evidence.ErrCorrupt) {
		t.Fatalf("erase with an altered unreferenced object: %v, want ErrCorrupt", err)
	}
	if after := m.size(t); after != before {
		t.Errorf("the ledger grew from %d to %d entries", before, after)
	}
	if hits := grepTree(t, m.le.Dir, []string{targetText}); len(hits) < 2 {
		t.Errorf("an erasure that failed deleted the message's bodies: %v", hits)
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}

	cs := &countingStore{Store: m.le.Store, gets: map[hashchain.Hash]int{}}
	res, err := erase.Erase(ctx, m.le.Ledger, cs, erase.Request{Messages: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	if hits := grepTree(t, m.le.Dir, []string{targetText}); len(hits) > 0 {
		t.Errorf("the erased message's text is still in the matter's files: %v", hits)
	}
	if want := sortHashes(msgUnrefs); !slices.Equal(res.Detail.Unreferenced, want) {
		t.Errorf("unreferenced %v, want %v", res.Detail.Unreferenced, want)
	}
	for _, h := range res.Detail.Unreferenced {
		if !slices.Contains(res.Detail.Erased, h) {
			t.Errorf("unreferenced %s not in erased", h)
		}
	}
	if cs.surveys != 1 {
		t.Errorf("%d listings of the store, want 1", cs.surveys)
	}
	for _, h := range append(msgUnrefs, keep) {
		if cs.gets[h] != 1 {
			t.Errorf("unreferenced %s read %d times, want once", h, cs.gets[h])
		}
	}
	rep = m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || rep.Evidence.Unreferenced != 3 || rep.Evidence.Erased != len(res.Detail.Erased)-2 {
		t.Fatalf("verify after erasing the message: %v %+v (erased %d)", rep.Findings, rep.Evidence, len(res.Detail.Erased))
	}

	needles := secrets(t, m.srv.Org, wholeConv, true)
	whole, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Conversations: []string{wholeConv}, Reason: "DSR-2", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil {
		t.Fatal(err)
	}
	for _, hit := range grepTree(t, filepath.Join(m.le.Dir, "evidence"), needles) {
		// The analytics listing pages are kept, named, with the addresses.
		if !slices.ContainsFunc(whole.Detail.Kept, func(k leaf.ErasedKept) bool { return strings.Contains(hit, k.Object) }) {
			t.Errorf("the erased conversation's text or addresses are still in the store: %s", hit)
		}
	}
	if want := sortHashes(wholeUnrefs); !slices.Equal(whole.Detail.Unreferenced, want) {
		t.Errorf("unreferenced %v, want %v", whole.Detail.Unreferenced, want)
	}
	if ok, err := m.le.Store.Exists(ctx, keep); err != nil || !ok {
		t.Errorf("the unreferenced body of conversation %s, which holds nothing erased, was deleted: %v", other, err)
	}
	rep = m.verify(t)
	if !rep.OK || rep.Evidence.Missing != 0 || rep.Evidence.Unreferenced != 1 {
		t.Fatalf("verify after erasing the conversation: %v %+v", rep.Findings, rep.Evidence)
	}

	// A body left by an erasure before unreferenced objects were read (or
	// put back): the same erase run again deletes it, in a new entry.
	left := unreferenced(single)
	again, err := erase.Erase(ctx, m.le.Ledger, m.le.Store, erase.Request{Messages: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || again.Already || !slices.Equal(again.Detail.Erased, []string{left.String()}) || !slices.Equal(again.Detail.Unreferenced, again.Detail.Erased) {
		t.Fatalf("erase run again with a body left: %v %+v", err, again)
	}
	cs = &countingStore{Store: m.le.Store, gets: map[hashchain.Hash]int{}}
	done, err := erase.Erase(ctx, m.le.Ledger, cs, erase.Request{Messages: []string{target}, Reason: "DSR-1", Operator: "dpo", SignerKey: m.le.Key})
	if err != nil || !done.Already || done.Seq != again.Seq {
		t.Fatalf("erase run a third time: %v %+v", err, done)
	}
	if cs.surveys != 1 || cs.gets[keep] != 1 {
		t.Errorf("%d listings, the unreferenced body read %d times: want one each", cs.surveys, cs.gets[keep])
	}
	if rep := m.verify(t); !rep.OK || rep.Evidence.Missing != 0 {
		t.Fatalf("verify at the end: %v %+v", rep.Findings, rep.Evidence)
	}
}
