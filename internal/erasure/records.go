package erasure

import (
	"slices"
	"time"
)

// Record is what an erasure entry says of itself: a reader shows it in
// place of what was erased (which is gone).
type Record struct {
	Seq          uint64
	At           time.Time
	Operator     string
	Reason       string
	OverrideHold string
}

// Hold is a matter hold in force on a conversation.
type Hold struct {
	Seq    uint64
	Reason string
}

// ConversationRecord returns the erasure that erased the conversation
// whole.
func (s *State) ConversationRecord(convID string) (Record, bool) {
	seq, ok := s.conversations[convID]
	if !ok {
		return Record{}, false
	}
	return s.records[seq], true
}

// TouchedRecord returns the erasure that erased the conversation whole,
// else the latest that erased some of its messages: why it is Touched.
func (s *State) TouchedRecord(convID string) (Record, bool) {
	if r, ok := s.ConversationRecord(convID); ok {
		return r, true
	}
	seq, ok := s.partial[convID]
	if !ok {
		return Record{}, false
	}
	return s.records[seq], true
}

// MessageRecord returns the erasure that erased the message, alone or
// with its conversation.
func (s *State) MessageRecord(convID, msgID string) (Record, bool) {
	if seq, ok := s.messages[msgID]; ok {
		return s.records[seq], true
	}
	if convID != "" {
		return s.ConversationRecord(convID)
	}
	return Record{}, false
}

// Collateral returns the latest erasure that deleted the response body
// of a message it did not erase (erasure detail "collateral"): the
// message's opening remains, its body is gone. False for an erased
// message.
func (s *State) Collateral(convID, msgID string) (Record, bool) {
	if s.Message(convID, msgID) {
		return Record{}, false
	}
	seq, ok := s.collateral[msgID]
	if !ok {
		return Record{}, false
	}
	return s.records[seq], true
}

// MatterHold returns the matter hold in force on the conversation.
func (s *State) MatterHold(convID string) (Hold, bool) {
	d, ok := s.held[convID]
	if !ok {
		return Hold{}, false
	}
	return Hold{Seq: s.heldSeq[convID], Reason: d.Reason}, true
}

// HeldConversations lists the conversations under a matter hold, sorted.
func (s *State) HeldConversations() []string {
	out := make([]string, 0, len(s.held))
	for c := range s.held {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// ErasedConversations lists the conversations erased whole, sorted.
func (s *State) ErasedConversations() []string {
	out := make([]string, 0, len(s.conversations))
	for c := range s.conversations {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Record returns the erasure entry at seq (the zero Record but for its
// seq when there is none).
func (s *State) Record(seq uint64) Record {
	if r, ok := s.records[seq]; ok {
		return r
	}
	return Record{Seq: seq}
}

// Hold sources, as productions name them (Holds.Sources).
const (
	SourceDeletionProtection = "deletion_protection"
	SourceMatterHold         = "matter_hold"
)

// Holds is what keeps a conversation under legal hold: Genesys deletion
// protection when it was last captured, and the matter hold (custody
// hold) in force. The report, erase and productions hold a conversation
// to the same rule: held when either covers it.
type Holds struct {
	DeletionProtection bool
	Matter             *Hold // nil: no matter hold in force
}

// Held reports whether any hold covers the conversation.
func (h Holds) Held() bool { return h.DeletionProtection || h.Matter != nil }

// Sources names the holds that cover the conversation, deletion
// protection first; none when it is not held.
func (h Holds) Sources() []string {
	var out []string
	if h.DeletionProtection {
		out = append(out, SourceDeletionProtection)
	}
	if h.Matter != nil {
		out = append(out, SourceMatterHold)
	}
	return out
}

// HoldsOn returns the holds on a conversation whose latest capture was
// (protected) or was not under deletion protection, with the matter hold
// in force on it now.
func (s *State) HoldsOn(convID string, protected bool) Holds {
	h := Holds{DeletionProtection: protected}
	if m, ok := s.MatterHold(convID); ok {
		h.Matter = &m
	}
	return h
}
