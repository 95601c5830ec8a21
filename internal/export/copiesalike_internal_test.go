package export

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// copiesAlike is a conversation whose recording names three copies alike
// (the same file name, size and type) with ids of its own, and a runner
// reading it from an httptest server counting the copies' downloads.
type copiesAlike struct {
	r         *runner
	bodies    []string
	downloads atomic.Int64
}

const copiesAlikeConv = "c0a80a01-0000-4000-8000-0000000000aa"

func newCopiesAlike(t *testing.T, now time.Time) *copiesAlike {
	t.Helper()
	ca := &copiesAlike{bodies: []string{"copy number one", "copy number two", "copy numbr tree"}}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/media/") {
			ca.downloads.Add(1)
			for i, b := range ca.bodies {
				if req.URL.Path == "/media/"+string(rune('0'+i)) {
					_, _ = w.Write([]byte(b))
					return
				}
			}
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var atts []genesys.MessageMediaAttachment
		for i, b := range ca.bodies {
			atts = append(atts, genesys.MessageMediaAttachment{ID: "own-att-" + string(rune('0'+i)), URL: srv.URL + "/media/" + string(rune('0'+i)),
				MediaType: "image/jpeg", ContentLength: len(b), Name: "IMG_0001.jpg"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode([]genesys.Recording{{ID: "r1", ConversationID: copiesAlikeConv,
			MessagingTranscript: []genesys.RecordingMessagingMessage{{ID: "own-msg", MessageMediaAttachments: atts}}}})
	}))
	t.Cleanup(srv.Close)
	c, err := fetch.New(fetch.Config{AccessToken: "token", APIURL: srv.URL, LoginURL: srv.URL, Rate: 1e9,
		Backoff: func(int) time.Duration { return time.Millisecond }, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	ca.r = &runner{d: Deps{Client: c}, o: Options{Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}}
	return ca
}

// message is a message of the conversation, sent long past the messages
// API's 30 days, with one attachment alike the copies, named without a
// url (so asked of the Recordings service at once), stating sha256.
func (ca *copiesAlike) message(id, sha256 string, now time.Time) captured {
	a := &genesys.ContentAttachment{ID: "att-" + id, Filename: "IMG_0001.jpg", ContentSizeBytes: len(ca.bodies[0]), Mime: "image/jpeg", Sha256: sha256}
	return captured{id: id, data: genesys.MessageData{ID: id, Timestamp: now.Add(-60 * 24 * time.Hour).Format(time.RFC3339Nano),
		NormalizedMessage: &genesys.NormalizedMessage{Content: []genesys.MessageContent{{ContentType: "Attachment", Attachment: a}}}}}
}

// TestCopiesAlikeDownloadedOnceARun: attachments alike of one
// conversation share the recording's copies: a copy downloaded for one,
// whose digest says it is not another's, is not downloaded again for
// that other in the same run; only the one of its sha256 is, for its
// bytes. Before (review-commits5 L4), each attachment downloaded every
// copy again, n attachments alike n copies each.
func TestCopiesAlikeDownloadedOnceARun(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ca := newCopiesAlike(t, now)
	sum := func(s string) string { return fetch.SHA256Hex([]byte(s)) }
	msgs := []captured{
		ca.message("m-1", sum(ca.bodies[1]), now),
		ca.message("m-2", sum("no copy of this one"), now),
		ca.message("m-3", sum("nor of this one"), now),
		ca.message("m-4", sum(ca.bodies[1]), now), // the same file sent again
	}
	rec := recordingCopies{claimed: claimedBy(msgs)}
	var st staged
	var downloads []int64
	for i := range msgs {
		before := ca.downloads.Load()
		if err := ca.r.fetchMedia(context.Background(), copiesAlikeConv, &rec, &st, &msgs[i]); err != nil {
			t.Fatal(err)
		}
		downloads = append(downloads, ca.downloads.Load()-before)
	}
	// The first looks at copies until its own, the second one,
	// downloading two; the second attachment downloads only the third
	// copy, the third attachment none, knowing each one's digest
	// already; the fourth downloads again only the one of its sha256,
	// for its bytes.
	if want := []int64{2, 1, 0, 1}; !slices.Equal(downloads, want) {
		t.Errorf("copies downloaded by attachment: %v, want %v", downloads, want)
	}
	for _, i := range []int{1, 2} {
		mr := msgs[i].media[0]
		if mr.Status != leaf.MediaRefused || !strings.Contains(mr.Reason, recordingsCopiesNoneGood+": "+servedNote([][]byte{[]byte(ca.bodies[0]), []byte(ca.bodies[1]), []byte(ca.bodies[2])})) {
			t.Errorf("%s recorded %+v, want refused, none of the three good, their digests said", msgs[i].id, mr)
		}
	}
	for _, i := range []int{0, 3} {
		if mr := msgs[i].media[0]; mr.Status != "" || mr.SHA256 != sum(ca.bodies[1]) || msgs[i].mediaEv[0] < 0 {
			t.Errorf("%s recorded %+v, want the second copy's bytes kept", msgs[i].id, mr)
		}
	}
}

// TestCopiesTooManySettles: past the budget, the reason of copies alike
// says how many were downloaded, which rests on the link's speed (the
// time budget): a later run that again finds as many copies and again
// runs out of budget settles it, however many it downloaded, and no run
// asks again. Before (review-commits5 L4), the two runs had to download
// exactly as many, which they seldom do, so every run downloaded up to
// 1 GiB for it again, for ever. Here the byte budget stands in for a
// link slower on the first run than on the second.
func TestCopiesTooManySettles(t *testing.T) {
	defer func(b int64) { copyBudgetBytes = b }(copyBudgetBytes)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ca := newCopiesAlike(t, now)
	want := fetch.SHA256Hex([]byte("no copy of this one"))

	copyBudgetBytes = 1 // the first run stops after one copy
	m := ca.message("m-1", want, now)
	rec := recordingCopies{claimed: claimedBy([]captured{m})}
	var st staged
	if err := ca.r.fetchMedia(context.Background(), copiesAlikeConv, &rec, &st, &m); err != nil {
		t.Fatal(err)
	}
	first := m.media[0]
	if !strings.Contains(first.Reason, recordingsCopiesTooMany+" (3 copies, 1 downloaded") {
		t.Fatalf("first run recorded %+v, want too many, 1 of 3 downloaded", first)
	}
	raw, err := leaf.EncodeDetail(&leaf.MessageDetail{Media: []leaf.MediaRef{first}})
	if err != nil {
		t.Fatal(err)
	}
	prev := leaf.Entry{Kind: leaf.KindMessage, Detail: raw, At: now.Add(-24 * time.Hour)}

	copyBudgetBytes = int64(len(ca.bodies[0])) + 1 // the second, faster, stops after two
	m = ca.message("m-1", want, now)
	rec = recordingCopies{claimed: claimedBy([]captured{m})}
	again, err := ca.r.mediaAgain(context.Background(), copiesAlikeConv, &rec, &st, prev, &m)
	if err != nil {
		t.Fatal(err)
	}
	if !again || len(m.media) != 1 || !strings.Contains(m.media[0].Reason, "(3 copies, 2 downloaded") || !strings.HasSuffix(m.media[0].Reason, recordingsSameAgain) {
		t.Fatalf("second run: re-captured %v, media %+v: want too many again, settled", again, m.media)
	}
	if retry, _, _ := retryRule(now.Add(24*time.Hour), m.data.Timestamp, now, m.media[0]); retry {
		t.Errorf("%q asked again by a later run", m.media[0].Reason)
	}
	if len(m.media[0].Reason) > maxReason {
		t.Errorf("settled reason %d bytes", len(m.media[0].Reason))
	}
}
