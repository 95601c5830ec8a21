package report

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// KindPending is section 7's kind for a conversation a run listed and
// left pending when it stopped (a failed or cancelled run, a daily
// limit, a run killed), captured by no later run.
const KindPending = "pending"

// badRefs finds, in the pass over the ledger, what depends on each
// evidence object verification found altered or missing: a message's
// latest capture (its response body, its opening, its attachments), a
// conversation's latest entry (its conversation object, hold answer,
// bulk responses, audit pages), or, for an object no such record names,
// the first entry that names it. It keeps a few words per record that
// names such an object, nothing when there is none (bad is empty).
type badRefs struct {
	bad   map[hashchain.Hash]badObject
	first map[hashchain.Hash]objRef // the first entry naming each
	msgs  map[string]*msgRefs       // by gapKey: the message's latest capture
	convs map[string][]objRef       // by conversation: its latest entry's
}

// objRef is one reference to a bad object: the entry and its role.
type objRef struct {
	sum       hashchain.Hash
	role      string
	kind      string
	seq       uint64
	leafHash  hashchain.Hash
	conv, msg string
}

// msgRefs are the bad objects a message's latest capture names.
type msgRefs struct {
	conv  string
	body  hashchain.Hash // its response body, when bad (the transcripts list it)
	rows  []Exception    // its opening and attachments
	shown bool           // the transcripts show it
}

func newBadRefs(bad map[hashchain.Hash]badObject) *badRefs {
	return &badRefs{bad: bad, first: map[hashchain.Hash]objRef{}, msgs: map[string]*msgRefs{}, convs: map[string][]objRef{}}
}

// entry notes e's references to bad objects.
func (b *badRefs) entry(e *leaf.Entry, show func(conv string, at time.Time) bool) {
	if len(b.bad) == 0 {
		return
	}
	refs, _ := e.EvidenceRefs() // a detail that does not decode is verification's finding
	var hits []objRef
	for _, r := range refs {
		h, err := hashchain.ParseHash(r.SHA256)
		if err != nil {
			continue
		}
		if _, ok := b.bad[h]; !ok {
			continue
		}
		ref := objRef{sum: h, role: r.Role, kind: e.Kind, seq: e.Seq, leafHash: e.LeafHash, conv: e.ConversationID, msg: e.MessageID}
		if _, ok := b.first[h]; !ok {
			b.first[h] = ref
		}
		hits = append(hits, ref)
	}
	switch e.Kind {
	case leaf.KindMessage:
		// Each capture of a message replaces the one before: the latest
		// is the record the report shows.
		k := gapKey(e.ConversationID, e.MessageID)
		if len(hits) == 0 {
			delete(b.msgs, k)
			return
		}
		var at time.Time
		if e.Compliance != nil {
			at, _, _ = genesys.ParseTimestamp(e.Compliance.OriginalTimestamp)
		}
		m := &msgRefs{conv: e.ConversationID, shown: show == nil || show(e.ConversationID, at)}
		mediaID := map[string]string{}
		if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
			for _, r := range d.(*leaf.MessageDetail).Media {
				mediaID[r.Evidence] = r.ID
			}
		}
		for _, r := range hits {
			var what string
			switch r.role {
			case leaf.RoleResponse:
				m.body = r.sum
				continue
			case leaf.RoleOpening:
				what = "its opening (the salt and personal fields its leaf's commitments open to: its sender, recipient and text cannot be checked against the leaf)"
			case leaf.RoleMedia:
				what = fmt.Sprintf("attachment %s (its transcript shows it %s, not downloaded)", mediaID[r.sum.String()], b.bad[r.sum].kind())
			default:
				what = "an object of role " + r.role
			}
			m.rows = append(m.rows, Exception{Kind: b.bad[r.sum].kind(), ConversationID: e.ConversationID, MessageID: e.MessageID,
				Reason: fmt.Sprintf("%s, named by the message entry at seq %d (leaf hash %s, payload_sha256 %s): %s", what, e.Seq, e.LeafHash, e.PayloadSHA256, b.bad[r.sum].says(r.sum)),
				Ledger: &ExceptionLedger{Seq: e.Seq, LeafHash: e.LeafHash.String(), PayloadSHA256: e.PayloadSHA256.String(), EvidenceSHA256: r.sum.String()}})
		}
		b.msgs[k] = m
	case leaf.KindConversation:
		if len(hits) == 0 {
			delete(b.convs, e.ConversationID)
			return
		}
		b.convs[e.ConversationID] = hits
	}
}

// rows are section 7's rows for the bad objects: a message's opening and
// attachments (when the transcripts show the message), a conversation's
// hold answer, audit pages and bulk responses none of its messages'
// latest captures names (when the transcripts show the conversation),
// and each object no record names, with the first entry naming it. A
// message's response body and a conversation object are the
// transcripts' to list (evidenceExceptions), as they read them.
func (b *badRefs) rows(convs map[string]*convState, show func(string, time.Time) bool) []Exception {
	if len(b.bad) == 0 {
		return nil
	}
	named := map[hashchain.Hash]bool{}
	bodies := map[string]map[hashchain.Hash]bool{} // by conversation: bad bodies its messages name
	var out []Exception
	for _, m := range b.msgs {
		if !m.body.IsZero() {
			named[m.body] = true
			if bodies[m.conv] == nil {
				bodies[m.conv] = map[hashchain.Hash]bool{}
			}
			bodies[m.conv][m.body] = true
		}
		for _, r := range m.rows {
			h, _ := hashchain.ParseHash(r.Ledger.EvidenceSHA256)
			named[h] = true
			if m.shown {
				out = append(out, r)
			}
		}
	}
	for id, refs := range b.convs {
		c := convs[id]
		shown := c != nil && (show == nil || c.shown > 0)
		for _, r := range refs {
			named[r.sum] = true
			var what string
			switch r.role {
			case leaf.RoleResponse:
				continue // the conversation object: the transcripts read it
			case leaf.RoleHold:
				what = "its deletion-protection (legal hold) answer (the legal hold the entry records cannot be checked against it)"
			case leaf.RoleAudit:
				what = "an audit-trail page (the audit references the entry records cannot be checked against it)"
			case leaf.RoleBulk:
				if bodies[id][r.sum] {
					continue // listed with each message read from it
				}
				what = "a bulk-messages response none of its messages' latest captures names"
			default:
				what = "an object of role " + r.role
			}
			if shown {
				out = append(out, Exception{Kind: b.bad[r.sum].kind(), ConversationID: id,
					Reason: fmt.Sprintf("%s, named by the conversation entry at seq %d (leaf hash %s): %s", what, r.seq, r.leafHash, b.bad[r.sum].says(r.sum)),
					Ledger: &ExceptionLedger{Seq: r.seq, LeafHash: r.leafHash.String(), EvidenceSHA256: r.sum.String()}})
			}
		}
	}
	for _, h := range slices.SortedFunc(maps.Keys(b.first), func(a, c hashchain.Hash) int { return slices.Compare(a[:], c[:]) }) {
		if named[h] {
			continue
		}
		r := b.first[h]
		out = append(out, Exception{Kind: b.bad[h].kind(), ConversationID: r.conv, MessageID: r.msg,
			Reason: fmt.Sprintf("named (as its %s) by the %s entry at seq %d (leaf hash %s), and by no record this report shows (a superseded capture, a diff's findings, …): %s", r.role, r.kind, r.seq, r.leafHash, b.bad[h].says(h)),
			Ledger: &ExceptionLedger{Seq: r.seq, LeafHash: r.leafHash.String(), EvidenceSHA256: h.String()}})
	}
	return out
}
