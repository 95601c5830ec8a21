package export_test

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/sim"
)

// The ways a storage host may refuse an attachment url: Genesys documents
// none, so the export must treat them all alike.
var mediaRefusals = []struct {
	name   string
	status int
	body   string
}{
	{"S3 request expired", http.StatusForbidden, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"},
	{"S3 access denied", http.StatusForbidden, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"},
	{"S3 no such key", http.StatusNotFound, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"},
	{"CloudFront access denied", http.StatusForbidden, "<Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>"},
	{"empty 403", http.StatusForbidden, ""},
	{"empty 410", http.StatusGone, ""},
	{"S3 expired token", http.StatusBadRequest, "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>"},
	{"empty 401", http.StatusUnauthorized, ""},
}

// TestExportMediaExpiredAnyAnswer is TestExportMediaExpired with the
// simulator's media host refusing an expired url in each of the ways S3
// and CloudFront do (sim.MediaExpiredAnswer), not only with the words
// "Request has expired": past the messages API's 30 days every refused
// attachment is asked of the Recordings service and downloaded from it.
// Before, any answer but "expired" in the body (or a 410) was recorded as
// refused, the Recordings service never asked, the run complete, and a
// rerun did not try it again: the attachment silently lost.
func TestExportMediaExpiredAnyAnswer(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	for _, answer := range sim.MediaExpiredAnswers {
		t.Run(answer, func(t *testing.T) {
			e := newMediaEnv(t, 30, now, func(o *sim.Options) { o.MediaExpiredAnswer = answer })
			acct := e.run(t, mediaScope())
			got := mediaRefs(t, e)
			n, convsExpired := 0, map[string]bool{}
			for _, c := range whatsApp(e.srv.Org) {
				for _, a := range c.Attachments {
					n++
					md, _ := c.Message(a.MessageID)
					at, err := time.Parse(time.RFC3339Nano, md.Timestamp)
					if err != nil {
						t.Fatal(err)
					}
					if !now.Before(time.Unix(at.Add(sim.DefaultMediaURLTTL).Unix(), 0)) {
						convsExpired[c.ID] = true
					}
					if m := got[a.ID]; m.Status != "" || m.Evidence != a.Sha256 {
						t.Fatalf("attachment %s of %s recorded as %+v, want downloaded", a.ID, md.Timestamp, m)
					}
				}
			}
			if len(convsExpired) == 0 {
				t.Fatal("no attachment past the messages API's 30 days")
			}
			if asked := e.srv.Stats().Routes["GET /api/v2/conversations/{conversationId}/recordings"].Requests; asked != int64(len(convsExpired)) {
				t.Fatalf("recordings asked for %d times, want once for each of the %d conversations with an expired url", asked, len(convsExpired))
			}
			if !acct.Complete() || acct.MediaDownloaded != n || acct.MediaNotCaptured != 0 {
				t.Fatalf("accounting %+v, want complete with all %d attachments downloaded", acct, n)
			}
			checkVerified(t, e)
		})
	}
}

// TestExportMediaExpiredAnyAnswerForbidden: past the 30 days, the media
// host answering S3's "Access Denied" and the Recordings service
// refusing (no recording:recording:view), each such attachment is
// recorded expired with the Recordings service's refusal as the reason,
// and counted as one a rerun tries again once the permission is granted,
// never as a refusal settled for good.
func TestExportMediaExpiredAnyAnswerForbidden(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	e := newMediaEnv(t, 30, now, func(o *sim.Options) {
		o.MediaExpiredAnswer, o.RecordingsForbidden = sim.MediaExpiredAccessDenied, true
	})
	acct := e.run(t, mediaScope())
	expired := 0
	for id, m := range mediaRefs(t, e) {
		switch {
		case m.Status == "":
		case m.Status == leaf.MediaExpired && strings.Contains(m.Reason, "Access Denied") && strings.Contains(m.Reason, "Recordings service"):
			expired++
		default:
			t.Fatalf("attachment %s recorded as %+v", id, m)
		}
	}
	if expired == 0 || acct.MediaExpired != expired || acct.MediaRefused != 0 || acct.MediaNotCaptured != expired || acct.MediaRetryable != expired {
		t.Fatalf("accounting %+v, want %d expired, all of them retryable", acct, expired)
	}
}

// TestExportMediaRenewsAnyAnswer is TestExportMediaRenewsExpiredURL with
// the media host refusing in each of the ways S3 and CloudFront do: a
// message younger than 30 days is read again for a fresh url whatever
// the answer's words. When the fresh url is refused too, the attachment
// is asked of the Recordings service (once a conversation), and no more
// is tried: downloaded from there. Before, only a 410 or a body saying
// "expired" was renewed, and the rest recorded refused.
func TestExportMediaRenewsAnyAnswer(t *testing.T) {
	now := orgEnd.Add(24 * time.Hour)
	for _, rf := range mediaRefusals {
		for _, refusals := range []int{1, 2} {
			name := rf.name + map[int]string{1: ", fresh url works", 2: ", fresh url refused too"}[refusals]
			t.Run(name, func(t *testing.T) {
				var mu sync.Mutex
				seen := map[string]int{}
				e := newProxiedMediaEnv(t, 30, func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
					id := path.Base(r.URL.Path)
					mu.Lock()
					seen[id]++
					refuse := seen[id] <= refusals
					mu.Unlock()
					if refuse {
						if rf.body != "" {
							w.Header().Set("Content-Type", "application/xml")
						}
						w.WriteHeader(rf.status)
						_, _ = io.WriteString(w, rf.body)
						return
					}
					if status, b, ok := upstream(); ok {
						w.WriteHeader(status)
						_, _ = w.Write(b)
					}
				})
				srv := e.srv
				acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
					export.Options{Scope: mediaScope(), SignerKey: e.key, Concurrency: 4, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				got := mediaRefs(t, e)
				attachments, withAttachments, convs := 0, map[string]bool{}, map[string]bool{}
				for _, c := range whatsApp(srv.Org) {
					for _, a := range c.Attachments {
						attachments++
						withAttachments[a.MessageID] = true
						convs[c.ID] = true
						if m := got[a.ID]; m.Status != "" || m.Evidence != a.Sha256 {
							t.Fatalf("attachment %s recorded as %+v, want downloaded", a.ID, m)
						}
					}
				}
				if attachments == 0 {
					t.Fatal("the org has no attachments")
				}
				routes := srv.Stats().Routes
				rereads := routes["GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}"].Requests
				recordings := routes["GET /api/v2/conversations/{conversationId}/recordings"].Requests
				wantRecordings := int64(0)
				if refusals == 2 {
					wantRecordings = int64(len(convs))
				}
				if rereads != int64(len(withAttachments)) || recordings != wantRecordings {
					t.Fatalf("%d messages read again and %d recordings asked for, want %d and %d", rereads, recordings, len(withAttachments), wantRecordings)
				}
				if !acct.Complete() || acct.MediaDownloaded != attachments {
					t.Fatalf("accounting %+v (%d attachments)", acct, attachments)
				}
				checkVerified(t, e)
			})
		}
	}
}

// TestExportMediaWithoutURL: attachments (and template header media) the
// messages API serves without a url are asked of the Recordings service,
// which keeps them (once a conversation), downloaded from it and recorded
// in the detail's media after the rest (verify --evidence agreeing), a
// warning naming each. Before (463b352), they were only counted in
// media_not_captured, never asked for: lost though the Recordings service
// had them.
func TestExportMediaWithoutURL(t *testing.T) {
	withheld := func(id string) bool { return strings.HasSuffix(id, "0") || strings.HasSuffix(id, "5") }
	e := newMediaEnv(t, 30, orgEnd.Add(10*24*time.Hour), func(o *sim.Options) { o.MediaURLWithheld = withheld })
	var logged syncBuffer
	scope := mediaScope()
	scope.Matter = "matter-1"
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	got := mediaRefs(t, e)
	none, n, convs := 0, 0, map[string]bool{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			n++
			if m := got[a.ID]; m.Status != "" || m.Evidence != a.Sha256 {
				t.Fatalf("attachment %s recorded as %+v, want downloaded", a.ID, m)
			}
			if withheld(a.ID) {
				none++
				convs[c.ID] = true
				if !strings.Contains(logged.String(), a.ID) {
					t.Fatalf("no warning names attachment %s, served without a url", a.ID)
				}
			}
		}
	}
	if none == 0 || none == n {
		t.Fatalf("want attachments with and without urls: %d of %d without", none, n)
	}
	if asked := recordingsAsked(e.srv); asked != int64(len(convs)) {
		t.Fatalf("recordings asked for %d times, want once for each of the %d conversations with an attachment without url", asked, len(convs))
	}
	if !acct.Complete() || acct.MediaDownloaded != n || acct.MediaNotCaptured != 0 {
		t.Fatalf("accounting %+v, want all %d attachments downloaded", acct, n)
	}
	checkVerified(t, e)
	if again := e.run(t, mediaScope()); again.MessagesAppended != 0 || again.MediaNotCaptured != 0 {
		t.Fatalf("rerun accounting %+v, want nothing appended, nothing not captured", again)
	}
}

// TestExportMediaWithoutURLNoCopy: attachments served without a url that
// the Recordings service does not give (it refuses: 403) are recorded
// refused with a reason saying both, counted in media_not_captured and,
// the permission being grantable, as retryable; a rerun once it is
// granted downloads them.
func TestExportMediaWithoutURLNoCopy(t *testing.T) {
	withheld := func(id string) bool { return strings.HasSuffix(id, "0") || strings.HasSuffix(id, "5") }
	var forbidden atomic.Bool
	forbidden.Store(true)
	e := newMediaEnv(t, 30, orgEnd.Add(10*24*time.Hour), func(o *sim.Options) { o.MediaURLWithheld = withheld })
	// The API through a proxy answering 403 to the recordings while
	// forbidden, as Genesys does to a client without the permission.
	api := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(mustURL(t, e.srv.APIURL)) }, ErrorLog: log.New(io.Discard, "", 0)}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forbidden.Load() && strings.HasSuffix(r.URL.Path, "/recordings") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"status":403,"code":"missing.any.permissions","message":"You must have at least one of the following permissions assigned: [recording:recording:view]"}`)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	c := simClient(t, e.srv, func(c *fetch.Config) { c.APIURL = proxy.URL })
	acct := e.runWith(t, mediaScope(), c)
	got := mediaRefs(t, e)
	none, n := 0, 0
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			m := got[a.ID]
			switch {
			case !withheld(a.ID):
				n++
				if m.Status != "" || m.Evidence != a.Sha256 {
					t.Fatalf("attachment %s recorded as %+v, want downloaded", a.ID, m)
				}
			case m.Status != leaf.MediaRefused || !strings.Contains(m.Reason, "no url") || !strings.Contains(m.Reason, "Recordings service") || !strings.Contains(m.Reason, "403"):
				t.Fatalf("attachment %s served without a url recorded as %+v, want refused, saying why", a.ID, m)
			default:
				none++
			}
		}
	}
	if none == 0 || n == 0 {
		t.Fatalf("want attachments with and without urls: %d and %d", n, none)
	}
	if acct.MediaDownloaded != n || acct.MediaNotCaptured != none || acct.MediaRetryable != none {
		t.Fatalf("accounting %+v, want %d downloaded and %d not captured, all retryable", acct, n, none)
	}
	checkVerified(t, e)
	forbidden.Store(false)
	again := e.runWith(t, mediaScope(), c)
	if again.MessagesRecaptured == 0 || again.MediaNotCaptured != 0 {
		t.Fatalf("rerun accounting %+v, want the messages re-captured, nothing left not captured", again)
	}
	for id, m := range latestMediaRefs(t, e) {
		if m.Status != "" {
			t.Fatalf("attachment %s recorded by the rerun as %+v, want downloaded", id, m)
		}
	}
	checkVerified(t, e)
}
