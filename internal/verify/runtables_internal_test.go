package verify

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// RequestableID is requestableID, for TestRequestableIDIsExports (in
// verify_test, which may import export).
var RequestableID = requestableID

// RunStateWarnings is runStateWarnings over the entries of l read here
// (verify gathers them in its pass), for BenchmarkRunStateWarnings.
func RunStateWarnings(ctx context.Context, l *ledger.Ledger, store evidence.Store, rep *Report) error {
	rt := NewRunEntries()
	rt.captures = map[string]uint64{}
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			return err
		}
		rt.Add(&e)
	}
	rep.runs = rt
	return runStateWarnings(ctx, l, store, rep)
}

// TestRunEntriesCopyWhatTheyKeep: verify's leaf stage hands Add entries
// whose strings are views of a buffer it reuses for the next leaves
// (without the derive stage); what Add keeps must not change when that
// buffer does.
func TestRunEntriesCopyWhatTheyKeep(t *testing.T) {
	buf := []byte("matter-a|run-1|conv-1|export|done")
	// Strings that alias buf, as the leaf stage's entries do.
	alias := func(i, j int) string { return unsafeString(buf[i:j]) }
	start, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunStart, RunKind: "export", Scope: []byte(`{"interval":"x"}`)})
	end, _ := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunEnd, Status: "done", Accounting: []byte(`{}`)})
	rt := NewRunEntries()
	rt.captures = map[string]uint64{}
	at := time.Unix(0, 0).UTC()
	rt.Add(&leaf.Entry{Seq: 0, Kind: leaf.KindRun, Matter: alias(0, 8), RunID: alias(9, 14), Detail: start, At: at})
	rt.Add(&leaf.Entry{Seq: 1, Kind: leaf.KindConversation, Matter: alias(0, 8), RunID: alias(9, 14), ConversationID: alias(15, 21), At: at})
	rt.Add(&leaf.Entry{Seq: 2, Kind: leaf.KindRun, Matter: alias(0, 8), RunID: alias(9, 14), Detail: end, At: at})
	for i := range buf {
		buf[i] = 'X' // the next leaves
	}
	if len(rt.Matters) != 1 || rt.Matters[0] != "matter-a" || rt.MatterCounts["matter-a"] != 3 {
		t.Errorf("matters %q, counts %v", rt.Matters, rt.MatterCounts)
	}
	if lr := rt.Runs["run-1"]; lr == nil || lr.Captured != 1 || !lr.Ended {
		t.Errorf("runs %v: run-1 lost its key or its entries", rt.Runs)
	}
	if seq, ok := rt.captures["conv-1"]; !ok || seq != 1 {
		t.Errorf("captures %v: conv-1 lost its key", rt.captures)
	}
}

// unsafeString is a string that shares b's bytes, as the leaf decoder's
// views do.
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
