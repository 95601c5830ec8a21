package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// erasedObjects are the evidence objects erasure entries say were deleted
// (custody erase), gathered in the one pass. An object absent from the
// store is erased, not missing, only when an erasure entry E excuses it
// (docs/ledger-format.md, "Erasure entries"):
//
//   - E lists it in erased, and a signed checkpoint verify validated
//     vouches for E: its "erasure <seq>" line names E. An erasure entry
//     is as easy to append as any entry, and a routine checkpoint (every
//     export signs one) covers whatever was appended: only a checkpoint
//     signed for the erasure (custody erase, custody checkpoint
//     --erasure) makes it the custodian's word;
//   - an entry before E of a conversation or message E erases references
//     it, or a response body of one E erases in part (a bulk response a
//     conversation entry of its partial conversations names, the response
//     of a message it lists as collateral), or it is the manifest of a
//     production entry before E that E's outputs name with it (an erasure
//     names what it deleted of what it erased, not any object);
//   - no entry after E references it (a later entry's evidence must be
//     there).
//
// Anything else absent is missing, a failure. An erasure entry cannot
// make an altered object good.
type erasedObjects struct {
	entries []erasureEntry
	by      map[hashchain.Hash][]int // the entries (indices) listing each object
}

// erasureEntry is what the check needs of one erasure entry.
type erasureEntry struct {
	seq           uint64
	conversations map[string]bool // erased whole
	messages      map[string]bool // erased (those of the conversations included)
	convList      []string
	msgList       []string
	// partial and collateral: the conversations some of whose messages
	// E erased, and the messages whose response bodies it deleted with
	// them (a body holds every message of a bulk response).
	partial    map[string]bool
	collateral map[string]bool
	// manifests are the production manifests E deleted (its outputs'
	// manifest), each with the seq of the production entry named.
	manifests map[hashchain.Hash][]uint64
}

// erases reports whether E erases what the entry r references h from:
// a conversation entry of a conversation it erases whole, a message entry
// of one of its messages or conversations, or a production entry whose
// manifest h its outputs name as deleted. Or a response body that held an
// erased message beside others: a bulk-messages response a conversation
// entry of one of its partial conversations names, or the response a
// message entry of one of its collateral messages names.
func (x *erasureEntry) erases(r objectRef, h hashchain.Hash) bool {
	switch r.kind {
	case leaf.KindConversation:
		return x.conversations[r.conv] || (r.role == leaf.RoleBulk && x.partial[r.conv])
	case leaf.KindMessage:
		return x.messages[r.msg] || x.conversations[r.conv] || (r.role == leaf.RoleResponse && x.collateral[r.msg])
	case leaf.KindProduction:
		return slices.Contains(x.manifests[h], r.seq)
	}
	return false
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
	if x.by == nil {
		x.by = map[hashchain.Hash][]int{}
	}
	ee := erasureEntry{seq: e.Seq, conversations: map[string]bool{}, messages: map[string]bool{},
		partial: map[string]bool{}, collateral: map[string]bool{}}
	for _, c := range d.Partial {
		ee.partial[strings.Clone(c)] = true
	}
	for _, m := range d.Collateral {
		ee.collateral[strings.Clone(m)] = true
	}
	for _, c := range d.Conversations {
		c = strings.Clone(c) // the detail's strings may be views of the leaf
		ee.conversations[c] = true
		ee.convList = append(ee.convList, c)
	}
	for _, m := range d.Messages {
		m = strings.Clone(m)
		ee.messages[m] = true
		ee.msgList = append(ee.msgList, m)
	}
	for _, o := range d.Outputs {
		if h, err := hashchain.ParseHash(o.Manifest); err == nil && o.Kind == leaf.KindProduction {
			if ee.manifests == nil {
				ee.manifests = map[hashchain.Hash][]uint64{}
			}
			ee.manifests[h] = append(ee.manifests[h], o.Seq)
		}
	}
	i := len(x.entries)
	x.entries = append(x.entries, ee)
	for _, s := range d.Erased {
		if h, err := hashchain.ParseHash(s); err == nil && !slices.Contains(x.by[h], i) {
			x.by[h] = append(x.by[h], i)
		}
	}
}

// missingObject is an object absent from the store that no erasure entry
// excuses, and why an erasure entry listing it does not ("" when none
// lists it).
type missingObject struct {
	sum hashchain.Hash
	why string
}

// objectRef is an entry referencing an object, as the excuse needs it:
// one per entry and role.
type objectRef struct {
	seq                   uint64
	kind, conv, msg, role string
}

// split sorts the objects absent from the store into those an erasure
// entry excuses (counted) and the missing ones. vouched holds the
// erasure entries a validated signed checkpoint vouches for. An object
// that vouched erasure entries list is judged against the entries that
// reference it, read again from snap (only then: an erasure is rare, and
// the one pass keeps no owner of every object).
func (x *erasedObjects) split(ctx context.Context, snap *ledger.Snapshot, absent []hashchain.Hash, vouched map[uint64]bool) ([]missingObject, int, error) {
	var missing []missingObject
	pending := map[hashchain.Hash]bool{}
	for _, h := range absent {
		idx := x.by[h]
		if len(idx) == 0 {
			missing = append(missing, missingObject{sum: h})
			continue
		}
		if !slices.ContainsFunc(idx, func(i int) bool { return vouched[x.entries[i].seq] }) {
			seq := x.entries[idx[len(idx)-1]].seq
			missing = append(missing, missingObject{sum: h, why: fmt.Sprintf(
				"erasure entry %d lists it as erased, but no signed checkpoint vouches for that erasure (a checkpoint with the line \"erasure %d\"): anyone who can write the ledger file can append an erasure entry, and a routine checkpoint covers whatever was appended; if the erasure is genuine, the signer key's holder vouches for it with 'custody checkpoint --erasure %d'", seq, seq, seq)})
			continue
		}
		pending[h] = true
	}
	if len(pending) == 0 {
		return missing, 0, nil
	}
	refs, err := referencing(ctx, snap, pending)
	if err != nil {
		return nil, 0, err
	}
	erased := 0
	for _, h := range absent {
		if !pending[h] {
			continue
		}
		why := ""
		excused := false
		for _, i := range x.by[h] {
			ee := &x.entries[i]
			if !vouched[ee.seq] {
				continue
			}
			var before, after bool
			var later uint64
			for _, r := range refs[h] {
				switch {
				case r.seq < ee.seq && ee.erases(r, h):
					before = true
				case r.seq > ee.seq && !after:
					after, later = true, r.seq
				}
			}
			switch {
			case before && !after:
				excused = true
			case after:
				why = fmt.Sprintf("erasure entry %d lists it as erased, but entry %d, after it, references it", ee.seq, later)
			default:
				why = fmt.Sprintf("erasure entry %d lists it as erased, but no entry before it of a conversation or message it erases references it (nor a production whose manifest its outputs name)", ee.seq)
			}
			if excused {
				break
			}
		}
		if excused {
			erased++
			continue
		}
		missing = append(missing, missingObject{sum: h, why: why})
	}
	return missing, erased, nil
}

// referencing returns, for each object of want, the entries that
// reference it, in seq order: the entries whose leaves name it are
// decoded, the others only searched for a quoted 64-hex string of want.
func referencing(ctx context.Context, snap *ledger.Snapshot, want map[hashchain.Hash]bool) (map[hashchain.Hash][]objectRef, error) {
	hexes := make(map[string]bool, len(want))
	for h := range want {
		hexes[h.String()] = true
	}
	out := map[hashchain.Hash][]objectRef{}
	for row, err := range snap.Entries(ctx) {
		if errors.Is(err, ledger.ErrCorrupt) {
			break // the pass has reported it: what is unread excuses nothing
		}
		if err != nil {
			return nil, fmt.Errorf("evidence: erasures: %w", err)
		}
		if !quotesAny(row.Leaf, hexes) {
			continue
		}
		e, d, _, err := leaf.DecodeCheckedDetail(row.Leaf)
		if err != nil {
			continue // not an entry: the strict check's finding; its references were not taken either
		}
		var named []leaf.EvidenceRef
		if d != nil {
			named = append(named, leaf.EvidenceRef{Role: leaf.RoleResponse, SHA256: e.EvidenceSHA256.String()})
			named = append(named, d.EvidenceRefs()...)
		} else if rs, err := e.EvidenceRefs(); err == nil {
			named = rs
		}
		for _, n := range named {
			h, err := hashchain.ParseHash(n.SHA256)
			if err != nil || !want[h] {
				continue
			}
			rs := out[h]
			if slices.ContainsFunc(rs, func(r objectRef) bool { return r.seq == row.Seq && r.role == n.Role }) {
				continue
			}
			// The row's bytes are only valid until the next row.
			out[h] = append(rs, objectRef{seq: row.Seq, kind: strings.Clone(e.Kind), conv: strings.Clone(e.ConversationID),
				msg: strings.Clone(e.MessageID), role: strings.Clone(n.Role)})
		}
	}
	return out, nil
}

// quotesAny reports whether b holds a JSON string of exactly 64
// characters that is one of hexes.
func quotesAny(b []byte, hexes map[string]bool) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 || i+j+65 >= len(b) {
			return false
		}
		i += j
		if b[i+65] == '"' && hexes[string(b[i+1:i+65])] {
			return true
		}
	}
}

// fill records in the summary what was erased: the objects excused, and
// what the erasure entries a signed checkpoint vouches for name.
func (x *erasedObjects) fill(s *EvidenceSummary, n int, vouched map[uint64]bool) {
	s.Erased = n
	var convs, msgs []string
	for _, ee := range x.entries {
		if vouched[ee.seq] {
			s.ErasureEntries = append(s.ErasureEntries, ee.seq)
			convs = append(convs, ee.convList...)
			msgs = append(msgs, ee.msgList...)
		}
	}
	s.ErasedConversations = sortedUnique(convs)
	s.ErasedMessages = sortedUnique(msgs)
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
