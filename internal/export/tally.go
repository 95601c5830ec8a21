package export

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// tally is what a run captured over all its invocations: the counts of
// the accounting that run items cannot give. It lives in the ledger's
// state table (tallyKey) and is added to in the transaction that appends
// a conversation's entries and marks it done, so it is exact however an
// invocation ended, kill -9 included: a conversation's entries and its
// share of the tally commit together or not at all. One small row is
// read and written per conversation; nothing is scanned at the end.
type tally struct {
	Unchanged         int `json:"conversations_unchanged"`
	Changed           int `json:"conversations_changed"`
	MessagesAppended  int `json:"messages_appended"`
	MessagesUnchanged int `json:"messages_unchanged"`
	MessagesChanged   int `json:"messages_changed"`
	MessagesGone      int `json:"messages_gone"`
	MediaDownloaded   int `json:"media_downloaded"`
	MediaExpired      int `json:"media_expired"`
	MediaRefused      int `json:"media_refused"`
	MediaMismatch     int `json:"media_sha256_mismatch"`
	// NoMedia: messages held without their attachments (Accounting.MessagesWithoutMedia).
	NoMedia int `json:"messages_without_media,omitempty"`
	// MessagesRecaptured: messages appended again, unchanged, with the
	// attachments their capture lacked (Accounting.MessagesRecaptured).
	MessagesRecaptured int `json:"messages_recaptured,omitempty"`
	// MediaNotCaptured: attachments of the run's messages whose latest
	// capture holds no bytes of them (Accounting.MediaNotCaptured), and
	// MediaRetryable those of them a later run tries again.
	MediaNotCaptured int `json:"media_not_captured,omitempty"`
	MediaRetryable   int `json:"media_retryable,omitempty"`
	// Partial: conversations of the run were done before its tally was
	// kept (the run began under a custody that kept none); the counts
	// cover only the conversations done since.
	Partial bool `json:"partial,omitempty"`
}

// tallyKey is the state key of a run's tally.
func tallyKey(runID string) string { return "export/" + runID + "/tally" }

func (t *tally) add(d tally) {
	t.Unchanged += d.Unchanged
	t.Changed += d.Changed
	t.MessagesAppended += d.MessagesAppended
	t.MessagesUnchanged += d.MessagesUnchanged
	t.MessagesChanged += d.MessagesChanged
	t.MessagesGone += d.MessagesGone
	t.MediaDownloaded += d.MediaDownloaded
	t.MediaExpired += d.MediaExpired
	t.MediaRefused += d.MediaRefused
	t.MediaMismatch += d.MediaMismatch
	t.NoMedia += d.NoMedia
	t.MessagesRecaptured += d.MessagesRecaptured
	t.MediaNotCaptured += d.MediaNotCaptured
	t.MediaRetryable += d.MediaRetryable
}

// countNotCaptured adds to the tally the attachments of refs, a
// message's latest capture (of a message of time msgTime, appended at
// at), that it holds no bytes of, and of them those a later run tries
// again (retryRule, as of now).
func (t *tally) countNotCaptured(refs []leaf.MediaRef, now time.Time, msgTime string, at time.Time) {
	n, retry := notCaptured(refs, now, msgTime, at)
	t.MediaNotCaptured += n
	t.MediaRetryable += retry
}

// countMedia adds the attachments of refs to the tally, by what became
// of them.
func (t *tally) countMedia(refs []leaf.MediaRef) {
	for _, mr := range refs {
		switch mr.Status {
		case leaf.MediaExpired:
			t.MediaExpired++
		case leaf.MediaRefused, leaf.MediaTooLarge:
			t.MediaRefused++
		case leaf.MediaSHA256Mismatch:
			t.MediaMismatch++
		}
		if mr.Evidence != "" {
			t.MediaDownloaded++
		}
	}
}

// readTally decodes a run's tally from what a state lookup returned;
// ok is false when the run has none.
func readTally(runID, v string, ok bool, err error) (tally, bool, error) {
	var t tally
	if err != nil || !ok {
		return t, false, err
	}
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		return t, false, fmt.Errorf("export: run %s: tally: %w", runID, err)
	}
	return t, true, nil
}

// putTally records t as the run's tally inside tx.
func putTally(tx *ledger.Tx, runID string, t tally) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("export: run %s: tally: %w", runID, err)
	}
	return tx.SetState(tallyKey(runID), string(b))
}

// addTally adds d to the run's tally inside tx.
func addTally(tx *ledger.Tx, runID string, d tally) error {
	v, ok, err := tx.State(tallyKey(runID))
	t, _, err := readTally(runID, v, ok, err)
	if err != nil {
		return err
	}
	t.add(d)
	return putTally(tx, runID, t)
}

// startTally gives the run a tally when it has none: an empty one for a
// new run, one marked partial for a run resumed with conversations
// already done (begun under a custody that kept no tally).
func startTally(tx *ledger.Tx, runID string, resumed bool) error {
	if _, ok, err := tx.State(tallyKey(runID)); err != nil || ok {
		return err
	}
	var t tally
	if resumed {
		done, err := tx.RunItems(runID, ledger.ItemDone)
		if err != nil {
			return err
		}
		t.Partial = len(done) > 0
	}
	return putTally(tx, runID, t)
}

// changesOfRun lists the run's changed messages from the ledger: the
// message entries under its run id that supersede an earlier capture,
// but for re-captures with attachments (leaf.Entry.Recaptures: the same
// payload). It reads every entry of the ledger (run_id is not indexed),
// and is used only when the changes recorded at the run's clean ends and
// this invocation's fall short of its tally: an earlier invocation was
// killed after capturing a change.
func changesOfRun(ctx context.Context, l *ledger.Ledger, runID string) ([]Change, error) {
	var sup []leaf.Entry
	var seqs []uint64
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindMessage, RunID: runID}) {
		if err != nil {
			return nil, err
		}
		if e.Supersedes != nil {
			sup, seqs = append(sup, e), append(seqs, *e.Supersedes)
		}
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs) // EntriesAt: strictly ascending
	prevs := make(map[uint64]leaf.Entry, len(seqs))
	if err := l.EntriesAt(ctx, seqs, func(e leaf.Entry) error {
		prevs[e.Seq] = e
		return nil
	}); err != nil {
		return nil, err
	}
	out := []Change{}
	for _, e := range sup {
		if prev, ok := prevs[*e.Supersedes]; ok && e.Recaptures(&prev) {
			continue
		}
		out = append(out, Change{ConversationID: e.ConversationID, MessageID: e.MessageID, Seq: e.Seq, Supersedes: *e.Supersedes})
	}
	return out, nil
}

// sortChanges orders changes by seq, dropping repeats.
func sortChanges(cs []Change) []Change {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Seq < cs[j].Seq })
	out := []Change{}
	for _, c := range cs {
		if len(out) == 0 || c.Seq != out[len(out)-1].Seq {
			out = append(out, c)
		}
	}
	return out
}
