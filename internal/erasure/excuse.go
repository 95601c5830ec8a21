package erasure

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// Excuses are the erasure entries of a ledger as the one rule that says
// whether an evidence object absent from the store is erased, not missing
// (docs/ledger-format.md, "Erasure entries"). verify --evidence counts
// by it, and matter set-evidence asks it which objects a new store need
// not hold: the two must agree, or a matter verify finds whole could not
// be moved. An absent object is erased only when an erasure entry E
// excuses it:
//
//   - E lists it in erased, and a signed checkpoint vouches for E: its
//     "erasure <seq>" line names E (the caller says which entries are so
//     vouched for). An erasure entry is as easy to append as any entry,
//     and a routine checkpoint (every export signs one) covers whatever
//     was appended: only a checkpoint signed for the erasure (custody
//     erase, custody checkpoint --erasure) makes it the custodian's word;
//   - an entry before E of a conversation or message E erases references
//     it, or a response body of one E erases in part (a bulk response a
//     conversation entry of its partial conversations names, the response
//     of a message it lists as collateral), or it is the manifest of a
//     production entry before E that E's outputs name with it (an erasure
//     names what it deleted of what it erased, not any object), or a
//     findings object of a diff entry before E that E's diffs name with
//     it;
//   - no entry after E references it (a later entry's evidence must be
//     there).
//
// Anything else absent is missing. An erasure entry cannot make an
// altered object good. The zero Excuses excuses nothing.
type Excuses struct {
	entries []excuser
	by      map[hashchain.Hash][]int // the entries (indices) listing each object
}

// excuser is what the rule needs of one erasure entry.
type excuser struct {
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
	// findings are the diff findings objects E deleted (its diffs'
	// findings), each with the seq of the diff entry named.
	findings map[hashchain.Hash][]uint64
}

// erases reports whether E erases what the entry r references h from:
// a conversation entry of a conversation it erases whole, a message entry
// of one of its messages or conversations, or a production entry whose
// manifest h its outputs name as deleted, or a diff entry whose findings
// object h its diffs name as deleted. Or a response body that held an
// erased message beside others: a bulk-messages response a conversation
// entry of one of its partial conversations names, or the response a
// message entry of one of its collateral messages names.
func (x *excuser) erases(r Ref, h hashchain.Hash) bool {
	switch r.Kind {
	case leaf.KindConversation:
		return x.conversations[r.Conversation] || (r.Role == leaf.RoleBulk && x.partial[r.Conversation])
	case leaf.KindMessage:
		return x.messages[r.Message] || x.conversations[r.Conversation] || (r.Role == leaf.RoleResponse && x.collateral[r.Message])
	case leaf.KindProduction:
		return slices.Contains(x.manifests[h], r.Seq)
	case leaf.KindDiff:
		return r.Role == leaf.RoleFindings && slices.Contains(x.findings[h], r.Seq)
	}
	return false
}

// Add reads an erasure entry; other kinds are ignored, and so is a
// detail that does not decode (it erases nothing). Entries come in seq
// order.
func (x *Excuses) Add(e *leaf.Entry) {
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
	ee := excuser{seq: e.Seq, conversations: map[string]bool{}, messages: map[string]bool{},
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
	for _, df := range d.Diffs {
		for _, s := range df.Findings {
			if h, err := hashchain.ParseHash(s); err == nil {
				if ee.findings == nil {
					ee.findings = map[hashchain.Hash][]uint64{}
				}
				ee.findings[h] = append(ee.findings[h], df.Seq)
			}
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

// Missing is an object absent from the store that no erasure entry
// excuses, and why an erasure entry listing it does not ("" when none
// lists it).
type Missing struct {
	Sum hashchain.Hash
	Why string
}

// Ref is an entry referencing an object, as the rule needs it: one per
// entry and role.
type Ref struct {
	Seq                               uint64
	Kind, Conversation, Message, Role string
}

// Split sorts the objects absent from the store into those an erasure
// entry excuses (counted) and the missing ones.
// vouched holds the erasure entries a signed checkpoint vouches for. An
// object that vouched erasure entries list is judged against the entries
// that reference it, which refs returns for the objects of want (only
// then: an erasure is rare, and a pass over the ledger keeps no owner of
// every object; a References fed every entry gives them).
func (x *Excuses) Split(absent []hashchain.Hash, vouched map[uint64]bool, refs func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error)) ([]Missing, int, error) {
	missing, excused, err := x.Judge(absent, vouched, refs)
	return missing, len(excused), err
}

// Excused is an absent object an erasure entry excuses, and the seq of
// the first entry (in seq order) that does.
type Excused struct {
	Sum hashchain.Hash
	By  uint64
}

// Judge is Split, naming the erasure entry that excuses each object it
// excuses: for a reader that says "erased by erasure entry N" (the
// report, of a diff's findings), so that it says so exactly when verify
// counts the object erased.
func (x *Excuses) Judge(absent []hashchain.Hash, vouched map[uint64]bool, refs func(want map[hashchain.Hash]bool) (map[hashchain.Hash][]Ref, error)) ([]Missing, []Excused, error) {
	missing, unread := x.WithoutEntries(absent, vouched)
	if len(unread) == 0 {
		return missing, nil, nil
	}
	pending := make(map[hashchain.Hash]bool, len(unread))
	for _, h := range unread {
		pending[h] = true
	}
	by, err := refs(pending)
	if err != nil {
		return nil, nil, err
	}
	var erased []Excused
	for _, h := range absent {
		if !pending[h] {
			continue
		}
		why := ""
		excused := false
		var excuser uint64
		for _, i := range x.by[h] {
			ee := &x.entries[i]
			if !vouched[ee.seq] {
				continue
			}
			var before, after bool
			var later uint64
			for _, r := range by[h] {
				switch {
				case r.Seq < ee.seq && ee.erases(r, h):
					before = true
				case r.Seq > ee.seq && !after:
					after, later = true, r.Seq
				}
			}
			switch {
			case before && !after:
				excused, excuser = true, ee.seq
			case after:
				why = fmt.Sprintf("erasure entry %d lists it as erased, but entry %d, after it, references it", ee.seq, later)
			default:
				why = fmt.Sprintf("erasure entry %d lists it as erased, but no entry before it of a conversation or message it erases references it (nor a production whose manifest its outputs name, nor a diff whose findings its diffs name)", ee.seq)
			}
			if excused {
				break
			}
		}
		if excused {
			erased = append(erased, Excused{Sum: h, By: excuser})
			continue
		}
		missing = append(missing, Missing{Sum: h, Why: why})
	}
	return missing, erased, nil
}

// WithoutEntries is the part of Judge that reads no entry: the absent
// objects no erasure entry excuses whatever references them (missing,
// with why when an erasure no checkpoint vouches for lists them), and
// pending, in absent's order, those a vouched erasure entry lists, which
// only the entries that reference them can judge (verify says they are
// not judged when the ledger cannot be read again for them).
func (x *Excuses) WithoutEntries(absent []hashchain.Hash, vouched map[uint64]bool) (missing []Missing, pending []hashchain.Hash) {
	for _, h := range absent {
		idx := x.by[h]
		if len(idx) == 0 {
			missing = append(missing, Missing{Sum: h})
			continue
		}
		if !slices.ContainsFunc(idx, func(i int) bool { return vouched[x.entries[i].seq] }) {
			seq := x.entries[idx[len(idx)-1]].seq
			missing = append(missing, Missing{Sum: h, Why: fmt.Sprintf(
				"erasure entry %d lists it as erased, but no signed checkpoint vouches for that erasure (a checkpoint with the line \"erasure %d\"): anyone who can write the ledger file can append an erasure entry, and a routine checkpoint covers whatever was appended; if the erasure is genuine, the signer key's holder vouches for it with 'custody checkpoint --erasure %d'", seq, seq, seq)})
			continue
		}
		pending = append(pending, h)
	}
	return missing, pending
}

// Vouched returns what the erasure entries vouched holds say: their
// seqs, and the conversations and messages they erase, sorted.
func (x *Excuses) Vouched(vouched map[uint64]bool) (seqs []uint64, conversations, messages []string) {
	for _, ee := range x.entries {
		if vouched[ee.seq] {
			seqs = append(seqs, ee.seq)
			conversations = append(conversations, ee.convList...)
			messages = append(messages, ee.msgList...)
		}
	}
	return seqs, sortedUnique(conversations), sortedUnique(messages)
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// References gathers, from the entries it is handed in seq order, the
// entries that reference each object of a set: Split's refs. The leaves
// that name an object are decoded; the others only searched for a quoted
// 64-hex string of the set.
type References struct {
	want  map[hashchain.Hash]bool
	hexes map[string]bool
	out   map[hashchain.Hash][]Ref
}

// NewReferences returns a References of the objects of want.
func NewReferences(want map[hashchain.Hash]bool) *References {
	hexes := make(map[string]bool, len(want))
	for h := range want {
		hexes[h.String()] = true
	}
	return &References{want: want, hexes: hexes, out: map[hashchain.Hash][]Ref{}}
}

// Add reads the stored leaf b of the entry at seq. A leaf that does not
// decode references nothing (its references were not taken either).
func (r *References) Add(seq uint64, b []byte) {
	if !quotesAny(b, r.hexes) {
		return
	}
	e, d, _, err := leaf.DecodeCheckedDetail(b)
	if err != nil {
		return
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
		if err != nil || !r.want[h] {
			continue
		}
		rs := r.out[h]
		if slices.ContainsFunc(rs, func(x Ref) bool { return x.Seq == seq && x.Role == n.Role }) {
			continue
		}
		// b is only valid until the caller's next row.
		r.out[h] = append(rs, Ref{Seq: seq, Kind: strings.Clone(e.Kind), Conversation: strings.Clone(e.ConversationID),
			Message: strings.Clone(e.MessageID), Role: strings.Clone(n.Role)})
	}
}

// Refs returns what Add gathered: the references of each object, in seq
// order.
func (r *References) Refs() map[hashchain.Hash][]Ref { return r.out }

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
