package verify

import (
	"context"
	"errors"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// TestCheckErasedErrorsAreNotFindings: the erased list is checked against
// the ledger; an entry the ledger does not have is a finding, but a ledger
// that cannot be read, or a Ctrl-C, is an error: it must not read as a
// production that fails, nor as one whose erased list was all checked.
func TestCheckErasedErrorsAreNotFindings(t *testing.T) {
	env := ledgertest.New(t, "matter-1")
	man := &production.Manifest{Erased: []production.Erased{{
		ConversationID: "c1", MessageID: "m1", Seq: 7, LeafHash: "00", Status: production.StatusErased, ErasureSeq: 8,
	}}}
	o := ProductionOptions{Ledger: env.Ledger}

	var r ProductionReport
	if err := r.checkErased(context.Background(), man, o); err != nil || len(r.Findings) != 1 || r.Findings[0].Check != ProdCheckErased {
		t.Errorf("an entry the ledger lacks: %v, findings %+v; want one %s finding", err, r.Findings, ProdCheckErased)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = ProductionReport{}
	if err := r.checkErased(ctx, man, o); !errors.Is(err, context.Canceled) || len(r.Findings) != 0 {
		t.Errorf("cancelled: %v, findings %+v; want context.Canceled and none", err, r.Findings)
	}

	env.Ledger.Close()
	r = ProductionReport{}
	if err := r.checkErased(context.Background(), man, o); err == nil || len(r.Findings) != 0 {
		t.Errorf("a closed ledger: %v, findings %+v; want an error and none", err, r.Findings)
	}
}

// TestCheckErasedReadsLeafHashesOnce: the erasure entries a production
// names are each proved against the latest signed checkpoint, over the
// ledger's leaf hashes read once, however many there are. Each was proved
// with Ledger.Prove, which reads every leaf hash: 12 erasure entries of
// a ledger of 600 read 12 × 600 of them.
func TestCheckErasedReadsLeafHashesOnce(t *testing.T) {
	var reads, calls int
	l, man := erasedLedger(t, 600, 12, ledger.Options{OnLeafHashes: func(n int) { reads, calls = reads+n, calls+1 }})
	head, err := l.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reads, calls = 0, 0
	var r ProductionReport
	if err := r.checkErased(context.Background(), man, ProductionOptions{Ledger: l, VerifierKey: l.VerifierKey()}); err != nil || len(r.Findings) != 0 {
		t.Fatalf("%v %v", err, r.Findings)
	}
	if calls != 1 || uint64(reads) != head.Size {
		t.Errorf("proving %d erasure entries of a ledger of %d entries read %d leaf hashes in %d reads; want %d in one",
			len(man.Erased), head.Size, reads, calls, head.Size)
	}
}
