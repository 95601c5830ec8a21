package matter

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
	"github.com/custodyhq/custody/internal/tsa"
)

// State keys of the matter's timestamp settings. They are settings, not
// evidence, unsigned and mutable: whoever can rewrite the ledger file can
// rewrite these too. So the kept roots check tokens as they arrive, but
// never make a time proven to a verifier: without --tsa-roots, verify
// chains tokens to them and states the times as the tokens' claims.
const (
	// StateTSA lists the timestamp authorities every checkpoint is sent
	// to, one URL a line.
	StateTSA = "tsa_urls"
	// StateTSARoots is the PEM bundle of roots the authorities' tokens
	// must chain to.
	StateTSARoots = "tsa_roots"
)

// TimestampResult is what asking one authority for one checkpoint's
// token gave.
type TimestampResult struct {
	CheckpointID int64
	TSA          string
	Time         time.Time // the token's time; zero on failure
	Err          error     // why no token was stored (the gap was recorded)
}

// TSAs returns the matter's timestamp authorities.
func (m *Matter) TSAs(ctx context.Context) ([]string, error) { return m.urlList(ctx, StateTSA) }

// AddTSAs adds authorities to the matter's settings (each an http or
// https URL; one already there is not added twice).
func (m *Matter) AddTSAs(ctx context.Context, urls []string) error {
	return m.addURLs(ctx, StateTSA, "add timestamp authorities", urls, tsa.CheckURL)
}

// urlList reads a setting that lists URLs one a line.
func (m *Matter) urlList(ctx context.Context, key string) ([]string, error) {
	v, _, err := m.Ledger.State(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("matter: %w", err)
	}
	return splitURLs(v), nil
}

// splitURLs splits a setting that lists URLs one a line.
func splitURLs(v string) []string {
	var out []string
	for _, u := range strings.Split(v, "\n") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// addURLs adds urls, each checked, to the setting key (one already there
// is not added twice); what names the change in an error. An addition
// is not a ledger entry: from the next checkpoint on, each one carries a
// token, a recorded gap or a cosignature from what was added.
func (m *Matter) addURLs(ctx context.Context, key, what string, urls []string, check func(string) error) error {
	if m.opts.ReadOnly {
		return fmt.Errorf("matter: %s: %w", what, ErrReadOnly)
	}
	have, err := m.urlList(ctx, key)
	if err != nil {
		return err
	}
	n := len(have)
	for _, u := range urls {
		if err := check(u); err != nil {
			return fmt.Errorf("matter: %w", err)
		}
		if !slices.Contains(have, u) {
			have = append(have, u)
		}
	}
	if len(have) == n {
		return nil
	}
	return m.Ledger.SetState(ctx, key, strings.Join(have, "\n"))
}

// SetTSARoots keeps a PEM root bundle in the matter's settings.
func (m *Matter) SetTSARoots(ctx context.Context, pemData []byte) error {
	if _, err := tsa.ParseRoots(pemData); err != nil {
		return fmt.Errorf("matter: %w", err)
	}
	return m.Ledger.SetState(ctx, StateTSARoots, string(pemData))
}

// TSARoots returns the roots kept in the matter's settings, nil if none:
// the roots the matter names, which a verifier checks tokens against but
// does not trust (verify.Options.MatterTSARoots).
func (m *Matter) TSARoots(ctx context.Context) (*x509.CertPool, error) {
	v, ok, err := m.Ledger.State(ctx, StateTSARoots)
	if err != nil || !ok || v == "" {
		return nil, err
	}
	pool, err := tsa.ParseRoots([]byte(v))
	if err != nil {
		return nil, fmt.Errorf("matter: the kept timestamp roots: %w", err)
	}
	return pool, nil
}

// afterCheckpoint is the ledger's AfterCheckpoint hook: every new
// checkpoint, whichever command signs it, goes to the matter's
// authorities and then its witnesses. A failure is recorded (a gap) and
// warned about; it never undoes the checkpoint.
func (m *Matter) afterCheckpoint(ctx context.Context, cp ledger.StoredCheckpoint) {
	m.stamped, m.cosigned = nil, nil
	m.warnURLSecrets(ctx)
	urls, err := m.TSAs(ctx)
	if err != nil {
		m.warn(fmt.Sprintf("checkpoint #%d was not timestamped: %v", cp.ID, err))
	} else {
		m.stamped = m.timestamp(ctx, cp, urls)
	}
	m.cosigned = m.Cosign(ctx, cp, nil)
}

// LastTimestamps returns what the timestamping of the last checkpoint
// this matter signed gave (nil if it signed none or has no authority).
func (m *Matter) LastTimestamps() []TimestampResult { return m.stamped }

// timestamp asks each authority for a token over cp, checks it (against
// the kept roots when there are some) and stores it, or stores the gap.
func (m *Matter) timestamp(ctx context.Context, cp ledger.StoredCheckpoint, urls []string) []TimestampResult {
	if len(urls) == 0 {
		return nil
	}
	roots, rootsErr := m.TSARoots(ctx)
	imprint := tsa.Imprint(cp.Note)
	var out []TimestampResult
	for _, u := range urls {
		r := TimestampResult{CheckpointID: cp.ID, TSA: u}
		tok, err := m.opts.TSA.Timestamp(ctx, u, imprint)
		if err == nil && roots != nil {
			_, err = tsa.Verify(tok, imprint, roots)
		}
		if err == nil && rootsErr != nil {
			err = rootsErr
		}
		if err == nil {
			t, _ := tsa.Verify(tok, imprint, nil)
			r.Time = t.Time
			err = m.Ledger.AddTimestamp(ctx, cp.ID, u, tok, "")
		} else if ctx.Err() == nil {
			if serr := m.Ledger.AddTimestamp(ctx, cp.ID, u, nil, err.Error()); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		if err != nil {
			r.Err = err
			m.warn(fmt.Sprintf("checkpoint #%d has no timestamp from %s (custody checkpoint --timestamp-missing asks again): %v", cp.ID, redact.URL(u), err))
		}
		out = append(out, r)
	}
	return out
}

// TimestampMissing asks each of the matter's authorities for a token for
// every stored checkpoint that has none from it yet (only the checkpoints
// ids, when given), and stores what it gets (or records the gap again).
func (m *Matter) TimestampMissing(ctx context.Context, ids ...int64) ([]TimestampResult, error) {
	if m.opts.ReadOnly {
		return nil, fmt.Errorf("matter: timestamp: %w", ErrReadOnly)
	}
	m.warnURLSecrets(ctx)
	urls, err := m.TSAs(ctx)
	if err != nil {
		return nil, err
	}
	cps, err := m.Ledger.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := m.Ledger.Timestamps(ctx)
	if err != nil {
		return nil, err
	}
	have := map[int64]map[string]bool{}
	for _, t := range ts {
		if t.Token != nil {
			if have[t.CheckpointID] == nil {
				have[t.CheckpointID] = map[string]bool{}
			}
			have[t.CheckpointID][t.TSA] = true
		}
	}
	var out []TimestampResult
	for _, cp := range cps {
		if len(ids) > 0 && !slices.Contains(ids, cp.ID) {
			continue
		}
		var missing []string
		for _, u := range urls {
			if !have[cp.ID][u] {
				missing = append(missing, u)
			}
		}
		out = append(out, m.timestamp(ctx, cp, missing)...)
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
	return out, nil
}
