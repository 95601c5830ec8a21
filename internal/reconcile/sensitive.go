package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

var _ diff.SensitiveIndex = (*LedgerIndex)(nil)

// SensitiveData implements diff.SensitiveIndex: whether the text of any
// message custody captured of convID (its entries before the index's
// snapshot, in its matter) holds a payment card number, read from the
// evidence each entry names. Without Evidence, or for evidence no longer
// stored, it says false: the cause is then no_recording.
func (x *LedgerIndex) SensitiveData(ctx context.Context, convID string) (bool, error) {
	if x.Evidence == nil {
		return false, nil
	}
	if err := x.snapshot(ctx); err != nil {
		return false, err
	}
	entries, err := x.L.EntriesByConversation(ctx, convID)
	if err != nil {
		return false, fmt.Errorf("reconcile: entries of %s: %w", convID, err)
	}
	want := map[hashchain.Hash]map[string]bool{} // evidence → message ids in it
	for _, e := range entries {
		if e.Kind != leaf.KindMessage || e.Seq >= x.size || (x.Matter != "" && e.Matter != x.Matter) || e.EvidenceSHA256.IsZero() {
			continue
		}
		if want[e.EvidenceSHA256] == nil {
			want[e.EvidenceSHA256] = map[string]bool{}
		}
		want[e.EvidenceSHA256][e.MessageID] = true
	}
	for sum, ids := range want {
		body, err := evidence.GetChecked(ctx, x.Evidence, sum)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, evidence.ErrCorrupt) {
			continue // verify reports altered evidence; here it decides nothing
		}
		if err != nil {
			return false, fmt.Errorf("reconcile: evidence of %s: %w", convID, err)
		}
		msgs, err := derive.MessagesIn(body)
		if err != nil {
			continue // verify reports unreadable evidence; here it decides nothing
		}
		for _, raw := range msgs {
			md, _, err := derive.DecodeMessage(raw)
			if err == nil && ids[md.ID] && genesys.HasPaymentCard(genesys.MessageText(md)) {
				return true, nil
			}
		}
	}
	return false, nil
}
