package fetch

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
)

// TestConversationRecordings: the request asks for no transcoding; a 202
// (not ready yet, often with no body) is ErrNotReady rather than a
// malformed body or an empty list; a 200 is decoded.
func TestConversationRecordings(t *testing.T) {
	var calls atomic.Int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/conversations/c-1/recordings" || r.URL.Query().Get("formatId") != "NONE" || r.URL.Query().Get("maxWaitMs") == "" {
			t.Errorf("request %s", r.URL)
		}
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		_, _ = w.Write([]byte(`[{"id":"r-1","conversationId":"c-1","media":"message","messagingTranscript":[{"id":"m-1","messageMediaAttachments":[{"id":"a-1","url":"https://media.example/a-1?sig=x"}]}]}]`))
	})
	c := f.client(newFakeClock())
	ctx := context.Background()
	if _, _, err := c.ConversationRecordings(ctx, "c-1"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("202: err %v, want ErrNotReady", err)
	}
	recs, resp, err := c.ConversationRecordings(ctx, "c-1")
	if err != nil || resp.Route != RouteConversationRecordings {
		t.Fatalf("200: %v (route %v)", err, resp)
	}
	if len(recs) != 1 || len(recs[0].MessagingTranscript) != 1 || recs[0].MessagingTranscript[0].MessageMediaAttachments[0].URL != "https://media.example/a-1?sig=x" {
		t.Fatalf("recordings %+v", recs)
	}
}
