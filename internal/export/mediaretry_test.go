package export_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
)

// retryEnv is an export env at now whose attachment downloads go through
// a media proxy that answers 403 "Request has expired" (as an S3
// pre-signed url past its life) while mediaDown is set, and whose API
// calls go through a proxy that answers the conversations' recordings
// 403 missing.any.permissions (a client without
// recording:recording:view) while recordingsDown is set.
type retryEnv struct {
	*env
	now                       time.Time
	mediaDown, recordingsDown atomic.Bool
	apiURL                    string
	recordingsAsked           atomic.Int64
	mu                        sync.Mutex
	logs                      bytes.Buffer
}

func newRetryEnv(t *testing.T, now time.Time) *retryEnv {
	t.Helper()
	re := &retryEnv{now: now}
	var media string // the simulator's media host, known once it has started
	mediaProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if re.mediaDown.Load() {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`)
			return
		}
		resp, err := http.Get(media + r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(mediaProxy.Close)
	shift := time.Until(now)
	srv := simtest.Start(t, sim.Options{
		OrgConfig:   sim.OrgConfig{Seed: 7, Conversations: 40, Start: orgStart, End: orgEnd, LegalHoldShare: 0.2, OtherMediaShare: 0.2, MediaBaseURL: mediaProxy.URL},
		JobDelay:    20 * time.Millisecond,
		AuditDelay:  20 * time.Millisecond,
		MediaURLTTL: sim.DefaultMediaURLTTL,
		Now:         func() time.Time { return time.Now().Add(shift) },
	})
	media = srv.MediaURL
	up, err := url.Parse(srv.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	apiProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/recordings") {
			re.recordingsAsked.Add(1)
			if re.recordingsDown.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"message":"Unable to perform the requested action. You are missing the following permission(s): [recording:recording:view]","code":"missing.any.permissions","status":403,"contextId":"x","details":[],"errors":[]}`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(apiProxy.Close)
	re.apiURL = apiProxy.URL
	le := ledgertest.New(t, "matter-1")
	re.env = &env{srv: srv, ledger: le.Ledger, store: le.Store, key: le.Key, dir: le.Dir}
	return re
}

// run exports the interval with --media at re.now, its log kept in
// re.logs (this run's alone).
func (re *retryEnv) run(t *testing.T) *export.Accounting {
	t.Helper()
	re.mu.Lock()
	re.logs.Reset()
	re.mu.Unlock()
	c := re.client(t, func(c *fetch.Config) { c.APIURL = re.apiURL })
	scope := mediaScope()
	scope.Matter = "matter-1"
	acct, err := export.Run(context.Background(), export.Deps{Client: c, Ledger: re.ledger, Evidence: re.store},
		export.Options{Scope: scope, SignerKey: re.key, Concurrency: 4, Now: func() time.Time { return re.now },
			Log: slog.New(slog.NewTextHandler(lockedWriter{&re.mu, &re.logs}, nil))})
	if err != nil {
		t.Fatalf("export: %v (accounting %+v)", err, acct)
	}
	return acct
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// latestMedia returns the media of every message's latest entry: how
// many attachments it holds and how many it does not.
func latestMedia(t *testing.T, e *env) (held, notHeld int) {
	t.Helper()
	latest, _ := latestMessages(t, e)
	for _, en := range latest {
		_, media := detailMedia(t, en)
		for _, m := range media {
			if m.Evidence != "" {
				held++
			} else {
				notHeld++
			}
		}
	}
	return held, notHeld
}

// TestExportRetriesMediaNotCaptured: an attachment an export could not
// download, recorded as expired, is tried again by the next run while it
// may still be had, and its message re-captured with it (the same
// payload, superseding the capture that lacked it: not a change). Every
// run's accounting says how many attachments the ledger lacks, and how
// many of them a rerun tries again. The old code recorded them once and
// never tried again: the rerun downloaded nothing and said nothing.
func TestExportRetriesMediaNotCaptured(t *testing.T) {
	t.Run("url expired within the 30 days", func(t *testing.T) {
		re := newRetryEnv(t, orgEnd.Add(10*24*time.Hour))
		re.mediaDown.Store(true)
		first := re.run(t)
		if first.MediaExpired == 0 || first.MediaDownloaded != 0 || first.MediaNotCaptured != first.MediaExpired || first.MediaRetryable != first.MediaExpired {
			t.Fatalf("run with the media host refusing: %+v, want every attachment expired, not captured and retryable", first)
		}
		again := re.run(t)
		if again.MessagesAppended != 0 || again.MediaRetryable != first.MediaRetryable {
			t.Fatalf("rerun with the media host refusing still: %+v, want nothing appended, %d retryable", again, first.MediaRetryable)
		}
		re.mediaDown.Store(false)
		testRetried(t, re, first)
	})
	t.Run("recordings service refused past the 30 days", func(t *testing.T) {
		re := newRetryEnv(t, orgStart.Add(sim.DefaultMediaURLTTL+10*24*time.Hour))
		re.recordingsDown.Store(true)
		first := re.run(t)
		if first.MediaExpired == 0 || first.MediaDownloaded != 0 || first.MediaRetryable != first.MediaExpired {
			t.Fatalf("run with the Recordings service refusing: %+v, want every attachment expired and retryable", first)
		}
		if n := strings.Count(re.logs.String(), "recording:recording:view"); n != 1 {
			t.Fatalf("%d log lines name recording:recording:view, want one warning:\n%s", n, re.logs.String())
		}
		if !strings.Contains(re.logs.String(), "level=WARN") {
			t.Fatalf("no warning:\n%s", re.logs.String())
		}
		asked := re.recordingsAsked.Load()
		again := re.run(t)
		if again.MessagesAppended != 0 || again.MediaRetryable != first.MediaRetryable {
			t.Fatalf("rerun with the Recordings service refusing still: %+v, want nothing appended, %d retryable", again, first.MediaRetryable)
		}
		if n := re.recordingsAsked.Load() - asked; n == 0 || n > 4 {
			t.Errorf("rerun asked the refusing Recordings service %d times, want at least once and at most once a worker", n)
		}
		if n := strings.Count(re.logs.String(), "recording:recording:view"); n != 1 {
			t.Fatalf("rerun: %d log lines name recording:recording:view, want one warning", n)
		}
		re.recordingsDown.Store(false)
		testRetried(t, re, first)
	})
}

// testRetried reruns re, its attachments to be had now, after the run
// first that could not download them.
func testRetried(t *testing.T, re *retryEnv, first *export.Accounting) {
	t.Helper()
	before, convsBefore := latestMessages(t, re.env)
	later := re.run(t)
	if later.MessagesRecaptured == 0 || later.MessagesAppended != later.MessagesRecaptured || later.MediaDownloaded == 0 {
		t.Fatalf("rerun with the attachments to be had: %+v, want the messages re-captured with them", later)
	}
	if later.MessagesChanged != 0 || len(later.ChangedAtSource) != 0 || later.Unchanged != later.Exported || later.MediaRetryable != 0 {
		t.Fatalf("rerun: %+v, want no change at the source and nothing left to retry", later)
	}
	after, convsAfter := latestMessages(t, re.env)
	if convsAfter != convsBefore {
		t.Errorf("%d conversation entries appended, want none", convsAfter-convsBefore)
	}
	for id, a := range after {
		b := before[id]
		if a.Seq == b.Seq {
			continue
		}
		if a.Supersedes == nil || *a.Supersedes != b.Seq || !a.Recaptures(&b) {
			t.Fatalf("message %s: entry %d, want a re-capture of %d", id, a.Seq, b.Seq)
		}
		_, media := detailMedia(t, a)
		for _, m := range media {
			if m.Status == leaf.MediaExpired && strings.Contains(m.Reason, "Request has expired") {
				t.Errorf("message %s: attachment %s still recorded expired: %+v", id, m.ID, m)
			}
		}
	}
	held, notHeld := latestMedia(t, re.env)
	if held == 0 || notHeld != later.MediaNotCaptured {
		t.Fatalf("latest captures hold %d attachments and lack %d; accounting %d not captured", held, notHeld, later.MediaNotCaptured)
	}
	checkVerified(t, re.env)
	independentVerifierAccepts(t, re.env)
	downloads := re.srv.Stats().Routes[sim.MediaRoute].Requests
	final := re.run(t)
	if final.MessagesAppended != 0 || final.MediaRetryable != 0 || final.MediaNotCaptured != later.MediaNotCaptured {
		t.Fatalf("run after the retry: %+v, want nothing appended", final)
	}
	if n := re.srv.Stats().Routes[sim.MediaRoute].Requests - downloads; n != 0 {
		t.Errorf("%d attachment downloads after the retry, want none", n)
	}
	t.Logf("first %d expired; retry downloaded %d, re-captured %d messages; %d left not captured", first.MediaExpired, later.MediaDownloaded, later.MessagesRecaptured, later.MediaNotCaptured)
}
