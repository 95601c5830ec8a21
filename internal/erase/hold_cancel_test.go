package erase_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/custodyhq/custody/internal/erase"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// cancelAfterLocks is an S3 store whose after-th Object Lock legal hold
// change (set or lifted) calls cancel once it is done: Ctrl-C part-way
// through custody hold or release. It keeps parallel requests in flight.
type cancelAfterLocks struct {
	evidence.Store
	lk       evidence.Locker
	after    int32
	n        atomic.Int32
	cancel   func()
	parallel int
}

func (s *cancelAfterLocks) SetLegalHold(ctx context.Context, sum hashchain.Hash, on bool) error {
	err := s.lk.SetLegalHold(ctx, sum, on)
	if s.n.Add(1) == s.after {
		s.cancel()
	}
	return err
}

func (s *cancelAfterLocks) Parallelism() int { return s.parallel }

// TestHoldCancelledThenAgain: custody hold and custody release cancelled
// (Ctrl-C) after some of a conversation's evidence objects in S3 had
// their Object Lock legal hold changed record what they did, under a
// context Ctrl-C does not cancel — a hold entry whose object_lock says how
// many objects of how many were changed — and report that they did not
// finish; the ledger agrees with the objects' locks, verify passes, and
// the same command run again finishes the rest. Without the entry, a
// cancelled release would leave objects unlocked while the ledger still
// says the conversation is held.
func TestHoldCancelledThenAgain(t *testing.T) {
	s3srv := s3test.Start(t)
	client := s3srv.Client(t)
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel=%d", parallel), func(t *testing.T) {
			ctx := context.Background()
			bucket := s3srv.Bucket(t, true)
			// Written without a legal hold: hold places it, release lifts it.
			st, err := s3store.Open(ctx, "s3://"+bucket+"/m", s3store.Options{Client: client}, evidence.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := exportMatterTo(t, st)
			le := m.le
			conv, objects := biggestConversation(t, le.Ledger)
			if len(objects) < 8 {
				t.Fatalf("conversation %s has %d evidence objects: too few to cancel part-way", conv, len(objects))
			}
			// locked counts the conversation's objects whose legal hold is on.
			locked := func() int {
				t.Helper()
				n := 0
				for _, h := range objects {
					out, err := client.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String("m/" + evidence.Key(h))})
					var api smithy.APIError
					if errors.As(err, &api) && api.ErrorCode() == "NoSuchObjectLockConfiguration" {
						continue // never held
					}
					if err != nil {
						t.Fatalf("get legal hold: %v", err)
					}
					if out.LegalHold != nil && out.LegalHold.Status == types.ObjectLockLegalHoldStatusOn {
						n++
					}
				}
				return n
			}
			// held is whether the ledger says conv is under a matter hold.
			held := func() bool {
				t.Helper()
				s, err := erasure.Load(ctx, le.Ledger)
				if err != nil {
					t.Fatal(err)
				}
				_, ok := s.Held(conv)
				return ok
			}
			verified := func(when string) {
				t.Helper()
				if rep := m.verify(t); !rep.OK {
					t.Fatalf("verify %s: %v", when, rep.Findings)
				}
			}

			for _, release := range []bool{false, true} {
				verb := map[bool]string{false: "hold", true: "release"}[release]
				req := erase.HoldRequest{Conversations: []string{conv}, Reason: verb + " LGL-3", Operator: "counsel", Release: release, SignerKey: le.Key}
				before := m.size(t)
				cctx, cancel := context.WithCancel(ctx)
				cst := &cancelAfterLocks{Store: st, lk: st.(evidence.Locker), after: 3, cancel: cancel, parallel: parallel}
				res, err := erase.Hold(cctx, le.Ledger, cst, req)
				cancel()
				// Not reported done, and the cause is the cancellation.
				if err == nil || !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled %s: err %v, want it cancelled and not finished", verb, err)
				}
				// What it changed is recorded.
				changed := locked()
				if release {
					changed = len(objects) - changed
				}
				if changed < 3 || changed == len(objects) {
					t.Fatalf("cancelled %s changed %d of %d objects' locks: the test needs it cut part-way", verb, changed, len(objects))
				}
				if m.size(t) == before || res == nil {
					t.Fatalf("cancelled %s after changing %d objects' locks recorded nothing (err %v): the ledger no longer says what the store is in", verb, changed, err)
				}
				e, err2 := le.Ledger.Entry(ctx, res.Seq)
				if err2 != nil || e.Kind != leaf.KindHold {
					t.Fatalf("entry %d: %+v %v", res.Seq, e, err2)
				}
				dd, err2 := leaf.DecodeDetail(e.Kind, e.Detail)
				if err2 != nil {
					t.Fatal(err2)
				}
				d := dd.(*leaf.HoldDetail)
				want := fmt.Sprintf("partial: %d of %d objects", changed, len(objects))
				if d.Action != map[bool]string{false: leaf.HoldSet, true: leaf.HoldRelease}[release] || d.ObjectLock != want {
					t.Errorf("cancelled %s recorded action %q, object_lock %q; want %q", verb, d.Action, d.ObjectLock, want)
				}
				if res.Objects != changed || res.Failed != len(objects)-changed {
					t.Errorf("cancelled %s: result %d objects changed, %d not; the store has %d changed of %d", verb, res.Objects, res.Failed, changed, len(objects))
				}
				if held() == release {
					t.Errorf("after a cancelled %s the ledger says held %v", verb, held())
				}
				verified("after a cancelled " + verb)

				// Run again: it finishes, and the ledger and the locks agree.
				res, err = erase.Hold(ctx, le.Ledger, st, req)
				wantLock := map[bool]string{false: "set", true: "cleared"}[release]
				if err != nil || res.Detail.ObjectLock != wantLock || res.Objects != len(objects) || res.Failed != 0 {
					t.Fatalf("%s again: %+v %v", verb, res, err)
				}
				if got, want := locked(), map[bool]int{false: len(objects), true: 0}[release]; got != want || held() == release {
					t.Errorf("after %s again: %d of %d objects locked, ledger says held %v", verb, got, len(objects), held())
				}
				verified("after " + verb + " again")
			}
		})
	}
}

// biggestConversation is the conversation with the most evidence objects
// a hold sets the Object Lock legal hold on (those its conversation and
// message entries name, but for the legal-hold answers and audit pages
// that many conversations share), and those objects.
func biggestConversation(t *testing.T, l *ledger.Ledger) (string, []hashchain.Hash) {
	t.Helper()
	objs := map[string]map[hashchain.Hash]bool{}
	for e, err := range l.Entries(context.Background(), ledger.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != leaf.KindConversation && e.Kind != leaf.KindMessage {
			continue
		}
		rs, _ := e.EvidenceRefs()
		for _, r := range rs {
			if r.Role == leaf.RoleHold || r.Role == leaf.RoleAudit {
				continue
			}
			if h, err := hashchain.ParseHash(r.SHA256); err == nil && !h.IsZero() {
				if objs[e.ConversationID] == nil {
					objs[e.ConversationID] = map[hashchain.Hash]bool{}
				}
				objs[e.ConversationID][h] = true
			}
		}
	}
	var best string
	for c, hs := range objs {
		if len(hs) > len(objs[best]) || len(hs) == len(objs[best]) && c < best {
			best = c
		}
	}
	var out []hashchain.Hash
	for h := range objs[best] {
		out = append(out, h)
	}
	return best, out
}
