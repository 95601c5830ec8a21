package derive

import (
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// TestMessageMediaStatus: a message entry built with attachments recorded
// as not stored for good (expired, refused, mismatched) round-trips
// through its detail, and one with only downloaded attachments keeps the
// bytes it had before status, reason and stated_sha256 existed.
func TestMessageMediaStatus(t *testing.T) {
	md := &genesys.MessageData{ID: "m1", Timestamp: "2024-03-01T20:07:38.363Z", NormalizedMessage: &genesys.NormalizedMessage{
		Content: []genesys.MessageContent{
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a1", URL: "https://media/a1"}},
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a2", URL: "https://media/a2"}},
			{ContentType: "Attachment", Attachment: &genesys.ContentAttachment{ID: "a3", URL: "https://media/a3"}},
		},
	}}
	sum := strings.Repeat("ab", 32)
	media := []leaf.MediaRef{
		{ID: "a1", SHA256: sum, Evidence: sum},
		{ID: "a2", Status: leaf.MediaExpired, Reason: "403 Forbidden: AccessDenied: Request has expired"},
		{ID: "a3", SHA256: sum, Evidence: sum, Status: leaf.MediaSHA256Mismatch, StatedSHA256: strings.Repeat("cd", 32), Reason: "the downloaded bytes do not have the sha256 the API states"},
	}
	e, err := Message("c1", md, [32]byte{}, false, nil, media, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*leaf.MessageDetail).Media; !reflect.DeepEqual(got, media) {
		t.Fatalf("media round-trip:\n got %+v\nwant %+v", got, media)
	}
	// Evidence named: the two downloads, not the expired one.
	refs := d.EvidenceRefs()
	if len(refs) != 2 {
		t.Fatalf("evidence refs %+v, want the 2 downloaded attachments", refs)
	}
	if ids := Attachments(md); !reflect.DeepEqual(ids, []string{"a1", "a2", "a3"}) {
		t.Fatalf("attachments %v", ids)
	}

	// Without the new members the detail is what it always was.
	old, err := Message("c1", md, [32]byte{}, false, nil, media[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `"media":[{"evidence_sha256":"` + sum + `","id":"a1","sha256":"` + sum + `"}]`
	if !strings.Contains(string(old.Detail), want) {
		t.Fatalf("detail %s lacks the old form %s", old.Detail, want)
	}
}
