package report

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
	"github.com/custodyhq/custody/internal/tsa"
)

// keyID is a verifier key's NAME+HASH: a C2SP signed-note verifier key is
// NAME+HASH+KEY, where NAME cannot hold a '+' and KEY, base64, can; so the
// identity is cut at the second '+', never the last. A key not of that
// form is shown whole.
func keyID(vkey string) string {
	name, rest, ok := strings.Cut(vkey, "+")
	if !ok {
		return vkey
	}
	hash, _, ok := strings.Cut(rest, "+")
	if !ok {
		return vkey
	}
	return name + "+" + hash
}

// CheckpointTimestamp is one RFC 3161 timestamp authority's answer for a
// checkpoint, as stored beside it: the time its token claims, or why
// there is no good token (a gap the authority left, or a token that does
// not check against the checkpoint).
type CheckpointTimestamp struct {
	TSA string `json:"tsa"` // the authority's URL, as custody shows it (redact.URL)
	// ClaimedAt is the time the token states (genTime), checked against
	// the checkpoint's note (imprint) and the token's own signature only:
	// a claim. That it is proven — the authority's certificate chains to
	// roots the reader trusts — only custody verify --tsa-roots says.
	ClaimedAt string `json:"claimed_at,omitempty"`
	Error     string `json:"error,omitempty"`
}

// attestCheckpoints gives each of infos (one per cps, in order) the
// timestamp tokens and witness cosignatures stored for it. The tokens are
// read as verify reads them (tsa.Verify), without roots: the report's
// reader, not custody, decides which authorities to trust.
func attestCheckpoints(ctx context.Context, l *ledger.Ledger, cps []ledger.StoredCheckpoint, infos []CheckpointInfo) error {
	at := map[int64]int{}
	for i, c := range cps {
		at[c.ID] = i
		infos[i].Timestamps, infos[i].Witnesses = []CheckpointTimestamp{}, []string{}
	}
	ts, err := l.Timestamps(ctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, t := range ts {
		i, ok := at[t.CheckpointID]
		if !ok {
			continue // an attestation of no stored checkpoint: verify's finding (section 6)
		}
		ct := CheckpointTimestamp{TSA: redact.URL(t.TSA)}
		if t.Token == nil {
			ct.Error = "no token: " + redact.URLsIn(t.Error)
		} else if tok, err := tsa.Verify(t.Token, tsa.Imprint(cps[i].Note), nil); err != nil {
			ct.Error = "the token does not check: " + err.Error()
		} else {
			ct.ClaimedAt = formatTime(tok.Time)
		}
		infos[i].Timestamps = append(infos[i].Timestamps, ct)
	}
	cos, err := l.Cosignatures(ctx)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, c := range cos {
		if i, ok := at[c.CheckpointID]; ok && !slices.Contains(infos[i].Witnesses, c.Witness) {
			infos[i].Witnesses = append(infos[i].Witnesses, c.Witness)
		}
	}
	return nil
}

// attestedNote is checkpoint c's signed note with the witness cosignature
// lines stored for it, as custody prove gives it: the checkpoint in full.
func attestedNote(ctx context.Context, l *ledger.Ledger, c ledger.StoredCheckpoint) (string, error) {
	a, err := l.Attested(ctx, c)
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return string(a.Note), nil
}

// hasAttestations says whether any of cs carries a timestamp token or a
// witness cosignature.
func hasAttestations(cs []CheckpointInfo) bool {
	for _, c := range cs {
		for _, t := range c.Timestamps {
			if t.ClaimedAt != "" {
				return true
			}
		}
		if len(c.Witnesses) > 0 {
			return true
		}
	}
	return false
}

// checkpointKeys are the keys (NAME+HASH) that signed cs, each once: one
// line under the table rather than the same key on every row.
func checkpointKeys(cs []CheckpointInfo) []string {
	var keys []string
	for _, c := range cs {
		if !slices.Contains(keys, c.KeyID) {
			keys = append(keys, c.KeyID)
		}
	}
	return keys
}
