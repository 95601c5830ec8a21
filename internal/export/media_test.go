package export_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/verify"
)

// newMediaEnv is newEnv with attachment urls expiring DefaultMediaURLTTL
// after their message, on a simulator clock running from now: the real
// clock shifted so that it reads now.
func newMediaEnv(t testing.TB, conversations int, now time.Time, opts ...func(*sim.Options)) *env {
	t.Helper()
	shift := time.Until(now)
	o := sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 7, Conversations: conversations, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:    20 * time.Millisecond,
		AuditDelay:  20 * time.Millisecond,
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         func() time.Time { return time.Now().Add(shift) },
	}
	for _, f := range opts {
		f(&o)
	}
	srv := simtest.Start(t, o)
	le := ledgertest.New(t, "matter-1")
	return &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
}

// newProxiedMediaEnv is an export env whose simulator's attachment urls
// point at a proxy in front of its media host: handle answers every
// download, and its upstream asks the media host for the same url (its
// status and body; false when it failed, and the proxy answered 502).
func newProxiedMediaEnv(t *testing.T, conversations int, handle func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)), opts ...func(*sim.Options)) *env {
	t.Helper()
	var media string // the simulator's media host, known once it has started
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, func() (int, []byte, bool) {
			resp, err := http.Get(media + r.URL.RequestURI())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return 0, nil, false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b, true
		})
	}))
	t.Cleanup(proxy.Close)
	o := sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 7, Conversations: conversations, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2, MediaBaseURL: proxy.URL},
		JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	srv := simtest.Start(t, o)
	media = srv.MediaURL
	le := ledgertest.New(t, "matter-1")
	return &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
}

func mediaScope() export.Scope {
	s := intervalScope()
	s.WithMedia = true
	return s
}

// mediaRefs returns the media of every message entry, by attachment id.
func mediaRefs(t *testing.T, e *env) map[string]leaf.MediaRef {
	t.Helper()
	out := map[string]leaf.MediaRef{}
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		d, err := leaf.DecodeDetail(leaf.KindMessage, en.Detail)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range d.(*leaf.MessageDetail).Media {
			if _, dup := out[m.ID]; dup {
				t.Fatalf("attachment %s recorded twice", m.ID)
			}
			out[m.ID] = m
		}
	}
	return out
}

func checkVerified(t *testing.T, e *env) verify.Report {
	t.Helper()
	rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Evidence == nil || rep.Evidence.Missing+rep.Evidence.Altered != 0 {
		t.Fatalf("verify --evidence: ok=%v findings %v evidence %+v", rep.OK, rep.Findings, rep.Evidence)
	}
	return rep
}

// TestExportMediaEndToEnd: with urls still valid, every attachment of
// every WhatsApp conversation is downloaded (without the bearer token:
// the simulator's media host refuses any request carrying one), matches
// the API's sha256, is kept as evidence and named in its message's
// detail, and verify --evidence re-hashes it.
func TestExportMediaEndToEnd(t *testing.T) {
	e := newMediaEnv(t, 40, orgEnd.Add(10*24*time.Hour))
	acct := e.run(t, mediaScope())
	want := map[string]sim.Attachment{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			want[a.ID] = a
		}
	}
	if len(want) == 0 {
		t.Fatal("the org has no attachments")
	}
	if !acct.Complete() || acct.MediaDownloaded != len(want) || acct.MediaExpired+acct.MediaRefused+acct.MediaMismatch != 0 {
		t.Fatalf("accounting %+v, want %d attachments downloaded", acct, len(want))
	}
	got := mediaRefs(t, e)
	if len(got) != len(want) {
		t.Fatalf("%d attachments in the ledger, want %d", len(got), len(want))
	}
	for id, a := range want {
		m := got[id]
		if m.Status != "" || m.SHA256 != a.Sha256 || m.Evidence != a.Sha256 {
			t.Fatalf("attachment %s recorded as %+v, want sha256 %s", id, m, a.Sha256)
		}
	}
	rep := checkVerified(t, e)
	if rep.Evidence.Referenced < len(want) {
		t.Fatalf("verify re-hashed %d evidence objects, fewer than the %d attachments", rep.Evidence.Referenced, len(want))
	}
	// A rerun appends nothing and fetches no attachment again.
	again := e.run(t, mediaScope())
	if again.MessagesAppended != 0 || again.MediaDownloaded+again.MediaExpired+again.MediaRefused != 0 {
		t.Fatalf("rerun accounting %+v: want nothing appended or downloaded", again)
	}
	// The attachments are evidence verify checks: alter one and it says so.
	var one string
	for id := range want {
		one = id
		break
	}
	p := filepath.Join(e.dir, "evidence", filepath.FromSlash(evidence.Key(mustHash(t, want[one].Sha256))))
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("not the photo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err := verify.Ledger(context.Background(), e.ledger, verifyWithEvidence(e)); err != nil || rep.OK {
		t.Fatalf("verify passed over an altered attachment (err %v)", err)
	}
}

// TestExportMediaExpired: on a simulator clock where the earliest
// messages are more than 30 days old, their attachment urls answer 403
// "Request has expired". The Recordings service keeps those attachments:
// the export asks it for the conversation's recording (once a
// conversation) and downloads them from there, checked against the sha256
// the message states. Where it refuses (403: no recording:recording:view)
// they are recorded as expired, with why, in their message's detail and
// counted in the accounting, and no later conversation asks it again.
// Either way every conversation counts as exported and verify --evidence
// passes.
func TestExportMediaExpired(t *testing.T) {
	now := orgStart.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour + 12*time.Hour)
	for _, forbidden := range []bool{false, true} {
		t.Run(map[bool]string{false: "recordings", true: "recordings forbidden"}[forbidden], func(t *testing.T) {
			e := newMediaEnv(t, 40, now, func(o *sim.Options) { o.RecordingsForbidden = forbidden })
			acct := e.run(t, mediaScope())
			got := mediaRefs(t, e)
			expired, ok := 0, 0
			convsExpired := map[string]bool{}
			for _, c := range whatsApp(e.srv.Org) {
				for _, a := range c.Attachments {
					m, found := got[a.ID]
					if !found {
						t.Fatalf("attachment %s of %s not recorded", a.ID, c.ID)
					}
					md, _ := c.Message(a.MessageID)
					at, err := time.Parse(time.RFC3339Nano, md.Timestamp)
					if err != nil {
						t.Fatal(err)
					}
					pastAPI := !now.Before(time.Unix(at.Add(sim.DefaultMediaURLTTL).Unix(), 0))
					if pastAPI {
						convsExpired[c.ID] = true
					}
					switch {
					case m.Status == leaf.MediaExpired && m.Evidence == "" && m.SHA256 == "" && strings.Contains(m.Reason, "Recordings service") && strings.Contains(m.Reason, "(403"):
						expired++
						if !forbidden || !pastAPI {
							t.Fatalf("attachment %s of %s recorded as %+v", a.ID, md.Timestamp, m)
						}
					case m.Status == "" && m.Evidence == a.Sha256:
						ok++
						if forbidden && pastAPI {
							t.Fatalf("attachment %s of %s downloaded, though the messages API's url expired and the Recordings service refused", a.ID, md.Timestamp)
						}
					default:
						t.Fatalf("attachment %s recorded as %+v", a.ID, m)
					}
				}
			}
			if len(convsExpired) == 0 || ok == 0 {
				t.Fatalf("want some attachments past the messages API's 30 days and some not: %d conversations past, %d downloaded", len(convsExpired), ok)
			}
			asked := e.srv.Stats().Routes["GET /api/v2/conversations/{conversationId}/recordings"].Requests
			if !forbidden && asked != int64(len(convsExpired)) {
				t.Fatalf("recordings asked for %d times, want once for each of the %d conversations with an expired url", asked, len(convsExpired))
			}
			if forbidden && (asked < 1 || asked > 4) { // the first refusal stops the rest; up to Concurrency ask at once
				t.Fatalf("recordings asked for %d times after a 403, want 1 to 4", asked)
			}
			if !acct.Complete() || acct.Failed != 0 || acct.MediaExpired != expired || acct.MediaDownloaded != ok {
				t.Fatalf("accounting %+v, want complete with %d expired and %d downloaded", acct, expired, ok)
			}
			t.Logf("%d attachments expired, %d downloaded, recordings asked %d times", expired, ok, asked)
			checkVerified(t, e)
		})
	}
}

// TestExportMediaMismatchAndRefused: behind a media host that alters the
// bytes of some attachments and answers 404 to others (a proxy in front
// of the simulator's), the altered ones are kept as evidence but recorded
// as sha256_mismatch with the digest the API stated, the others (their
// messages past the 30 days: the run's clock is today's) recorded as
// expired, the Recordings service's copy refused too, and retryable; the
// conversations still count as exported and verify --evidence passes. The proxy also fails the test if a download carries
// an Authorization header.
func TestExportMediaMismatchAndRefused(t *testing.T) {
	var leaked atomic.Int32
	e := newProxiedMediaEnv(t, 40, func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		id := path.Base(r.URL.Path)
		if strings.HasSuffix(id, "0") || strings.HasSuffix(id, "1") {
			http.Error(w, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>", http.StatusNotFound)
			return
		}
		status, b, ok := upstream()
		if !ok {
			return
		}
		if status == 200 && id[len(id)-1] < '8' {
			b[len(b)-1] ^= 0xff
		}
		w.WriteHeader(status)
		_, _ = w.Write(b)
	})
	srv := e.srv
	acct := e.run(t, mediaScope())
	if leaked.Load() != 0 {
		t.Fatalf("%d downloads carried an Authorization header", leaked.Load())
	}
	got := mediaRefs(t, e)
	var refused, mismatched, good int
	for _, c := range whatsApp(srv.Org) {
		for _, a := range c.Attachments {
			m := got[a.ID]
			last := a.ID[len(a.ID)-1]
			switch {
			case last == '0' || last == '1':
				if m.Status != leaf.MediaExpired || m.Evidence != "" || !strings.Contains(m.Reason, "404") || !strings.Contains(m.Reason, "Recordings service") {
					t.Fatalf("attachment %s answered 404, recorded as %+v", a.ID, m)
				}
				refused++
			case last < '8':
				if m.Status != leaf.MediaSHA256Mismatch || m.StatedSHA256 != a.Sha256 || m.SHA256 == a.Sha256 || m.Evidence != m.SHA256 {
					t.Fatalf("altered attachment %s recorded as %+v", a.ID, m)
				}
				mismatched++
			default:
				if m.Status != "" || m.SHA256 != a.Sha256 {
					t.Fatalf("attachment %s recorded as %+v", a.ID, m)
				}
				good++
			}
		}
	}
	if refused == 0 || mismatched == 0 || good == 0 {
		t.Fatalf("want each case: refused %d, mismatched %d, good %d", refused, mismatched, good)
	}
	// A mismatch (bytes cut short in transit, say) counts as not captured
	// and as one a later run downloads again.
	if !acct.Complete() || acct.MediaExpired != refused || acct.MediaRetryable != refused+mismatched || acct.MediaNotCaptured != refused+mismatched || acct.MediaMismatch != mismatched || acct.MediaDownloaded != mismatched+good {
		t.Fatalf("accounting %+v, want %d refused, %d mismatched, %d good", acct, refused, mismatched, good)
	}
	checkVerified(t, e)
}

// TestExportMediaResignedURLs: a simulator that signs attachment urls
// afresh in every response (as S3 pre-signed urls carry their signing
// time) serves every message with an attachment differently on a rerun.
// The rerun must take none of them for a change: nothing appended, no
// superseding capture, no attachment fetched again — while a message whose
// text did change (edited by a proxy on a third run) is captured again.
func TestExportMediaResignedURLs(t *testing.T) {
	shift := time.Until(orgEnd.Add(10 * 24 * time.Hour))
	srv := simtest.Start(t, sim.Options{
		OrgConfig:          sim.OrgConfig{Seed: 7, Conversations: 40, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2},
		JobDelay:           20 * time.Millisecond,
		AuditDelay:         20 * time.Millisecond,
		MediaURLTTL:        sim.DefaultMediaURLTTL,
		MediaURLPerRequest: true,
		Now:                func() time.Time { return time.Now().Add(shift) },
	})
	le := ledgertest.New(t, "matter-1")
	e := &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	first := e.run(t, mediaScope())
	if !first.Complete() || first.MediaDownloaded == 0 {
		t.Fatalf("first run %+v: want attachments downloaded", first)
	}
	again := e.run(t, mediaScope())
	if again.MessagesAppended != 0 || again.MediaDownloaded+again.MediaExpired+again.MediaRefused != 0 {
		t.Fatalf("rerun against re-signed urls: accounting %+v, want nothing appended or downloaded", again)
	}
	if again.MessagesUnchanged == 0 {
		t.Fatalf("rerun accounting %+v: no message counted unchanged", again)
	}
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Supersedes != nil {
			t.Fatalf("entry %d supersedes %d: a new url signature taken for a change", en.Seq, *en.Supersedes)
		}
	}
	checkVerified(t, e)

	// A third run through a proxy that edits the first text of every bulk
	// response: those messages did change, and are captured again.
	c := editingClient(t, srv, "EDITED ")
	scope := mediaScope()
	scope.Matter = "matter-1"
	edited, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: scope, SignerKey: e.key, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	superseding := 0
	for en, err := range e.ledger.Entries(context.Background(), ledger.Filter{Kind: leaf.KindMessage}) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Supersedes != nil {
			superseding++
		}
	}
	if edited.MessagesAppended == 0 || superseding != edited.MessagesAppended {
		t.Fatalf("run with edited texts: %d appended, %d superseding entries; want every edited message captured again", edited.MessagesAppended, superseding)
	}
	checkVerified(t, e)
}

// editingClient is a fetch client of srv through a proxy that edits the
// first text of every bulk messages response (mark before it), as if
// that message had changed at the source since an earlier capture. The
// edit is the same on every read.
func editingClient(t *testing.T, srv *sim.Server, mark string) *fetch.Client {
	t.Helper()
	proxy := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(mustURL(t, srv.APIURL)) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/messages/bulk") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body.Close()
			b = bytes.Replace(b, []byte(`"text":"`), []byte(`"text":"`+mark), 1)
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
		// A request the client cancels (a run cancelled mid-flight) is
		// no failure of the test.
		ErrorLog: log.New(io.Discard, "", 0),
	})
	t.Cleanup(proxy.Close)
	return simClient(t, srv, func(c *fetch.Config) { c.APIURL = proxy.URL })
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestExportMediaRenewsExpiredURL: behind a media host that refuses the
// first request for each attachment as an expired url (as a pre-signed
// url whose own life is shorter than the 30 days Genesys serves the
// attachment), the export reads each such message once more for fresh
// urls and downloads every attachment — while the messages are younger
// than 30 days. Once they are older, the messages API serves them no
// more: no message is read again, and the conversation's recording (once
// a conversation) gives the urls instead.
func TestExportMediaRenewsExpiredURL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		now   time.Time
		renew bool
	}{
		{"young", orgEnd.Add(24 * time.Hour), true},
		{"older than 30 days", orgEnd.Add(genesys.AttachmentServedFor + 24*time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			e := newProxiedMediaEnv(t, 30, func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
				id := path.Base(r.URL.Path)
				mu.Lock()
				first := !seen[id]
				seen[id] = true
				mu.Unlock()
				if first {
					w.Header().Set("Content-Type", "application/xml")
					w.WriteHeader(http.StatusForbidden)
					_, _ = io.WriteString(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>\n")
					return
				}
				if status, b, ok := upstream(); ok {
					w.WriteHeader(status)
					_, _ = w.Write(b)
				}
			})
			srv := e.srv
			acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
				export.Options{Scope: mediaScope(), SignerKey: e.key, Concurrency: 4, Now: func() time.Time { return tc.now }})
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
					m := got[a.ID]
					if m.Status != "" || m.Evidence != a.Sha256 {
						t.Fatalf("attachment %s recorded as %+v, want downloaded through a fresh url", a.ID, m)
					}
				}
			}
			if attachments == 0 {
				t.Fatal("the org has no attachments")
			}
			routes := srv.Stats().Routes
			rereads := routes["GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}"].Requests
			recordings := routes["GET /api/v2/conversations/{conversationId}/recordings"].Requests
			wantRereads, wantRecordings := int64(len(withAttachments)), int64(0) // once a message, whatever its attachments
			if !tc.renew {
				wantRereads, wantRecordings = 0, int64(len(convs)) // once a conversation
			}
			if rereads != wantRereads || recordings != wantRecordings {
				t.Fatalf("%d messages read again and %d recordings asked for, want %d and %d", rereads, recordings, wantRereads, wantRecordings)
			}
			if !acct.Complete() || acct.MediaDownloaded != attachments {
				t.Fatalf("accounting %+v (%d attachments)", acct, attachments)
			}
			checkVerified(t, e)
		})
	}
}
