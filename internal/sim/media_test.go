package sim_test

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/sim"
)

// TestMediaPresigned: attachment urls are pre-signed for the media host,
// serve bytes matching attachment.sha256 while valid, and are refused when
// expired, tampered with, unsigned, or sent with an Authorization header
// (a client leaking its bearer token to another host).
func TestMediaPresigned(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	s, c := start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 11, Conversations: 60, Start: now.Add(-20 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)},
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         clk.Now,
	})
	var a genesys.ContentAttachment
	var msgTime time.Time
	for i := range s.Org.Len() {
		cd := s.Org.ConversationAt(i)
		if len(cd.Attachments) == 0 {
			continue
		}
		at := cd.Attachments[0]
		m := decode[genesys.MessageData](t, c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+at.MessageID, nil))
		for _, ct := range m.NormalizedMessage.Content {
			if ct.Attachment != nil {
				a = *ct.Attachment
				msgTime, _ = time.Parse(time.RFC3339Nano, m.Timestamp)
			}
		}
		break
	}
	if a.URL == "" {
		t.Fatal("no attachment served")
	}
	if !strings.HasPrefix(a.URL, s.MediaURL+"/sim/media/"+a.ID+"?") || !strings.Contains(a.URL, sim.MediaExpiresParam+"=") || !strings.Contains(a.URL, sim.MediaSignatureParam+"=") {
		t.Fatalf("attachment url %q is not pre-signed on %s", a.URL, s.MediaURL)
	}
	if want := msgTime.Add(sim.DefaultMediaURLTTL).Unix(); !strings.Contains(a.URL, sim.MediaExpiresParam+"="+itoa(want)) {
		t.Fatalf("attachment url %q does not expire 30 days after the message (%d)", a.URL, want)
	}
	get := func(u, auth string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := get(a.URL, "")
	sum := sha256.Sum256(b)
	if code != 200 || hex.EncodeToString(sum[:]) != a.Sha256 || len(b) != a.ContentSizeBytes {
		t.Fatalf("valid url: %d, %d bytes, sha256 match %v", code, len(b), hex.EncodeToString(sum[:]) == a.Sha256)
	}
	if code, b := get(a.URL, "Bearer "+c.tok); code != 400 || !strings.Contains(string(b), "<Code>InvalidArgument</Code>") {
		t.Fatalf("with Authorization: %d %s, want 400 InvalidArgument", code, b)
	}
	bad := a.URL[:len(a.URL)-1] + map[bool]string{true: "0", false: "1"}[!strings.HasSuffix(a.URL, "0")]
	if code, b := get(bad, ""); code != 403 || !strings.Contains(string(b), "SignatureDoesNotMatch") {
		t.Fatalf("tampered signature: %d %s", code, b)
	}
	if code, _ := get(s.MediaURL+"/sim/media/"+a.ID, ""); code != 403 {
		t.Fatalf("unsigned url: %d, want 403", code)
	}
	// Moving the expiry needs a new signature.
	longer := strings.Replace(a.URL, sim.MediaExpiresParam+"=", sim.MediaExpiresParam+"=9", 1)
	if code, _ := get(longer, ""); code != 403 {
		t.Fatalf("extended expiry: %d, want 403", code)
	}
	clk.Advance(60 * 24 * time.Hour)
	if code, b := get(a.URL, ""); code != 403 || !strings.Contains(string(b), "Request has expired") {
		t.Fatalf("expired url: %d %s", code, b)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestMediaURLLife: with MediaURLLife an attachment url also lapses that
// long after it is served — well within the 30 days the message's
// attachments are served for — and the message read again carries a
// fresh url that works.
func TestMediaURLLife(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	s, c := start(t, sim.Options{
		OrgConfig:    sim.OrgConfig{Seed: 11, Conversations: 60, Start: now.Add(-20 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)},
		MediaURLTTL:  sim.DefaultMediaURLTTL,
		MediaURLLife: 10 * time.Minute,
		Now:          clk.Now,
	})
	cd := withAttachment(t, s.Org)
	at := cd.Attachments[0]
	read := func() string {
		t.Helper()
		m := decode[genesys.MessageData](t, c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+at.MessageID, nil))
		for _, ct := range m.NormalizedMessage.Content {
			if a := ct.Attachment; a != nil && a.ID == at.ID {
				return a.URL
			}
		}
		t.Fatalf("attachment %s not served", at.ID)
		return ""
	}
	status := func(u string) int {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	first := read()
	if want := now.Add(10 * time.Minute).Unix(); !strings.Contains(first, sim.MediaExpiresParam+"="+itoa(want)) {
		t.Fatalf("url %q does not end 10 minutes after it was served (%d)", first, want)
	}
	if code := status(first); code != 200 {
		t.Fatalf("fresh url: %d", code)
	}
	clk.Advance(11 * time.Minute)
	if code := status(first); code != 403 {
		t.Fatalf("url 11 minutes old: %d, want 403 expired", code)
	}
	again := read()
	if again == first {
		t.Fatal("the message read again carries the same url")
	}
	if code := status(again); code != 200 {
		t.Fatalf("the fresh url: %d, want 200", code)
	}
}

// TestConversationRecordingsKeepAttachments: past the 30 days in which
// the messages API serves a message's attachments, the conversation's
// recording (GET /api/v2/conversations/{id}/recordings) names the same
// attachments with urls valid for an hour from the request, which serve
// the bytes the message's sha256 states.
func TestConversationRecordingsKeepAttachments(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	s, c := start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 11, Conversations: 60, Start: now.Add(-60 * 24 * time.Hour), End: now.Add(-45 * 24 * time.Hour)},
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         clk.Now,
	})
	cd := withAttachment(t, s.Org)
	at := cd.Attachments[0]
	m := decode[genesys.MessageData](t, c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+at.MessageID, nil))
	var stated genesys.ContentAttachment
	for _, ct := range m.NormalizedMessage.Content {
		if a := ct.Attachment; a != nil && a.ID == at.ID {
			stated = *a
		}
	}
	get := func(u string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := get(stated.URL); code != 403 {
		t.Fatalf("the messages API's url, 45 days on: %d, want 403 expired", code)
	}
	recs := decode[[]genesys.Recording](t, c.must(200, "GET", "/api/v2/conversations/"+cd.ID+"/recordings?maxWaitMs=5000&formatId=NONE", nil))
	if len(recs) != 1 || recs[0].ConversationID != cd.ID || len(recs[0].MessagingTranscript) != len(cd.Messages) {
		t.Fatalf("recordings %+v: want one with the conversation's %d messages", recs, len(cd.Messages))
	}
	var u string
	for _, rm := range recs[0].MessagingTranscript {
		for _, a := range rm.MessageMediaAttachments {
			if a.ID == at.ID && rm.ID == at.MessageID {
				u = a.URL
			}
		}
	}
	if want := now.Add(genesys.RecordingURLLife).Unix(); !strings.Contains(u, sim.MediaExpiresParam+"="+itoa(want)) {
		t.Fatalf("recording url %q does not end an hour after the request", u)
	}
	code, b := get(u)
	sum := sha256.Sum256(b)
	if code != 200 || hex.EncodeToString(sum[:]) != stated.Sha256 {
		t.Fatalf("recording url: %d, sha256 match %v", code, hex.EncodeToString(sum[:]) == stated.Sha256)
	}
	clk.Advance(61 * time.Minute)
	if code, _ := get(u); code != 403 {
		t.Fatalf("recording url 61 minutes on: %d, want 403", code)
	}
	c.must(404, "GET", "/api/v2/conversations/00000000-0000-4000-8000-000000000000/recordings", nil)
}

// withAttachment returns the first conversation of org with an attachment.
func withAttachment(t *testing.T, org *sim.Org) *sim.ConvData {
	t.Helper()
	for i := range org.Len() {
		if cd := org.ConversationAt(i); len(cd.Attachments) > 0 {
			return cd
		}
	}
	t.Fatal("no attachment in the org")
	return nil
}

// TestConversationRecordingsStickersApart: a recording's transcript keeps
// a message's stickers in messageStickerAttachments (model
// Messagestickerattachment: id and url), beside its other attachments in
// messageMediaAttachments, as model Recordingmessagingmessage has them;
// every content attachment of the conversation is in one list or the
// other, with a url.
func TestConversationRecordingsStickersApart(t *testing.T) {
	s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 200}})
	stickers := 0
	for i := range s.Org.Len() {
		cd := s.Org.ConversationAt(i)
		want := map[[2]string]bool{} // {message, attachment} → a sticker
		for _, a := range cd.Attachments {
			if !a.TemplateHeader {
				want[[2]string{a.MessageID, a.ID}] = a.Sticker
			}
		}
		if !slices.Contains(slices.Collect(maps.Values(want)), true) {
			continue
		}
		recs := decode[[]genesys.Recording](t, c.must(200, "GET", "/api/v2/conversations/"+cd.ID+"/recordings", nil))
		got := map[[2]string]bool{}
		for _, rm := range recs[0].MessagingTranscript {
			for _, a := range rm.MessageMediaAttachments {
				got[[2]string{rm.ID, a.ID}] = a.URL == "" // a url-less one is wrong either way
			}
			for _, a := range rm.MessageStickerAttachments {
				got[[2]string{rm.ID, a.ID}] = a.URL != ""
				stickers++
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("conversation %s: attachments (true: a sticker) %v, want %v", cd.ID, got, want)
		}
	}
	if stickers == 0 {
		t.Fatal("no sticker in the org")
	}
}

// TestMediaExpiredAnswer: the media listener refuses an expired url as
// Options.MediaExpiredAnswer says, S3's and CloudFront's answers among
// them, and Start refuses an answer it does not know.
func TestMediaExpiredAnswer(t *testing.T) {
	for _, tc := range []struct {
		answer string
		status int
		body   string // "" : no body at all
	}{
		{"", 403, "<Message>Request has expired</Message>"},
		{sim.MediaExpiredRequest, 403, "<Message>Request has expired</Message>"},
		{sim.MediaExpiredAccessDenied, 403, "<Code>AccessDenied</Code><Message>Access Denied</Message>"},
		{sim.MediaExpiredNoSuchKey, 404, "<Code>NoSuchKey</Code>"},
		{sim.MediaExpiredCloudFront, 403, "<Code>AccessDenied</Code><Message>Access denied</Message>"},
		{sim.MediaExpiredEmpty, 403, ""},
		{sim.MediaExpiredGone, 410, ""},
		{sim.MediaExpiredToken, 400, "<Code>ExpiredToken</Code><Message>The provided token has expired.</Message>"},
	} {
		t.Run(cmp.Or(tc.answer, "default"), func(t *testing.T) {
			clk := newClock()
			now := clk.Now()
			s, c := start(t, sim.Options{
				OrgConfig:          sim.OrgConfig{Seed: 11, Conversations: 60, Start: now.Add(-20 * 24 * time.Hour), End: now.Add(-10 * 24 * time.Hour)},
				MediaURLTTL:        sim.DefaultMediaURLTTL,
				MediaExpiredAnswer: tc.answer,
				Now:                clk.Now,
			})
			var u string
			for i := range s.Org.Len() {
				cd := s.Org.ConversationAt(i)
				if len(cd.Attachments) == 0 {
					continue
				}
				m := decode[genesys.MessageData](t, c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+cd.Attachments[0].MessageID, nil))
				for _, ct := range m.NormalizedMessage.Content {
					if ct.Attachment != nil && u == "" {
						u = ct.Attachment.URL
					}
				}
				break
			}
			if u == "" {
				t.Fatal("no attachment served")
			}
			clk.Advance(60 * 24 * time.Hour)
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || tc.body == "" && len(b) != 0 || !strings.Contains(string(b), tc.body) {
				t.Fatalf("expired url: %d %q, want %d with %q", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
	if _, err := sim.Start(t.Context(), sim.Options{MediaExpiredAnswer: "teapot"}); err == nil {
		t.Fatal("Start took an unknown expired answer")
	}
}

// TestMediaUnstatedAndShort: with MediaNoSHA256 and MediaNoSize an
// attachment is served without its sha256 and contentSizeBytes (both
// optional in the model), its url and bytes unchanged; with MediaShort N
// its first N downloads are cut to half its bytes, with a Content-Length
// that says so, and the next one is whole.
func TestMediaUnstatedAndShort(t *testing.T) {
	s, c := start(t, sim.Options{
		OrgConfig:     sim.OrgConfig{Seed: 11, Conversations: 60},
		MediaNoSHA256: true, MediaNoSize: true, MediaShort: 2,
	})
	cd := withAttachment(t, s.Org)
	at := cd.Attachments[0]
	m := decode[genesys.MessageData](t, c.must(200, "GET", "/api/v2/conversations/messages/"+cd.ID+"/messages/"+at.MessageID, nil))
	var a *genesys.ContentAttachment
	for _, ct := range m.NormalizedMessage.Content {
		if ct.Attachment != nil && ct.Attachment.ID == at.ID {
			a = ct.Attachment
		}
	}
	if a == nil || a.URL == "" || a.Sha256 != "" || a.ContentSizeBytes != 0 {
		t.Fatalf("attachment served as %+v, want a url and no sha256 nor size", a)
	}
	if at.Sha256 == "" || at.Size == 0 {
		t.Fatalf("the org's attachment %+v lost its sha256 or size", at)
	}
	for i, want := range []int{at.Size / 2, at.Size / 2, at.Size} {
		resp, err := http.Get(a.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != want || resp.ContentLength != int64(want) {
			t.Fatalf("download %d: %d, %d bytes (Content-Length %d), want %d", i+1, resp.StatusCode, len(b), resp.ContentLength, want)
		}
		if sum := sha256.Sum256(b); want == at.Size && hex.EncodeToString(sum[:]) != at.Sha256 {
			t.Fatalf("download %d: not the attachment's bytes", i+1)
		}
	}
}

// TestConversationRecordingsOwnIDs: with RecordingsOwnIDs a recording's
// transcript names messages and attachments with ids of its own, none
// the messages API's, the same each time, while each attachment keeps its
// file name, size and bytes.
func TestConversationRecordingsOwnIDs(t *testing.T) {
	s, c := start(t, sim.Options{OrgConfig: sim.OrgConfig{Seed: 11, Conversations: 60}, RecordingsOwnIDs: true})
	cd := withAttachment(t, s.Org)
	api := map[string]bool{}
	byName := map[string]sim.Attachment{}
	for _, m := range cd.Messages {
		api[m.ID] = true
	}
	for _, a := range cd.Attachments {
		api[a.ID] = true
		byName[a.Filename] = a
	}
	path := "/api/v2/conversations/" + cd.ID + "/recordings"
	recs := decode[[]genesys.Recording](t, c.must(200, "GET", path, nil))
	again := decode[[]genesys.Recording](t, c.must(200, "GET", path, nil))
	matched := 0
	for i, rm := range recs[0].MessagingTranscript {
		if api[rm.ID] || rm.ID != again[0].MessagingTranscript[i].ID {
			t.Fatalf("transcript message id %s: the messages API's, or not the same on each request", rm.ID)
		}
		for _, a := range rm.MessageMediaAttachments {
			want, ok := byName[a.Name]
			if api[a.ID] || !ok || a.ContentLength != want.Size {
				t.Fatalf("transcript attachment %+v: want an id of its own, the file name and size of %+v", a, want)
			}
			resp, err := http.Get(a.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want.Sha256 {
				t.Fatalf("transcript attachment %s: not the bytes of %s", a.ID, want.ID)
			}
			matched++
		}
	}
	if matched == 0 {
		t.Fatal("no transcript attachment")
	}
}
