package erase

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// ErasureSummary is what an erasure entry says it did, and which of the
// conversations it erased were under legal hold then: what the signer
// key's holder is shown before vouching for it (custody checkpoint
// --erasure). Vouching is what turns the objects it deleted from missing
// into erased, so it must not be signed blind.
type ErasureSummary struct {
	Seq          uint64    `json:"seq"`
	At           time.Time `json:"at"`
	Operator     string    `json:"operator"`
	Reason       string    `json:"reason"`
	OverrideHold string    `json:"override_hold"`
	// Conversations erased whole, Partial those some messages of which
	// were; Messages the erased messages (those of whole conversations
	// included), as the entry lists them.
	Conversations []string `json:"conversations"`
	Partial       []string `json:"partial"`
	Messages      []string `json:"messages"`
	// Held are the conversations of Conversations and Partial under a
	// legal hold when the entry was appended.
	Held []HeldAtErasure `json:"held"`
	// ObjectsDeleted evidence objects were deleted, Unreferenced of them
	// named by no entry; Kept were not (kept by design, as a listing
	// page, or could not be: Object Lock), with why. Diffs are the
	// recorded diffs some of whose findings objects it deleted (of
	// ObjectsDeleted): those diffs can no longer be read whole.
	ObjectsDeleted int               `json:"objects_deleted"`
	Unreferenced   int               `json:"unreferenced"`
	Kept           []leaf.ErasedKept `json:"kept"`
	Diffs          []leaf.ErasedDiff `json:"diffs"`
	// Collateral messages lost their response bodies; Outputs recorded
	// productions and reports hold, or may hold, what was erased.
	Collateral int `json:"collateral"`
	Outputs    int `json:"outputs"`
}

// HeldAtErasure is a conversation an erasure took while a legal hold
// was on it.
type HeldAtErasure struct {
	Conversation string `json:"conversation"`
	// DeletionProtection: its latest capture before the erasure was
	// under Genesys deletion protection (true also when that capture's
	// detail cannot be read: taken as held, as erase takes it).
	DeletionProtection bool `json:"deletion_protection"`
	// MatterHold is the matter hold (custody hold) in force on it: its
	// hold entry and reason.
	MatterHold *MatterHoldRef `json:"matter_hold,omitempty"`
}

// MatterHoldRef is a matter hold: the hold entry that placed it.
type MatterHoldRef struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// SummarizeErasure reads the erasure entry at seq and the holds in force
// when it was appended. An entry of another kind is an error, as
// checkpoint --erasure has it.
func SummarizeErasure(ctx context.Context, l *ledger.Ledger, seq uint64) (*ErasureSummary, error) {
	e, err := l.Entry(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("erasure entry %d: %w", seq, err)
	}
	if e.Kind != leaf.KindErasure {
		return nil, fmt.Errorf("entry %d is a %s entry, not an erasure", seq, e.Kind)
	}
	dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return nil, fmt.Errorf("erasure entry %d: %w (run custody verify)", seq, err)
	}
	d := dd.(*leaf.ErasureDetail)
	s := &ErasureSummary{Seq: seq, At: e.At, Operator: d.Operator, Reason: d.Reason, OverrideHold: d.OverrideHold,
		Conversations: nonNil(d.Conversations), Partial: nonNil(d.Partial), Messages: nonNil(d.Messages),
		Held: []HeldAtErasure{}, ObjectsDeleted: len(d.Erased), Unreferenced: len(d.Unreferenced),
		Kept: nonNil(d.Kept), Diffs: nonNil(d.Diffs), Collateral: len(d.Collateral), Outputs: len(d.Outputs)}
	// The holds as erase saw them: matter holds placed and not released
	// before the entry, deletion protection of each conversation's
	// latest capture before it.
	controls, err := l.Controls(ctx)
	if err != nil {
		return nil, err
	}
	st := erasure.New()
	for i := range controls {
		if controls[i].Seq >= seq {
			break
		}
		if err := st.Add(&controls[i]); err != nil {
			return nil, err
		}
	}
	convs := slices.Concat(s.Conversations, s.Partial)
	slices.Sort(convs)
	for _, c := range slices.Compact(convs) {
		es, err := l.EntriesByConversation(ctx, c)
		if err != nil {
			return nil, err
		}
		protected := false
		for _, ce := range es {
			if ce.Seq >= seq || ce.Kind != leaf.KindConversation {
				continue
			}
			cd, err := leaf.DecodeDetail(ce.Kind, ce.Detail)
			protected = err != nil || cd.(*leaf.ConversationDetail).LegalHold
		}
		if h := st.HoldsOn(c, protected); h.Held() {
			ha := HeldAtErasure{Conversation: c, DeletionProtection: h.DeletionProtection}
			if h.Matter != nil {
				ha.MatterHold = &MatterHoldRef{Seq: h.Matter.Seq, Reason: h.Matter.Reason}
			}
			s.Held = append(s.Held, ha)
		}
	}
	return s, nil
}
