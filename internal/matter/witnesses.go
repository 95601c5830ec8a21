package matter

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// StateWitness lists the witnesses (C2SP tlog-witness submission
// prefixes) every new checkpoint is sent to, one URL a line.
const StateWitness = "witness_urls"

// CosignResult is what asking one witness to cosign one checkpoint gave.
type CosignResult struct {
	CheckpointID int64
	Witness      string // the witness's URL
	Lines        string // the cosignature lines it returned, stored beside the checkpoint
	Err          error  // why it did not cosign
}

// Witnesses returns the matter's witnesses.
func (m *Matter) Witnesses(ctx context.Context) ([]string, error) {
	return m.urlList(ctx, StateWitness)
}

// CheckWitnessURL checks that a witness's URL is http or https with a host.
func CheckWitnessURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("witness %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("witness %q: not an http or https URL", raw)
	}
	return nil
}

// AddWitnesses adds witnesses to the matter's settings.
func (m *Matter) AddWitnesses(ctx context.Context, urls []string) error {
	return m.addURLs(ctx, StateWitness, "add witnesses", urls, CheckWitnessURL)
}

// LastCosignatures returns what the cosigning of the last checkpoint this
// matter signed gave (nil if it signed none or has no witness).
func (m *Matter) LastCosignatures() []CosignResult { return m.cosigned }

// Cosign asks each witness (the matter's, when urls is nil) to cosign
// cp, with the consistency proof from the last checkpoint it saw, and
// stores each cosignature beside cp. A refusal is in the result's Err
// and warned about; it never undoes the checkpoint.
func (m *Matter) Cosign(ctx context.Context, cp ledger.StoredCheckpoint, urls []string) []CosignResult {
	if urls == nil {
		var err error
		if urls, err = m.Witnesses(ctx); err != nil {
			return []CosignResult{{CheckpointID: cp.ID, Err: err}}
		}
	}
	var out []CosignResult
	for _, u := range urls {
		r := CosignResult{CheckpointID: cp.ID, Witness: u}
		r.Lines, r.Err = m.cosignOne(ctx, cp, u)
		if r.Err != nil {
			m.warn(fmt.Sprintf("checkpoint #%d was not cosigned by %s: %v", cp.ID, u, r.Err))
		}
		out = append(out, r)
	}
	return out
}

func (m *Matter) cosignOne(ctx context.Context, cp ledger.StoredCheckpoint, u string) (string, error) {
	sigs, err := m.opts.Witness.AddCheckpoint(ctx, u, cp.Note, func(old uint64) ([]hashchain.Hash, error) {
		if old > cp.Size {
			return nil, fmt.Errorf("it has cosigned a larger tree (%d entries) than this checkpoint's %d: this ledger is behind, cut short or forked from what the witness saw", old, cp.Size)
		}
		return m.Ledger.ConsistencyProof(ctx, old, cp.Size)
	})
	if err != nil {
		return "", err
	}
	var lines strings.Builder
	for _, line := range strings.SplitAfter(string(sigs), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "— ") || !strings.HasSuffix(line, "\n") || strings.Count(line, " ") != 2 {
			return lines.String(), errors.New("the answer is not note signature lines")
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "— "), " ")
		if err := m.Ledger.AddCosignature(ctx, cp.ID, name, line); err != nil {
			return lines.String(), err
		}
		lines.WriteString(line)
	}
	return lines.String(), nil
}
