package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/redact"
)

// tsaRemoval is a settings entry that took timestamp authorities off the
// matter (checkpoint --remove-tsa): the URLs removed and the list left,
// each as custody shows it (redact.URL).
type tsaRemoval struct {
	seq       uint64
	urls, now []string
}

// tsaRemovals returns the settings entries that removed timestamp
// authorities, in seq order.
func tsaRemovals(ctx context.Context, snap *ledger.Snapshot) ([]tsaRemoval, error) {
	rs, err := removals(ctx, snap, leaf.SettingTSA)
	if err != nil {
		return nil, err
	}
	var out []tsaRemoval
	for _, r := range rs {
		out = append(out, tsaRemoval{seq: r.e.Seq, urls: slices.Clone(r.d.URLs), now: slices.Clone(r.d.Now)})
	}
	return out, nil
}

// untimed is the one warning of verify --tsa-roots about the stored
// checkpoints that carry no timestamp row at all, neither a token nor a
// recorded gap: their times are not proven, and nothing else says so
// (a gap is a timestamp_missing warning; deleting every token of a
// matter leaves no trace of its own). It is a warning, not a failure: a
// checkpoint signed while the matter named no authority has no token
// either. So it adds what the ledger's own records say of the
// authorities when each was signed:
//
//   - configured: an authority has a row (token or gap) on an earlier
//     checkpoint, or the latest settings entry before the checkpoint
//     left it in place, and no settings entry took it off between. Every
//     checkpoint signed while an authority is configured gets a row from
//     it (docs/timestamps.md), and --timestamp-missing asks every
//     checkpoint that lacks a token, so a missing row was deleted (or a
//     run was cut short);
//   - removed later: a settings entry after the checkpoint took an
//     authority off, so it was configured until then; since when is not
//     recorded (adding one is no entry), so this says no more than that;
//   - none left: the latest settings entry before it left no authority.
//
// And the authorities the matter's settings name now (named, its
// tsa_urls state), which are unsigned and say nothing of when they were
// added, but that each checkpoint signed since carries a row from.
//
// ts are the stored timestamp rows; rows of a checkpoint not stored are
// ignored (they are a finding of their own).
func untimed(stored []ledger.StoredCheckpoint, ts []ledger.Timestamp, removals []tsaRemoval, named []string) (Finding, bool) {
	rows := map[int64][]string{} // checkpoint → the authorities it has a row from
	for _, t := range ts {
		u := redact.URL(t.TSA)
		if !slices.Contains(rows[t.CheckpointID], u) {
			rows[t.CheckpointID] = append(rows[t.CheckpointID], u)
		}
	}
	var bare []int64
	var sizes []uint64
	var order []untimedWhy
	by := map[untimedWhy][]int64{} // what the records say → the checkpoints it concerns
	var configured []string        // the authorities the records show configured
	next := 0                      // the first removal not before the checkpoint at hand
	for _, c := range stored {
		for ; next < len(removals) && removals[next].seq < c.Size; next++ {
			// The checkpoint is signed after this entry: the list it
			// left is the whole list then.
			configured = slices.Clone(removals[next].now)
		}
		if len(rows[c.ID]) > 0 {
			for _, u := range rows[c.ID] {
				if !slices.Contains(configured, u) {
					configured = append(configured, u)
				}
			}
			continue
		}
		bare, sizes = append(bare, c.ID), append(sizes, c.Size)
		var why untimedWhy
		switch {
		case len(configured) > 0:
			why = untimedWhy{kind: whyConfigured, urls: strings.Join(configured, ", "), n: len(configured)}
		case next < len(removals):
			r := removals[next]
			why = untimedWhy{kind: whyRemovedLater, seq: r.seq, urls: strings.Join(r.urls, ", "), n: len(r.urls)}
		case next > 0:
			why = untimedWhy{kind: whyNoneLeft, seq: removals[next-1].seq}
		default:
			continue
		}
		if by[why] == nil {
			order = append(order, why)
		}
		by[why] = append(by[why], c.ID)
	}
	if len(bare) == 0 {
		return Finding{}, false
	}
	msg := fmt.Sprintf("%d stored checkpoints carry no timestamp token (%s): their times are not proven", len(bare), checkpointRuns(bare))
	if len(bare) == 1 {
		msg = fmt.Sprintf("checkpoint #%d (size %d) carries no timestamp token: its time is not proven", bare[0], sizes[0])
	}
	for _, why := range order {
		msg += "; " + why.say(by[why], len(bare) == 1)
	}
	if len(named) > 0 {
		msg += fmt.Sprintf("; the matter's settings name %s %s now (unsigned, and when %s added is not recorded: every checkpoint signed since carries a token or a recorded gap from %s)",
			plural(len(named), "the timestamp authority", "the timestamp authorities"), strings.Join(named, ", "), plural(len(named), "it was", "they were"), plural(len(named), "it", "each"))
	}
	return Finding{Check: CheckTimestamp, Warning: true, Message: msg}, true
}

// untimedWhy is what the ledger's records say of the authorities when
// untimed checkpoints were signed (see untimed).
type untimedWhy struct {
	kind int
	seq  uint64 // the settings entry
	urls string // the authorities, as custody shows them
	n    int    // how many
}

const (
	whyConfigured = iota
	whyRemovedLater
	whyNoneLeft
)

// say says it of the checkpoints ids ("it" when alone is the one
// untimed checkpoint, named already).
func (w untimedWhy) say(ids []int64, alone bool) string {
	list, n := checkpointRuns(ids), len(ids)
	if alone {
		list = "it"
	}
	it := plural(w.n, "it", "them")
	switch w.kind {
	case whyConfigured:
		return fmt.Sprintf("the ledger's own records show %s %s configured when %s %s signed (a token or a recorded gap on an earlier checkpoint, or the latest settings entry before left %s in place), yet %s neither a token nor a recorded gap from %s: deleted from the ledger file, or a run cut short",
			plural(w.n, "the timestamp authority", "the timestamp authorities"), w.urls, list, plural(n, "was", "were"), it, plural(n, "it carries", "they carry"), it)
	case whyRemovedLater:
		return fmt.Sprintf("the settings entry at seq %d took %s off the matter, so %s configured until then (since when, the ledger does not record): %s, signed before that, %s neither a token nor a recorded gap from %s",
			w.seq, w.urls, plural(w.n, "it was", "they were"), list, plural(n, "carries", "carry"), it)
	}
	return fmt.Sprintf("%s %s signed after the settings entry at seq %d left the matter no timestamp authority", list, plural(n, "was", "were"), w.seq)
}

// checkpointRuns is checkpointList with at most maxNames runs named and
// the rest counted: a matter of 10,000 untimed checkpoints is one line.
func checkpointRuns(ids []int64) string {
	var parts []string
	more := 0
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j-i < 2 {
			j = i
		}
		switch {
		case len(parts) == maxNames:
			more += j - i + 1
		case j == i:
			parts = append(parts, fmt.Sprintf("#%d", ids[i]))
		default:
			parts = append(parts, fmt.Sprintf("#%d to #%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	s := plural(len(ids), "checkpoint ", "checkpoints ") + strings.Join(parts, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
