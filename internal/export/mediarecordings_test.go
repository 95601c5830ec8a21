package export_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
)

// refusingMedia is a media proxy refusing every download as S3 does a
// lapsed url while refuse is set, and passing it on otherwise.
func refusingMedia(refuse *atomic.Bool) func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
	return func(w http.ResponseWriter, r *http.Request, upstream func() (int, []byte, bool)) {
		if refuse.Load() {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
			return
		}
		if status, b, ok := upstream(); ok {
			w.WriteHeader(status)
			_, _ = w.Write(b)
		}
	}
}

// recordingsAsked is how many times the simulator's Recordings service
// was asked for a conversation's recordings.
func recordingsAsked(srv *sim.Server) int64 {
	return srv.Stats().Routes["GET /api/v2/conversations/{conversationId}/recordings"].Requests
}

// TestExportMediaRecordingsFailureOnce: within the 30 days, every url
// refused (the message's own and the fresh one) and the Recordings
// service answering 202 (not ready), its failure is said in the reason
// of every attachment of the conversation, the service asked once a
// conversation, not once an attachment. Before, the failure was not
// remembered: each later refused attachment asked again (36 requests
// for 14 conversations), each request waiting up to maxWaitMs.
func TestExportMediaRecordingsFailureOnce(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	e := newProxiedMediaEnv(t, 30, refusingMedia(&refuse), func(o *sim.Options) { o.RecordingsNotReady = true })
	acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
		export.Options{Scope: mediaScope(), SignerKey: e.key, Concurrency: 4, Now: func() time.Time { return orgEnd.Add(24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	got := mediaRefs(t, e)
	n, convs := 0, map[string]bool{}
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			n++
			convs[c.ID] = true
			if m := got[a.ID]; m.Status != leaf.MediaRefused || !strings.Contains(m.Reason, "asking the Recordings service for its copy failed") {
				t.Fatalf("attachment %s recorded as %+v, want refused, the Recordings service's failure said", a.ID, m)
			}
		}
	}
	if len(convs) == 0 || n <= len(convs) {
		t.Fatalf("want conversations with more than one attachment: %d attachments in %d", n, len(convs))
	}
	if asked := recordingsAsked(e.srv); asked != int64(len(convs)) {
		t.Fatalf("recordings requests %d; conversations with attachments %d; attachments %d", asked, len(convs), n)
	}
	if !acct.Complete() || acct.MediaNotCaptured != n || acct.MediaRetryable != n {
		t.Fatalf("accounting %+v, want complete, all %d attachments not captured and retryable", acct, n)
	}
}

// TestExportMediaRecordingsCopyRefused: past the 30 days, the media host
// refusing the message's url and then the url the Recordings service
// names for its copy, the attachment is recorded expired (as fetch.md
// says of one still not had) and counted retryable: a later run asks the
// Recordings service again and gets it. Before, it was recorded refused,
// never tried again: lost for good after one unlucky run.
func TestExportMediaRecordingsCopyRefused(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	e := newProxiedMediaEnv(t, 30, refusingMedia(&refuse))
	now := orgEnd.Add(genesys.AttachmentServedFor + 24*time.Hour)
	run := func() *export.Accounting {
		t.Helper()
		acct, err := export.Run(context.Background(), export.Deps{Client: e.client(t), Ledger: e.ledger, Evidence: e.store},
			export.Options{Scope: mediaScope(), SignerKey: e.key, Concurrency: 4, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	acct := run()
	n := 0
	got := mediaRefs(t, e)
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			n++
			if m := got[a.ID]; m.Status != leaf.MediaExpired || !strings.Contains(m.Reason, "Recordings service") {
				t.Fatalf("attachment %s recorded as %+v, want expired, its copy's refusal said", a.ID, m)
			}
		}
	}
	if n == 0 || !acct.Complete() || acct.MediaExpired != n || acct.MediaNotCaptured != n || acct.MediaRetryable != n {
		t.Fatalf("accounting %+v, want all %d attachments expired and retryable", acct, n)
	}
	refuse.Store(false)
	again := run()
	got = latestMediaRefs(t, e)
	for _, c := range whatsApp(e.srv.Org) {
		for _, a := range c.Attachments {
			if m := got[a.ID]; m.Status != "" || m.Evidence != a.Sha256 {
				t.Fatalf("attachment %s recorded by the rerun as %+v, want downloaded", a.ID, m)
			}
		}
	}
	if again.MediaDownloaded != n || again.MediaNotCaptured != 0 {
		t.Fatalf("rerun accounting %+v, want all %d attachments downloaded", again, n)
	}
	checkVerified(t, e)
}

// latestMediaRefs is mediaRefs of each message's latest capture alone: a
// re-capture's media replace its earlier entry's.
func latestMediaRefs(t *testing.T, e *env) map[string]leaf.MediaRef {
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
			out[m.ID] = m // entries come in ledger order: the latest last
		}
	}
	return out
}
