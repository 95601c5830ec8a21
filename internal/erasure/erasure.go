package erasure

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// Controls is where Load reads the erasure and hold entries from: a
// *ledger.Ledger (its Controls method reads them through the index
// entries_controls). An interface, so that this package stays in the
// pure core beside leaf, and verbs of any floor can ask it.
type Controls interface {
	Controls(ctx context.Context) ([]leaf.Entry, error)
}

// State is what the erasure and hold entries of a ledger say, up to the
// moment it was loaded. The zero State erases and holds nothing.
type State struct {
	conversations map[string]uint64         // erased conversation → seq of its erasure entry
	messages      map[string]uint64         // erased message → seq
	partial       map[string]uint64         // conversation with erased messages → seq
	objects       map[hashchain.Hash]uint64 // deleted evidence object → seq
	held          map[string]*leaf.HoldDetail
	heldSeq       map[string]uint64
	collateral    map[string]uint64 // message whose response body an erasure deleted → seq
	records       map[uint64]Record // erasure entries by seq
}

// Load reads the ledger's erasure and hold entries (ledger.Controls).
func Load(ctx context.Context, l Controls) (*State, error) {
	es, err := l.Controls(ctx)
	if err != nil {
		return nil, err
	}
	st := New()
	for i := range es {
		if err := st.Add(&es[i]); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// New returns an empty State, for callers that fold entries themselves
// (verify, in its one pass).
func New() *State {
	return &State{
		conversations: map[string]uint64{}, messages: map[string]uint64{}, partial: map[string]uint64{},
		objects: map[hashchain.Hash]uint64{}, held: map[string]*leaf.HoldDetail{}, heldSeq: map[string]uint64{},
		collateral: map[string]uint64{}, records: map[uint64]Record{},
	}
}

// Add folds one entry in (entries of other kinds are ignored). Entries
// must come in seq order: a release undoes the holds before it.
func (s *State) Add(e *leaf.Entry) error {
	switch e.Kind {
	case leaf.KindErasure:
		dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return fmt.Errorf("erasure: entry %d: %w", e.Seq, err)
		}
		d := dd.(*leaf.ErasureDetail)
		for _, c := range d.Conversations {
			s.conversations[c] = e.Seq
		}
		for _, m := range d.Messages {
			s.messages[m] = e.Seq
		}
		for _, c := range d.Partial {
			s.partial[c] = e.Seq
		}
		for _, o := range d.Erased {
			if h, err := hashchain.ParseHash(o); err == nil {
				s.objects[h] = e.Seq
			}
		}
		for _, m := range d.Collateral {
			s.collateral[m] = e.Seq
		}
		s.records[e.Seq] = Record{Seq: e.Seq, At: e.At, Operator: d.Operator, Reason: d.Reason, OverrideHold: d.OverrideHold}
	case leaf.KindHold:
		dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			return fmt.Errorf("erasure: hold entry %d: %w", e.Seq, err)
		}
		d := dd.(*leaf.HoldDetail)
		for _, c := range d.Conversations {
			switch d.Action {
			case leaf.HoldSet:
				s.held[c], s.heldSeq[c] = d, e.Seq
			case leaf.HoldRelease:
				delete(s.held, c)
				delete(s.heldSeq, c)
			}
		}
	}
	return nil
}

// Conversation reports whether the conversation was erased whole.
func (s *State) Conversation(convID string) bool {
	_, ok := s.conversations[convID]
	return ok
}

// Touched reports whether the conversation was erased whole or in part:
// the export does not capture it again, since its response bodies would
// bring the erased messages back into the evidence.
func (s *State) Touched(convID string) bool {
	_, ok := s.partial[convID]
	return ok || s.Conversation(convID)
}

// Message reports whether the message was erased, alone or with its
// conversation: its text, sender and recipient are gone, and a reader
// shows it as erased.
func (s *State) Message(convID, msgID string) bool {
	if _, ok := s.messages[msgID]; ok {
		return true
	}
	return convID != "" && s.Conversation(convID)
}

// Object reports whether the evidence object was deleted by an erasure,
// and the seq of that erasure's entry.
func (s *State) Object(sum hashchain.Hash) (uint64, bool) {
	seq, ok := s.objects[sum]
	return seq, ok
}

// Held reports whether a matter hold (custody hold, not yet released)
// covers the conversation, with its reason.
func (s *State) Held(convID string) (reason string, ok bool) {
	d, ok := s.held[convID]
	if !ok {
		return "", false
	}
	return d.Reason, true
}

// Erased lists the erased conversations and messages (the messages of
// erased conversations are not listed unless an entry names them).
func (s *State) Erased() (conversations, messages int) {
	return len(s.conversations), len(s.messages)
}
