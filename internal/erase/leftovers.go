package erase

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/production"
)

// removeProduceLeftovers removes the folders that a produce killed before
// it recorded its production left, as the ledger's state lists them
// (production.StagingKey): each may hold the produced messages' text,
// no entry names it, and it never was a production, so a later erase
// could not otherwise find it (and --out may be anywhere). Erase holds
// the matter's writer lock, as produce does, so none is being built. A
// folder whose claim the ledger records (.entry-SEQ, production.ClaimKey)
// is a recorded production and is left; a file or link named like one is
// not produce's and is left. It returns the folders removed, and what
// could not be looked at or removed (path: why), whose lines are kept
// for a later erase or produce into the same --out.
func removeProduceLeftovers(ctx context.Context, l *ledger.Ledger) (removed, failed []string, err error) {
	v, ok, err := l.State(ctx, production.StagingKey)
	if err != nil {
		return nil, nil, fmt.Errorf("erase: %w", err)
	}
	if !ok {
		return nil, nil, nil
	}
	var done []string // lines with nothing left to look for
	for _, stem := range production.StagingLines(v) {
		parent, base := filepath.Dir(stem), filepath.Base(stem)
		ents, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			done = append(done, stem)
			continue
		}
		if err != nil {
			failed = append(failed, stem+".*: "+err.Error())
			continue
		}
		clean := true
		for _, e := range ents {
			rest, ok := strings.CutPrefix(e.Name(), base+".")
			if !ok || e.Type() != fs.ModeDir {
				continue
			}
			if digits, ok := strings.CutPrefix(rest, "entry-"); ok {
				seq, err := strconv.ParseUint(digits, 10, 64)
				if err != nil {
					continue // not a name produce gives
				}
				name, ok, err := l.State(ctx, production.ClaimKey(seq))
				if err != nil {
					return nil, nil, fmt.Errorf("erase: %w", err)
				}
				if ok && name == e.Name() {
					continue // recorded: a production, named in outputs
				}
			} else if rest != "building" {
				continue
			}
			path := filepath.Join(parent, e.Name())
			if err := os.RemoveAll(path); err != nil {
				failed = append(failed, path+": "+err.Error())
				clean = false
				continue
			}
			removed = append(removed, path)
		}
		if clean {
			done = append(done, stem)
		}
	}
	if len(done) > 0 {
		err := l.Update(ctx, func(tx *ledger.Tx) error {
			v, _, err := tx.State(production.StagingKey)
			if err != nil {
				return err
			}
			if nv := production.WithoutStaging(v, done...); nv != "" {
				return tx.SetState(production.StagingKey, nv)
			}
			return tx.DeleteState(production.StagingKey)
		})
		if err != nil {
			return removed, failed, fmt.Errorf("erase: %w", err)
		}
	}
	return removed, failed, nil
}
