package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
)

// mediaRead is what a capture still needs read from its message's
// evidence: sum, the evidence object (the response body its entry
// names), zero when there is nothing to read.
type mediaRead struct {
	sum hashchain.Hash
}

// readMessageMedia reads, for the captures of sts whose message is still
// to be read (standing.message), the ids of the message's attachments
// (diff.Captured.Attachments) and of its WhatsApp template header media
// (diff.Captured.HeaderMedia) from the evidence holding the message, and
// marks them known. The ledger records which media custody downloaded
// (detail.media), not which attachments a message had nor which media
// was its template's header: a message captured with --media=false, or
// whose urls had expired, names its media only in its evidence, the
// response body custody stores whether or not it downloads the media. Each evidence object is read once for all its
// captures (a bulk response holds a conversation's messages): a local
// store's in turn on this goroutine, a remote store's several at a time
// (the limit openAll's reads share). Evidence no longer stored, altered
// since (evidence.GetChecked: its bytes are not what its address says),
// or that does not hold the message leaves them unknown: it decides
// nothing (verify --evidence reports such evidence). A failed read of
// the store is an error.
func (x *LedgerIndex) readMessageMedia(ctx context.Context, sts []*standing) error {
	type ref struct {
		st *standing
		i  int
	}
	byEvidence := map[hashchain.Hash][]ref{}
	var sums []hashchain.Hash // in the order first wanted: deterministic reads
	for _, st := range sts {
		for i, mr := range st.message {
			if mr.sum.IsZero() {
				continue
			}
			if byEvidence[mr.sum] == nil {
				sums = append(sums, mr.sum)
			}
			byEvidence[mr.sum] = append(byEvidence[mr.sum], ref{st, i})
			st.message[i] = mediaRead{}
		}
	}
	if len(sums) == 0 {
		return nil
	}
	read := func(sum hashchain.Hash) error {
		refs := byEvidence[sum]
		want := make(map[string]bool, len(refs))
		for _, r := range refs {
			want[r.st.out[r.i].MessageID] = true
		}
		media, err := x.messageMedia(ctx, sum, want)
		if err != nil {
			return err
		}
		for _, r := range refs {
			c := &r.st.out[r.i]
			if m, ok := media[c.MessageID]; ok {
				c.Attachments, c.AttachmentsKnown = m.attachments, true
				c.HeaderMedia, c.HeaderMediaKnown = m.header, true
			}
		}
		return nil
	}
	errs := make([]error, len(sums))
	if evidence.Parallelism(x.Evidence) <= 1 || len(sums) == 1 {
		for j, sum := range sums {
			if errs[j] = read(sum); errs[j] != nil {
				break
			}
		}
	} else {
		sem := x.readSlots()
		var wg sync.WaitGroup
		for j, sum := range sums {
			if sem.Acquire(ctx, 1) != nil {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer sem.Release(1)
				errs[j] = read(sum)
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// messageMediaIDs are the media ids of one message, in the forms
// diff.Captured keeps them.
type messageMediaIDs struct {
	attachments string // diff.AttachmentSet
	header      string // genesys.TemplateHeaderMedia's id, "" for none
}

// bodyBufs: a body a conversation, nothing kept of it but the ids, copied.
var bodyBufs = newReadBufs(64<<10, 1<<20)

// messageMedia reads the evidence sum and returns, for each of the
// messages want names that it holds, the ids of its attachments and of
// its template header media (derive.MediaIn: one pass over the body, for
// the usual one). Evidence no longer stored, altered, or unreadable as
// messages, gives none.
func (x *LedgerIndex) messageMedia(ctx context.Context, sum hashchain.Hash, want map[string]bool) (map[string]messageMediaIDs, error) {
	body, bp, err := bodyBufs.get(ctx, x.Evidence, sum)
	defer bodyBufs.put(bp, body)
	if err == nil {
		err = evidence.Check(sum, body)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, evidence.ErrCorrupt) {
		return nil, nil // verify reports altered evidence; here it decides nothing
	}
	if err != nil {
		return nil, fmt.Errorf("reconcile: evidence %s of a message's media: %w", sum, err)
	}
	media, err := derive.MediaIn(body)
	if err != nil {
		return nil, nil // verify reports unreadable evidence; here it decides nothing
	}
	out := make(map[string]messageMediaIDs, len(want))
	for _, m := range media {
		if _, seen := out[m.ID]; want[m.ID] && !seen {
			out[m.ID] = messageMediaIDs{attachments: diff.AttachmentSet(m.Attachments), header: m.HeaderMedia}
		}
	}
	return out, nil
}
