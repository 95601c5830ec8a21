package matter

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
)

// StateWitness lists the witnesses (C2SP tlog-witness submission
// prefixes) every new checkpoint is sent to, one URL a line.
const StateWitness = "witness_urls"

// StateWitnessNames says which witness key names the witness at each URL
// signed with: "URL NAME" lines, recorded as it cosigns. Cosign does not
// ask a witness again for a checkpoint it already cosigned.
const StateWitnessNames = "witness_names"

// CosignResult is what asking one witness to cosign one checkpoint gave.
type CosignResult struct {
	CheckpointID int64
	Witness      string // the witness's URL
	Lines        string // the cosignature lines it returned, stored beside the checkpoint
	Err          error  // why it did not cosign
	// AlreadyStored: the witness's cosignature of the checkpoint was
	// stored before, so it was not asked again; Lines are the stored ones.
	AlreadyStored bool
}

// Witnesses returns the matter's witnesses.
func (m *Matter) Witnesses(ctx context.Context) ([]string, error) {
	return m.urlList(ctx, StateWitness)
}

// CheckWitnessURL checks that a witness's URL is http or https with a
// host, and without user info, a query or a fragment (redact.Has): the
// URL is written into the ledger and proof files, which go to other
// parties, and the witness's path is appended to it.
func CheckWitnessURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("witness %q: %w", redact.URL(raw), redact.Error(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("witness %q: not an http or https URL", redact.URL(raw))
	}
	if redact.Has(raw) {
		return fmt.Errorf("witness %q: a URL with user info, a query or a fragment: it would be written into the ledger and proof files", redact.URL(raw))
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
// stores each cosignature beside cp. A witness whose cosignature of cp
// is already stored (StateWitnessNames says under which names) is not
// asked again: its result has AlreadyStored. A refusal is in the
// result's Err and warned about; it never undoes the checkpoint.
func (m *Matter) Cosign(ctx context.Context, cp ledger.StoredCheckpoint, urls []string) []CosignResult {
	if urls == nil {
		m.warnURLSecrets(ctx)
		var err error
		if urls, err = m.Witnesses(ctx); err != nil {
			return []CosignResult{{CheckpointID: cp.ID, Err: err}}
		}
	}
	if len(urls) == 0 {
		return nil
	}
	stored, err := m.storedCosignatures(ctx, cp.ID)
	if err != nil {
		return []CosignResult{{CheckpointID: cp.ID, Err: err}}
	}
	var out []CosignResult
	for _, u := range urls {
		r := CosignResult{CheckpointID: cp.ID, Witness: u}
		if lines, ok := stored[u]; ok {
			r.Lines, r.AlreadyStored = lines, true
			out = append(out, r)
			continue
		}
		r.Lines, r.Err = m.cosignOne(ctx, cp, u)
		if r.Err != nil {
			m.warn(fmt.Sprintf("checkpoint #%d was not cosigned by %s: %v", cp.ID, redact.URL(u), r.Err))
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
		if err := m.rememberWitnessName(ctx, u, name); err != nil {
			return lines.String(), err
		}
	}
	return lines.String(), nil
}

// witnessNames reads StateWitnessNames: the key names each witness URL
// has cosigned with.
func (m *Matter) witnessNames(ctx context.Context) (map[string][]string, error) {
	lines, err := m.urlList(ctx, StateWitnessNames)
	if err != nil {
		return nil, err
	}
	names := map[string][]string{}
	for _, l := range lines {
		if u, name, ok := strings.Cut(l, " "); ok {
			names[u] = append(names[u], name)
		}
	}
	return names, nil
}

// rememberWitnessName records that the witness at u cosigned as name.
func (m *Matter) rememberWitnessName(ctx context.Context, u, name string) error {
	lines, err := m.urlList(ctx, StateWitnessNames)
	if err != nil {
		return err
	}
	line := u + " " + name
	if slices.Contains(lines, line) {
		return nil
	}
	return m.Ledger.SetState(ctx, StateWitnessNames, strings.Join(append(lines, line), "\n"))
}

// storedCosignatures returns, by witness URL, the cosignature lines of
// checkpoint id already stored from that witness: every name it is known
// to sign with has a stored line.
func (m *Matter) storedCosignatures(ctx context.Context, id int64) (map[string]string, error) {
	names, err := m.witnessNames(ctx)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	cos, err := m.Ledger.Cosignatures(ctx)
	if err != nil {
		return nil, fmt.Errorf("matter: %w", err)
	}
	byName := map[string]string{}
	for _, c := range cos {
		if c.CheckpointID == id {
			byName[c.Witness] += c.Signature
		}
	}
	out := map[string]string{}
	for u, ns := range names {
		var lines strings.Builder
		for _, n := range ns {
			if byName[n] == "" {
				lines.Reset()
				break
			}
			lines.WriteString(byName[n])
		}
		if lines.Len() > 0 {
			out[u] = lines.String()
		}
	}
	return out, nil
}
