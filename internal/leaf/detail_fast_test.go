package leaf

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// messageDetailFields is how many fields MessageDetail has: a field added
// must be written by appendMessageDetail too (this test then fails until
// it is, and the cases below get it).
const messageDetailFields = 14

func TestAppendMessageDetailFields(t *testing.T) {
	if n := reflect.TypeFor[MessageDetail]().NumField(); n != messageDetailFields {
		t.Fatalf("MessageDetail has %d fields, appendMessageDetail knows %d: teach it the new one", n, messageDetailFields)
	}
}

func checkAppendMessageDetail(t *testing.T, d *MessageDetail) {
	t.Helper()
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodeDetail(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeDetail(%+v)\n got %s\nwant %s", d, got, want)
	}
}

func TestAppendMessageDetail(t *testing.T) {
	h := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, d := range []*MessageDetail{
		{},
		{ContentSHA256: h, Direction: "inbound", From: "+15550100", MessengerType: "whatsapp", To: "+15550199"},
		{ContentSHA256: h, DateDeleted: "2026-01-02T03:04:05.678Z", DateModified: "x", Direction: "outbound", From: "a<b>&c",
			ProviderMessageID: "wamid.\u2028\"\\\x01é", To: "\xff"},
		{ContentSHA256: h, Media: []MediaRef{{Evidence: h, ID: "m1", SHA256: h}, {ID: "m2", Status: MediaExpired, Reason: "<gone>"}}},
		{ContentSHA256: h, Media: []MediaRef{}},
		{ContentCommitment: h, FromCommitment: h, ToCommitment: h, ProviderMessageIDCommitment: h, OpeningEvidence: h,
			Direction: "inbound", MessengerType: "whatsapp", DateModified: "2026"},
		// v3 with stray personal fields: MarshalJSON leaves them out.
		{ContentCommitment: h, OpeningEvidence: h, ContentSHA256: h, From: "f", To: "t", ProviderMessageID: "p",
			Media: []MediaRef{{ID: "m"}}},
	} {
		checkAppendMessageDetail(t, d)
	}
}

// FuzzAppendMessageDetail holds appendMessageDetail to json.Marshal (through
// MarshalJSON), the definition.
func FuzzAppendMessageDetail(f *testing.F) {
	f.Add("h", "", "", "inbound", "+1555", "whatsapp", "wamid", "+1666", "", "", false)
	f.Add("h", "d", "m", "<>&", "\u2028", "\xff", "\"", "\\", "c", "o", true)
	f.Fuzz(func(t *testing.T, content, deleted, modified, direction, from, messenger, provider, to, commit, opening string, media bool) {
		d := &MessageDetail{ContentSHA256: content, DateDeleted: deleted, DateModified: modified, Direction: direction, From: from,
			MessengerType: messenger, ProviderMessageID: provider, To: to, ContentCommitment: commit, FromCommitment: commit + "f",
			ToCommitment: to + commit, ProviderMessageIDCommitment: provider + commit, OpeningEvidence: opening}
		if media {
			d.Media = []MediaRef{{ID: from, Evidence: to, SHA256: content, Status: deleted}}
		}
		checkAppendMessageDetail(t, d)
	})
}
