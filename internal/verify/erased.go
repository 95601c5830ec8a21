package verify

import (
	"slices"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// erasedObjects are the evidence objects erasure entries say were deleted
// (custody erase), gathered in the one pass: such an object absent from
// the store is erased, not missing, and no failure. An erasure entry
// cannot make an altered object good, and an object referenced again
// after its erasure (a later capture stored it anew) is checked like any
// other.
type erasedObjects struct {
	sums                    map[hashchain.Hash]bool
	conversations, messages []string
}

// add reads an erasure entry; other kinds are ignored. A detail that
// does not decode erases nothing.
func (x *erasedObjects) add(e *leaf.Entry) {
	if e.Kind != leaf.KindErasure {
		return
	}
	dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
	if err != nil {
		return
	}
	d := dd.(*leaf.ErasureDetail)
	if x.sums == nil {
		x.sums = map[hashchain.Hash]bool{}
	}
	for _, s := range d.Erased {
		if h, err := hashchain.ParseHash(s); err == nil {
			x.sums[h] = true
		}
	}
	x.conversations = append(x.conversations, d.Conversations...)
	x.messages = append(x.messages, d.Messages...)
}

// split removes the erased objects from missing and counts them.
func (x *erasedObjects) split(missing []hashchain.Hash) ([]hashchain.Hash, int) {
	n := 0
	kept := missing[:0:0]
	for _, h := range missing {
		if x.sums[h] {
			n++
			continue
		}
		kept = append(kept, h)
	}
	return kept, n
}

// fill records what was erased in the summary.
func (x *erasedObjects) fill(s *EvidenceSummary, n int) {
	s.Erased = n
	s.ErasedConversations = sortedUnique(x.conversations)
	s.ErasedMessages = sortedUnique(x.messages)
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
