package matter

import (
	"context"
	"fmt"
	"os/user"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
)

// Removal names timestamp authorities and witnesses to take off the
// matter's settings (custody checkpoint --remove-tsa, --remove-witness).
// Each URL is one the matter names, as stored or as custody shows it
// (redact.URL: a URL an older custody accepted with user info, a query
// or a fragment is shown, and may be given, without them).
type Removal struct {
	TSAs, Witnesses []string
}

// Empty reports whether r removes nothing.
func (r Removal) Empty() bool { return len(r.TSAs) == 0 && len(r.Witnesses) == 0 }

// removalList is one setting a Removal changes.
type removalList struct {
	key, setting, noun string
	urls               []string
}

func (r Removal) lists() []removalList {
	return []removalList{
		{StateTSA, leaf.SettingTSA, "timestamp authority", r.TSAs},
		{StateWitness, leaf.SettingWitness, "witness", r.Witnesses},
	}
}

// CheckRemoval checks, changing nothing, that CheckpointRemoving could
// take r off: the matter can be written and names every URL in r. A URL
// it does not name is an error matching ErrNotConfigured, naming (as
// custody shows them) those it does; one given as shown that names
// several is ErrAmbiguous.
func (m *Matter) CheckRemoval(ctx context.Context, r Removal) error {
	if m.opts.ReadOnly {
		return fmt.Errorf("matter: remove settings: %w", ErrReadOnly)
	}
	for _, l := range r.lists() {
		named, err := m.urlList(ctx, l.key)
		if err != nil {
			return err
		}
		if _, err := resolveURLs(named, l.urls, l.noun); err != nil {
			return fmt.Errorf("matter: remove settings: %w", err)
		}
	}
	return nil
}

// CheckpointRemoving signs and stores a checkpoint (vouching for the
// erasure entry at *erasure when not nil, as ledger.CheckpointErasure) in
// the one transaction that takes r off the matter's settings and
// appends, for each list it changes, a settings entry saying what was
// removed, what is left and by whom, every URL as custody shows it
// (redact.URL): the checkpoint covers the entries, and when it is not
// stored (a URL r names is not the matter's, the ledger fails the
// checks, the key does not sign for it) nothing is removed or recorded.
// Neither that checkpoint nor a later one is sent to what was removed.
// The tokens, gaps and cosignatures stored from it stay: they are the
// checkpoints' attestations, and verify checks them as before.
func (m *Matter) CheckpointRemoving(ctx context.Context, signerKey string, erasure *uint64, r Removal) (ledger.StoredCheckpoint, error) {
	if m.opts.ReadOnly {
		return ledger.StoredCheckpoint{}, fmt.Errorf("matter: remove settings: %w", ErrReadOnly)
	}
	return m.Ledger.CheckpointWith(ctx, signerKey, erasure, func(tx *ledger.Tx) error {
		for _, l := range r.lists() {
			if len(l.urls) == 0 {
				continue
			}
			v, _, err := tx.State(l.key)
			if err != nil {
				return fmt.Errorf("matter: remove settings: %w", err)
			}
			named := splitURLs(v)
			removed, err := resolveURLs(named, l.urls, l.noun)
			if err != nil {
				return fmt.Errorf("matter: remove settings: %w", err)
			}
			left := slices.DeleteFunc(slices.Clone(named), func(u string) bool { return slices.Contains(removed, u) })
			raw, err := leaf.EncodeDetail(&leaf.SettingsDetail{Setting: l.setting, Action: leaf.SettingsRemove,
				URLs: shownURLs(removed), Now: shownURLs(left), Operator: operatorName()})
			if err != nil {
				return fmt.Errorf("matter: remove settings: %w", err)
			}
			e := leaf.Entry{Kind: leaf.KindSettings, Detail: raw}
			if m.opts.Now != nil {
				e.At = m.opts.Now()
			}
			if _, err := tx.Append(e); err != nil {
				return fmt.Errorf("matter: remove settings: %w", err)
			}
			if err := tx.SetState(l.key, strings.Join(left, "\n")); err != nil {
				return fmt.Errorf("matter: remove settings: %w", err)
			}
		}
		return nil
	})
}

// resolveURLs returns the URLs of named (a setting's list) that given
// names, in the order given, each once: a given URL is a named one as
// it is, or else as custody shows it (redact.URL), which must then name
// exactly one. noun names the kind in an error.
func resolveURLs(named, given []string, noun string) ([]string, error) {
	var out []string
	for _, g := range given {
		u := ""
		if slices.Contains(named, g) {
			u = g
		} else {
			var match []string
			for _, n := range named {
				if cg := redact.FoldCase(g); redact.FoldCase(n) == cg || redact.FoldCase(redact.URL(n)) == cg {
					match = append(match, n)
				}
			}
			switch len(match) {
			case 0:
				names := "none"
				if len(named) > 0 {
					names = strings.Join(shownURLs(named), ", ")
				}
				return nil, fmt.Errorf("%s %s: %w (it names %s)", noun, redact.URL(g), ErrNotConfigured, names)
			case 1:
				u = match[0]
			default:
				return nil, fmt.Errorf("%s %s: %w: %d differ only in their user info, query or fragment; give the one to remove as it was added", noun, g, ErrAmbiguous, len(match))
			}
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// shownURLs is urls as custody shows them (redact.URL), never nil.
func shownURLs(urls []string) []string {
	out := make([]string, 0, len(urls))
	for _, u := range urls {
		out = append(out, redact.URL(u))
	}
	return out
}

// operatorName is who changes a setting, as the settings entry records
// it: the user custody runs as.
func operatorName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// SettingsURLs returns every timestamp authority and witness URL the
// matter's settings name, as stored: the CLI tells its redactor their
// secrets (an older custody accepted URLs with them).
func (m *Matter) SettingsURLs(ctx context.Context) ([]string, error) {
	tsas, err := m.TSAs(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := m.Witnesses(ctx)
	if err != nil {
		return nil, err
	}
	return append(tsas, ws...), nil
}

// warnURLSecrets warns, once for the Matter, when its settings name an
// authority or witness by a URL with user info, a query or a fragment,
// which an older custody accepted (AddTSAs and AddWitnesses refuse them
// now). Custody still asks it, naming it redacted (redact.URL) wherever
// the URL is shown or written for others — proof files, productions,
// reports, verify — and in the settings entry that removes it; but the
// secret stays in the ledger file's settings and timestamp rows, and
// custody keeps sending it. The warning says how to replace it.
func (m *Matter) warnURLSecrets(ctx context.Context) {
	if m.secretsWarned {
		return
	}
	m.secretsWarned = true
	for _, l := range []struct{ key, noun, flag, doc string }{
		{StateTSA, "timestamp authority", "tsa", "timestamps"}, {StateWitness, "witness", "witness", "witness"},
	} {
		urls, err := m.urlList(ctx, l.key)
		if err != nil {
			return
		}
		for _, u := range urls {
			if !redact.Has(u) {
				continue
			}
			shown := redact.URL(u)
			m.warn(fmt.Sprintf("the matter's settings name %s %s with user info, a query or a fragment (an older custody accepted it): "+
				"custody still asks it and shows it without them, but they stay in the ledger file; take it off and add it again without them: "+
				"custody checkpoint --remove-%s '%s' --%s URL (docs/%s.md: one that needs credentials)",
				l.noun, shown, l.flag, shown, l.flag, l.doc))
		}
	}
}
