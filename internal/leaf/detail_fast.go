package leaf

import (
	"encoding/json"
)

// appendMessageDetail appends json.Marshal(d) (MarshalJSON's bytes) without
// reflection or the compaction pass encoding/json runs over a Marshaler's
// output: EncodeDetail of a message's detail runs once a message in export
// and again in verify's re-derivation (issue 16). A string with a byte
// encoding/json would escape, and media, are written by encoding/json
// itself, so the bytes are its bytes; TestAppendMessageDetail and
// FuzzAppendMessageDetail hold the two together.
func appendMessageDetail(b []byte, d *MessageDetail) ([]byte, error) {
	v3 := d.OpeningEvidence != ""
	b = append(b, '{')
	if v3 {
		b = appendMember(b, `"content_sha256_commitment":`, d.ContentCommitment)
	} else {
		b = appendMember(b, `"content_sha256":`, d.ContentSHA256)
	}
	if d.DateDeleted != "" {
		b = appendMember(append(b, ','), `"date_deleted":`, d.DateDeleted)
	}
	if d.DateModified != "" {
		b = appendMember(append(b, ','), `"date_modified":`, d.DateModified)
	}
	b = appendMember(append(b, ','), `"direction":`, d.Direction)
	if v3 {
		b = appendMember(append(b, ','), `"from_commitment":`, d.FromCommitment)
	} else {
		b = appendMember(append(b, ','), `"from":`, d.From)
	}
	if len(d.Media) > 0 {
		m, err := json.Marshal(d.Media)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"media":`...), m...)
	}
	b = appendMember(append(b, ','), `"messenger_type":`, d.MessengerType)
	if v3 {
		b = appendMember(append(b, ','), `"opening_evidence_sha256":`, d.OpeningEvidence)
		b = appendMember(append(b, ','), `"provider_message_id_commitment":`, d.ProviderMessageIDCommitment)
		b = appendMember(append(b, ','), `"to_commitment":`, d.ToCommitment)
	} else {
		if d.ProviderMessageID != "" {
			b = appendMember(append(b, ','), `"provider_message_id":`, d.ProviderMessageID)
		}
		b = appendMember(append(b, ','), `"to":`, d.To)
	}
	return append(b, '}'), nil
}

// appendMember appends key (quoted, with its colon) and s as encoding/json
// writes a string.
func appendMember(b []byte, key, s string) []byte {
	b = append(b, key...)
	for i := 0; i < len(s); i++ {
		// What encoding/json writes as it is: printable ASCII but the
		// quote, the reverse solidus and the HTML characters it escapes.
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
