package verify

import (
	"context"
	"errors"
	"testing"

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
