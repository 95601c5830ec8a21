package erase

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// HoldRequest places (or, with Release, lifts) a matter hold.
type HoldRequest struct {
	Conversations []string
	Reason        string
	Operator      string
	Release       bool
	SignerKey     string
	Now           func() time.Time
}

// HoldResult is what a hold or release did.
type HoldResult struct {
	Seq    uint64          `json:"seq"`
	Detail leaf.HoldDetail `json:"hold"`
	// Objects is how many evidence objects had their Object Lock legal
	// hold set (or lifted); Failed how many could not.
	Objects int `json:"objects"`
	Failed  int `json:"failed"`
	// Erased is how many of the conversations' objects an erasure
	// deleted: their lock could not change (the store has none of them),
	// which is no failure.
	Erased int `json:"erased"`
	// NotChanged is each of the Failed objects, and why: the request
	// failed, or Ctrl-C came before it was sent.
	NotChanged []HoldObject `json:"not_changed"`
	// AlreadyHeld (a hold) are the conversations a matter hold was
	// already in force on, and since which entry; NotHeld (a release)
	// those no matter hold was in force on. Each is recorded all the
	// same — a ledger keeps every request — but the operator is told.
	AlreadyHeld []PriorHold `json:"already_held"`
	NotHeld     []string    `json:"not_held"`
	// ErasedConversations (a hold) are the conversations an erasure
	// (custody erase) already took, whole or in part: the hold is
	// recorded, but preserves nothing of what was erased. Both the hold
	// and the erasure are legal duties; the conflict is said, not left
	// for the report to reveal.
	ErasedConversations []ErasedConversation `json:"erased_conversations"`
}

// ErasedConversation is a conversation a hold names that an erasure
// already took, whole or in part.
type ErasedConversation struct {
	Conversation string `json:"conversation"`
	// Whole: the conversation was erased whole, by Entries[0] for Reason.
	Whole bool `json:"whole"`
	// Messages is how many of its Of captured messages were erased.
	Messages int `json:"messages"`
	Of       int `json:"of"`
	// Collateral is how many of the others lost their response bodies
	// with them (a message erased alone takes its conversation's bodies).
	Collateral int `json:"collateral"`
	// Entries are the erasure entries, ascending; Reasons theirs, in the
	// same order.
	Entries []uint64 `json:"entries"`
	Reasons []string `json:"reasons"`
}

// Warning says what the hold cannot preserve, in a sentence.
func (c ErasedConversation) Warning() string {
	entries := make([]string, len(c.Entries))
	for i, seq := range c.Entries {
		entries[i] = fmt.Sprintf("%d (reason %q)", seq, c.Reasons[i])
	}
	if c.Whole {
		return fmt.Sprintf("conversation %s was erased whole by entry %s: the hold preserves nothing of its content", c.Conversation, strings.Join(entries, ", "))
	}
	w := "entry"
	if len(entries) > 1 {
		w = "entries"
	}
	lost := ""
	if c.Collateral > 0 {
		lost = fmt.Sprintf(", and %d others lost their response bodies with them", c.Collateral)
	}
	return fmt.Sprintf("conversation %s was erased in part: %d of its %d messages erased by %s %s%s; the hold preserves only what is left, and the conversation is not captured again",
		c.Conversation, c.Messages, c.Of, w, strings.Join(entries, ", "), lost)
}

// PriorHold is a matter hold already in force on a conversation.
type PriorHold struct {
	Conversation string `json:"conversation"`
	Seq          uint64 `json:"seq"` // the hold entry that placed it
	Reason       string `json:"reason"`
}

// HoldObject is an evidence object whose Object Lock legal hold a hold
// or release did not change, and why.
type HoldObject struct {
	Object string `json:"object"` // SHA-256, 64 hex
	Why    string `json:"why"`
}

// inFlightGrace is how long Object Lock requests already sent when the
// context is cancelled may take to finish, so that their outcome is known.
const inFlightGrace = 10 * time.Second

// Hold records a matter-level legal hold on conversations (or its
// release) as a hold entry — Genesys's deletion protection is capped at
// 1,000 conversations per org, a matter's holds are not — and, when the
// evidence store is an evidence.Locker (S3 with Object Lock), sets (or
// lifts) the Object Lock legal hold on the conversations' evidence. A
// held conversation is refused by Erase unless overridden.
func Hold(ctx context.Context, l *ledger.Ledger, store evidence.Store, req HoldRequest) (*HoldResult, error) {
	verb := "hold"
	if req.Release {
		verb = "release"
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, fmt.Errorf("%s: a reason is required", verb)
	}
	if len(req.Conversations) == 0 {
		return nil, fmt.Errorf("%s: no conversation given", verb)
	}
	want := map[string]bool{}
	for _, c := range req.Conversations {
		want[c] = true
	}
	seen := map[string]bool{}
	objs := map[hashchain.Hash]bool{}
	msgs := map[string]map[string]bool{} // conversation → its captured messages
	for c := range want {
		es, err := l.EntriesByConversation(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", verb, err)
		}
		for _, e := range es {
			if e.Kind != leaf.KindConversation && e.Kind != leaf.KindMessage {
				continue
			}
			seen[c] = true
			if e.Kind == leaf.KindMessage && e.MessageID != "" {
				if msgs[c] == nil {
					msgs[c] = map[string]bool{}
				}
				msgs[c][e.MessageID] = true
			}
			rs, err := e.EvidenceRefs()
			if err != nil {
				// Its objects could not all be held (or released).
				return nil, fmt.Errorf("%s: entry %d: %w (run custody verify)", verb, e.Seq, err)
			}
			for _, r := range rs {
				if r.Role == leaf.RoleHold || r.Role == leaf.RoleAudit {
					continue // shared by many conversations
				}
				if h, err := hashchain.ParseHash(r.SHA256); err == nil && !h.IsZero() {
					objs[h] = true
				}
			}
		}
	}
	var missing []string
	for c := range want {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("%s: %w: conversation %s", verb, ErrNotFound, strings.Join(missing, ", "))
	}
	res := &HoldResult{NotChanged: []HoldObject{}, AlreadyHeld: []PriorHold{}, NotHeld: []string{}, ErasedConversations: []ErasedConversation{}}
	st, err := erasure.Load(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	if !req.Release {
		res.ErasedConversations = erasedOf(st, sortedKeys(want), msgs)
	}
	for _, c := range sortedKeys(want) {
		h, held := st.MatterHold(c)
		switch {
		case held && !req.Release:
			res.AlreadyHeld = append(res.AlreadyHeld, PriorHold{Conversation: c, Seq: h.Seq, Reason: h.Reason})
		case !held && req.Release:
			res.NotHeld = append(res.NotHeld, c)
		}
	}
	lock := "unsupported"
	var cancelled error // ctx's error, once Ctrl-C came before every object was changed
	if lk, ok := store.(evidence.Locker); ok && store != nil {
		objects := sortedHashes(hashSet(objs))
		// Objects an erasure deleted last: the first object tried tells
		// whether the store has Object Lock at all, which a deleted one
		// may not.
		slices.SortStableFunc(objects, func(a, b hashchain.Hash) int {
			_, ea := st.Object(a)
			_, eb := st.Object(b)
			switch {
			case ea == eb:
				return 0
			case eb:
				return -1
			}
			return 1
		})
		total := len(objects)
		// A request already sent when ctx is cancelled is let finish (for
		// up to inFlightGrace), so that what it did is known and recorded;
		// none is sent after.
		callCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		defer stop()
		defer context.AfterFunc(ctx, func() { time.AfterFunc(inFlightGrace, stop) })()
		var mu sync.Mutex // guards res
		set := func(h hashchain.Hash) error {
			if ctx.Err() != nil {
				mu.Lock()
				defer mu.Unlock()
				res.NotChanged = append(res.NotChanged, HoldObject{Object: h.String(), Why: "not reached: cancelled"})
				return nil
			}
			err := lk.SetLegalHold(callCtx, h, !req.Release)
			mu.Lock()
			defer mu.Unlock()
			_, erased := st.Object(h)
			switch {
			case err == nil:
				res.Objects++
			case erased && !errors.Is(err, evidence.ErrNoObjectLock):
				// Deleted by an erasure (a message erased alone takes
				// its conversation's bodies with it): nothing to hold.
				// Tried all the same: an erasure entry anyone could
				// append must not keep an object that is there unheld.
				res.Erased++
			case errors.Is(err, evidence.ErrNoObjectLock):
				return err
			default:
				res.NotChanged = append(res.NotChanged, HoldObject{Object: h.String(), Why: err.Error()})
			}
			return nil
		}
		// The first object alone: a bucket without Object Lock says so
		// there, and then no other object is tried.
		noLock := false
		if len(objects) > 0 {
			noLock = set(objects[0]) != nil
			objects = objects[1:]
			if noLock {
				objects = nil
			}
		}
		// The rest as many at a time as the store keeps requests in
		// flight (S3: a round trip each).
		var g errgroup.Group
		g.SetLimit(evidence.Parallelism(store))
		for _, h := range objects {
			g.Go(func() error {
				if err := set(h); err != nil { // ErrNoObjectLock after the first object: a failure like another
					mu.Lock()
					defer mu.Unlock()
					res.NotChanged = append(res.NotChanged, HoldObject{Object: h.String(), Why: err.Error()})
				}
				return nil
			})
		}
		_ = g.Wait() // every outcome is counted above; none stops the others
		slices.SortFunc(res.NotChanged, func(a, b HoldObject) int { return strings.Compare(a.Object, b.Object) })
		res.Failed = len(res.NotChanged)
		switch {
		case noLock:
			lock = "unsupported"
		case res.Failed > 0:
			lock = fmt.Sprintf("partial: %d of %d objects", res.Objects, total)
		case req.Release:
			lock = "cleared"
		default:
			lock = "set"
		}
		if ctx.Err() != nil && res.Failed > 0 {
			cancelled = ctx.Err()
			if res.Objects == 0 {
				// Nothing changed: nothing to record.
				return nil, fmt.Errorf("%s: cancelled before any object's Object Lock legal hold was changed; nothing recorded: %w", verb, cancelled)
			}
		}
	}
	action := leaf.HoldSet
	if req.Release {
		action = leaf.HoldRelease
	}
	d := leaf.HoldDetail{Action: action, Conversations: sortedKeys(want), ObjectLock: lock, Operator: req.Operator, Reason: req.Reason}
	raw, err := leaf.EncodeDetail(&d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	e := leaf.Entry{Kind: leaf.KindHold, Detail: raw}
	if len(want) == 1 {
		e.ConversationID = d.Conversations[0]
	}
	if req.Now != nil {
		e.At = req.Now()
	}
	// Once an object's lock has changed the entry is what says so: it is
	// appended even after Ctrl-C.
	actx := ctx
	if res.Objects > 0 {
		actx = context.WithoutCancel(ctx)
	}
	out, err := l.Append(actx, e)
	if err != nil {
		if res.Objects > 0 {
			return nil, fmt.Errorf("%s: the Object Lock legal hold of %d evidence objects was %s but the hold entry could not be appended (run the same %s again to record it): %w",
				verb, res.Objects, map[bool]string{false: "set", true: "lifted"}[req.Release], verb, err)
		}
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	res.Seq, res.Detail = out[0].Seq, d
	if req.SignerKey != "" {
		if _, err := l.Checkpoint(context.WithoutCancel(ctx), req.SignerKey); err != nil {
			return res, fmt.Errorf("%s: recorded as entry %d, but no checkpoint was signed: %w", verb, res.Seq, err)
		}
	}
	if cancelled != nil {
		// Recorded as it is, but not finished: a cancelled hold or
		// release must not look like a done one.
		return res, fmt.Errorf("%s: cancelled: recorded as entry %d (object lock %s); %d evidence objects not changed (run the same %s again to finish): %w",
			verb, res.Seq, lock, res.Failed, verb, cancelled)
	}
	if res.Failed > 0 {
		// Recorded as it is, but some objects keep their old lock: not a
		// done hold or release either (an erase that could not delete
		// every object fails alike).
		return res, fmt.Errorf("%s: recorded as entry %d (object lock %s), but %d evidence objects were not changed (run the same %s again to change them)",
			verb, res.Seq, lock, res.Failed, verb)
	}
	return res, nil
}

func hashSet(m map[hashchain.Hash]bool) map[hashchain.Hash]string {
	out := make(map[hashchain.Hash]string, len(m))
	for h := range m {
		out[h] = ""
	}
	return out
}

// erasedOf lists the conversations of convs an erasure took, whole or
// in part, with how many of their captured messages (msgs) it erased.
func erasedOf(st *erasure.State, convs []string, msgs map[string]map[string]bool) []ErasedConversation {
	out := []ErasedConversation{}
	for _, c := range convs {
		if !st.Touched(c) {
			continue
		}
		ec := ErasedConversation{Conversation: c, Of: len(msgs[c])}
		by := map[uint64]bool{}
		if r, ok := st.ConversationRecord(c); ok {
			ec.Whole, ec.Messages = true, ec.Of
			by[r.Seq] = true
		} else {
			for m := range msgs[c] {
				if r, ok := st.MessageRecord(c, m); ok {
					ec.Messages++
					by[r.Seq] = true
				} else if _, ok := st.Collateral(c, m); ok {
					ec.Collateral++
				}
			}
			if len(by) == 0 { // erased in part, no message of it known here: name the entry
				if r, ok := st.TouchedRecord(c); ok {
					by[r.Seq] = true
				}
			}
		}
		for _, seq := range slices.Sorted(maps.Keys(by)) {
			ec.Entries = append(ec.Entries, seq)
			ec.Reasons = append(ec.Reasons, st.Record(seq).Reason)
		}
		out = append(out, ec)
	}
	return out
}
