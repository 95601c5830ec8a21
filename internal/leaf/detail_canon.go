package leaf

import (
	"bytes"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// The strict reader checks that a leaf's detail is in RFC 8785 form
// (canonValue), and the strict check of a message then decodes that
// detail (decodeFast for v3, clearDetailPlain for v1): two passes over
// the same bytes, on every message of a verify. canonMessageDetail does
// both in one for the detail exports write, an object whose members are
// all strings without escapes; for anything else it answers "not sure"
// and the two passes decide. FuzzCanonMessageDetail holds it to them.

// strictDetail is what the strict reader learnt of a detail in its one
// pass (canonMessageDetail), for the strict check of the entry.
type strictDetail struct {
	// ok: md is what decodeFast(detail, true) gives (views of the
	// leaf), and plain is clearDetailPlain(detail).
	ok    bool
	plain bool
	md    MessageDetail
}

// canonMessageDetail reads the object at b[i] when every member's value is
// a string without escapes. When ok, the object is in RFC 8785 form, as
// canonValue(b, i, 0) checks, and ends at end; d holds what
// d.decodeFast(b[i:end], true) decodes (its strings views of b) from the
// zero detail; and plain is what clearDetailPlain(b[i:end]) says. ok false,
// with d maybe partly set, means only "not sure".
func canonMessageDetail(b []byte, i int, d *MessageDetail) (end int, plain, ok bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false, false
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true, true
	}
	plain = true
	var prev []byte
	for {
		// The key, as canonValue reads one: no escapes, after the one
		// before it in byte order (which is RFC 8785's UTF-16 order
		// below U+10000), no character beyond U+FFFF.
		kend, esc, err := jsonscan.String(b, i)
		if err != nil || esc {
			return i, false, false
		}
		key := b[i+1 : kend-1]
		if prev != nil && bytes.Compare(prev, key) >= 0 || beyondBMP(key) {
			return i, false, false
		}
		prev = key
		if kend >= len(b) || b[kend] != ':' {
			return i, false, false
		}
		// The value: a string without escapes, else not sure.
		v := kend + 1
		vend, esc, err := jsonscan.String(b, v)
		if err != nil || esc {
			return i, false, false
		}
		if f := d.stringField(key); f != nil {
			*f = view(b[v+1 : vend-1])
		} else if string(key) == "media" {
			return i, false, false // decodeFast declines media
		}
		if v3Member(key) {
			plain = false
		}
		if i = vend; i >= len(b) {
			return i, false, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, plain, true
		default:
			return i, false, false
		}
	}
}

// stringField is the field of d that member key of a message detail
// sets (decodeFast, canonMessageDetail), nil for any other key.
func (d *MessageDetail) stringField(key []byte) *string {
	switch string(key) {
	case "content_sha256":
		return &d.ContentSHA256
	case "content_sha256_commitment":
		return &d.ContentCommitment
	case "date_deleted":
		return &d.DateDeleted
	case "date_modified":
		return &d.DateModified
	case "direction":
		return &d.Direction
	case "from":
		return &d.From
	case "from_commitment":
		return &d.FromCommitment
	case "messenger_type":
		return &d.MessengerType
	case "opening_evidence_sha256":
		return &d.OpeningEvidence
	case "provider_message_id":
		return &d.ProviderMessageID
	case "provider_message_id_commitment":
		return &d.ProviderMessageIDCommitment
	case "to":
		return &d.To
	case "to_commitment":
		return &d.ToCommitment
	}
	return nil
}
