package reconcile

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/ledger"
)

// FindDiff returns the recorded diff run runID ("latest" for the most
// recent) and what it recorded; ErrNoDiff when there is none.
func FindDiff(ctx context.Context, l *ledger.Ledger, runID string) (ledger.Run, *DiffResult, error) {
	runs, err := l.Runs(ctx)
	if err != nil {
		return ledger.Run{}, nil, err
	}
	var run *ledger.Run
	for i := range runs {
		if runs[i].Kind == RunKindDiff && (runs[i].ID == runID || runID == "latest") {
			if run == nil || runs[i].StartedAt.After(run.StartedAt) || runs[i].ID == runID {
				run = &runs[i]
			}
		}
	}
	if run == nil {
		return ledger.Run{}, nil, fmt.Errorf("%w %q: run 'custody diff' first", ErrNoDiff, runID)
	}
	var res DiffResult
	if err := json.Unmarshal(run.Accounting, &res); err != nil {
		return ledger.Run{}, nil, fmt.Errorf("reconcile: diff %s: %w", run.ID, err)
	}
	return *run, &res, nil
}

// StreamFindings reads back every finding of a recorded diff from the
// evidence store, in the diff's order, handing each to fn, and checks
// that the findings hash to what the diff recorded; memory does not grow
// with the findings. An error from fn stops it.
func StreamFindings(ctx context.Context, store evidence.Store, runID string, res *DiffResult, fn func(diff.Finding) error) error {
	if len(res.FindingsEvidence) == 0 {
		return fmt.Errorf("reconcile: diff %s: no findings evidence recorded", runID)
	}
	zr, err := gzip.NewReader(&partsReader{ctx: ctx, store: store, parts: res.FindingsEvidence})
	if err != nil {
		return fmt.Errorf("reconcile: diff %s: findings: %w", runID, err)
	}
	h := sha256.New()
	var fnErr error
	_, err = readFindings(io.TeeReader(zr, h), func(f diff.Finding) bool {
		if fnErr == nil {
			fnErr = fn(f)
		}
		return false
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("reconcile: diff %s: %w", runID, err)
	}
	if _, err := io.Copy(h, zr); err != nil {
		return fmt.Errorf("reconcile: diff %s: findings: %w", runID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != res.FindingsSHA256 {
		return fmt.Errorf("reconcile: diff %s: findings hash %s, recorded %s", runID, got, res.FindingsSHA256)
	}
	return nil
}
