package export

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
)

// TestCopiesClaimedByID: a copy the conversation's recording names by
// the ids of one of the conversation's messages is that message's
// attachment's, and no other attachment takes it by file name, size and
// type. Here message A's photo is missing from the recording and message
// B sent a photo of the same name and size, whose copy the recording
// names by B's ids: A gets no copy (it is recorded as having none), B
// gets its own; a copy the recording names with ids of its own is still
// matched by name. Before (review-commits2 L4), A took B's copy, and
// with no sha256 stated it was recorded as A's, bytes of another photo.
func TestCopiesClaimedByID(t *testing.T) {
	const conv = "c0a80a01-0000-4000-8000-000000000001"
	const msgA, msgB, msgC = "m-a", "m-b", "m-c"
	photo := func(id string) *genesys.ContentAttachment {
		return &genesys.ContentAttachment{ID: id, Filename: "IMG_0001.jpg", ContentSizeBytes: 100, Mime: "image/jpeg"}
	}
	doc := &genesys.ContentAttachment{ID: "att-c", Filename: "contract.pdf", ContentSizeBytes: 300, Mime: "application/pdf"}
	msg := func(id string, a *genesys.ContentAttachment) captured {
		return captured{id: id, data: genesys.MessageData{ID: id, NormalizedMessage: &genesys.NormalizedMessage{
			Content: []genesys.MessageContent{{ContentType: "Attachment", Attachment: a}}}}}
	}
	msgs := []captured{msg(msgA, photo("att-a")), msg(msgB, photo("att-b")), msg(msgC, doc)}

	recs := []genesys.Recording{{ID: "r1", ConversationID: conv, MessagingTranscript: []genesys.RecordingMessagingMessage{
		{ID: msgB, MessageMediaAttachments: []genesys.MessageMediaAttachment{{ID: "att-b", URL: "https://media.example/b", MediaType: "image/jpeg", ContentLength: 100, Name: "IMG_0001.jpg"}}},
		{ID: "own-1", MessageMediaAttachments: []genesys.MessageMediaAttachment{{ID: "own-att", URL: "https://media.example/c", ContentLength: 300, Name: "contract.pdf"}}},
	}}}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(recs)
	}))
	defer api.Close()
	c, err := fetch.New(fetch.Config{AccessToken: "token", APIURL: api.URL, LoginURL: api.URL, Rate: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{d: Deps{Client: c}, o: Options{Log: slog.New(slog.DiscardHandler)}}
	rec := recordingCopies{claimed: claimedBy(msgs)}
	for _, tc := range []struct {
		msg    string
		a      *genesys.ContentAttachment
		want   []string
		byName bool
	}{
		{msgA, photo("att-a"), nil, false},
		{msgB, photo("att-b"), []string{"https://media.example/b"}, false},
		{msgC, doc, []string{"https://media.example/c"}, true},
	} {
		urls, byName, err := rec.copies(context.Background(), r, conv, tc.msg, tc.a)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(urls, tc.want) || byName != tc.byName {
			t.Errorf("message %s, attachment %s: copies %q (by name %v), want %q (by name %v)", tc.msg, tc.a.ID, urls, byName, tc.want, tc.byName)
		}
	}
}
