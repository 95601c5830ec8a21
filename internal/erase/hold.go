package erase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

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
}

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
			rs, _ := e.EvidenceRefs()
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
	res := &HoldResult{}
	lock := "unsupported"
	if lk, ok := store.(evidence.Locker); ok && store != nil {
		objects := sortedHashes(hashSet(objs))
		// The first object alone: a bucket without Object Lock says so
		// there, and then no other object is tried.
		if len(objects) > 0 {
			switch err := lk.SetLegalHold(ctx, objects[0], !req.Release); {
			case err == nil:
				res.Objects++
			case errors.Is(err, evidence.ErrNoObjectLock):
				res.Failed = -1
			default:
				res.Failed++
			}
			objects = objects[1:]
			if res.Failed < 0 {
				objects = nil
			}
		}
		// The rest as many at a time as the store keeps requests in
		// flight (S3: a round trip each).
		var mu sync.Mutex // guards res
		var g errgroup.Group
		g.SetLimit(evidence.Parallelism(store))
		for _, h := range objects {
			g.Go(func() error {
				err := lk.SetLegalHold(ctx, h, !req.Release)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					res.Objects++
				} else {
					res.Failed++
				}
				return nil
			})
		}
		_ = g.Wait() // every outcome is counted above; none stops the others
		switch {
		case res.Failed < 0:
			res.Failed = 0
			lock = "unsupported"
		case res.Failed > 0:
			lock = fmt.Sprintf("partial: %d of %d objects", res.Objects, res.Objects+res.Failed)
		case req.Release:
			lock = "cleared"
		default:
			lock = "set"
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
	out, err := l.Append(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	res.Seq, res.Detail = out[0].Seq, d
	if req.SignerKey != "" {
		if _, err := l.Checkpoint(context.WithoutCancel(ctx), req.SignerKey); err != nil {
			return res, fmt.Errorf("%s: recorded as entry %d, but no checkpoint was signed: %w", verb, res.Seq, err)
		}
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
