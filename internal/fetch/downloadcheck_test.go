package fetch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDownloadChecked: a download is checked against the size and type
// the API states. A body cut short — with a Content-Length that says so,
// or without one, ending when the connection closes (which Go takes as
// complete) — is tried again, and given back once whole; short on every
// attempt, or an HTML page served for an image (not of the stated size;
// with no size stated, by its Content-Type), the call fails with a
// *BodyError (ErrSizeMismatch, ErrNotMedia) after bodyCheckAttempts
// attempts, never returning it as the attachment.
func TestDownloadChecked(t *testing.T) {
	full := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	var calls atomic.Int64
	var shortFor atomic.Int64 // attempts served short
	var closeDelimited, page atomic.Bool
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if page.Load() {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><body>Please sign in</body></html>")
			return
		}
		b := full
		if n <= shortFor.Load() {
			b = full[:len(full)/2]
		}
		w.Header().Set("Content-Type", "image/png")
		if closeDelimited.Load() {
			w.Header().Set("Connection", "close")
			w.(http.Flusher).Flush() // no Content-Length: the body ends when the connection closes
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		_, _ = w.Write(b)
	}))
	defer cdn.Close()
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {})
	c := f.client(newFakeClock())
	ctx := context.Background()
	want := Expect{Size: int64(len(full)), Mime: "image/png"}

	for _, tc := range []struct {
		name           string
		short          int64
		closeDelimited bool
		page           bool
		noSize         bool
		wantErr        error
		wantCalls      int64
	}{
		{name: "whole", wantCalls: 1},
		{name: "short once", short: 1, wantCalls: 2},
		{name: "short once, close-delimited", short: 1, closeDelimited: true, wantCalls: 2},
		{name: "always short", short: 100, wantErr: ErrSizeMismatch, wantCalls: bodyCheckAttempts},
		{name: "always short, close-delimited", short: 100, closeDelimited: true, wantErr: ErrSizeMismatch, wantCalls: bodyCheckAttempts},
		{name: "a page", page: true, wantErr: ErrSizeMismatch, wantCalls: bodyCheckAttempts},
		{name: "a page, no size stated", page: true, noSize: true, wantErr: ErrNotMedia, wantCalls: bodyCheckAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			shortFor.Store(tc.short)
			closeDelimited.Store(tc.closeDelimited)
			page.Store(tc.page)
			w := want
			if tc.noSize {
				w.Size = 0
			}
			resp, err := c.DownloadChecked(ctx, cdn.URL+"/obj.png?X-Amz-Signature=S", w)
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d requests, want %d", got, tc.wantCalls)
			}
			if tc.wantErr == nil {
				if err != nil || string(resp.Body) != string(full) {
					t.Fatalf("err %v, body %q", err, resp.Body)
				}
				return
			}
			var be *BodyError
			if !errors.Is(err, tc.wantErr) || !errors.As(err, &be) || len(be.Body) == 0 {
				t.Fatalf("err %v, want a *BodyError matching %v", err, tc.wantErr)
			}
			if resp != nil {
				t.Fatalf("a body that is not the attachment given back: %q", resp.Body)
			}
		})
	}
	t.Run("sha256 stated", func(t *testing.T) {
		// A body cut short is downloaded again; one never as stated ends
		// as a *BodyError matching ErrDigestMismatch, holding the bytes.
		page.Store(false)
		closeDelimited.Store(true)
		for _, tc := range []struct {
			short, calls int64
			wantErr      error
		}{{1, 2, nil}, {100, bodyCheckAttempts, ErrDigestMismatch}} {
			calls.Store(0)
			shortFor.Store(tc.short)
			resp, err := c.DownloadChecked(ctx, cdn.URL+"/obj.png", Expect{SHA256: SHA256Hex(full), Size: 1, Mime: "text/plain"})
			var be *BodyError
			switch {
			case calls.Load() != tc.calls:
				t.Errorf("short %d: %d requests, want %d", tc.short, calls.Load(), tc.calls)
			case tc.wantErr == nil && (err != nil || string(resp.Body) != string(full)):
				t.Errorf("short %d: err %v", tc.short, err)
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !errors.As(err, &be) || len(be.Body) != len(full)/2):
				t.Errorf("short %d: err %v, want a *BodyError matching %v with the bytes served", tc.short, err, tc.wantErr)
			}
		}
	})
	t.Run("nothing stated", func(t *testing.T) {
		calls.Store(0)
		shortFor.Store(100)
		closeDelimited.Store(false)
		page.Store(false)
		resp, err := c.DownloadChecked(ctx, cdn.URL+"/obj.png", Expect{})
		if err != nil || len(resp.Body) != len(full)/2 || calls.Load() != 1 {
			t.Fatalf("err %v, %d requests: with nothing stated the body is what was served", err, calls.Load())
		}
	})
	t.Run("a text attachment", func(t *testing.T) {
		calls.Store(0)
		page.Store(true)
		body := "<html><body>Please sign in</body></html>"
		resp, err := c.DownloadChecked(ctx, cdn.URL+"/doc.html", Expect{Size: int64(len(body)), Mime: "text/html"})
		if err != nil || string(resp.Body) != body {
			t.Fatalf("err %v: a page stated as text/html is the attachment", err)
		}
	})
}

// TestDownloadStorageHostLongRetryAfter: a storage host (not the API)
// answering 429 with a Retry-After past MaxRetryAfter fails that download
// alone, an *APIError matching ErrRateLimited, at once: never a
// *DailyLimitError, which stops a whole export as if Genesys's daily
// limit were hit (review finding 4); until the wait is over, the host's
// other downloads fail at once without a request (StorageWaitError),
// another host's are made. A short Retry-After is waited for and the
// download retried.
func TestDownloadStorageHostLongRetryAfter(t *testing.T) {
	var calls atomic.Int64
	var retryAfter atomic.Value
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", retryAfter.Load().(string))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "bytes")
	}))
	defer cdn.Close()
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {})
	clk := newFakeClock()
	c := f.client(clk)
	ctx := context.Background()

	retryAfter.Store("600")
	_, err := c.Download(ctx, cdn.URL+"/obj.png")
	var dl *DailyLimitError
	if errors.As(err, &dl) || !errors.Is(err, ErrRateLimited) || calls.Load() != 1 {
		t.Fatalf("err %v after %d requests, want one 429 failing the download alone", err, calls.Load())
	}

	if !errors.Is(err, ErrStorageHostWait) || !strings.Contains(err.Error(), "asked to wait 10m0s") {
		t.Errorf("err %v: want it to say the storage host asked to wait longer than custody does", err)
	}

	// Until the wait is over, the host's other downloads fail without a
	// request (review-commits2 L5: each attachment on it asked again, and
	// got another 429); another host is asked as ever.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "other") }))
	defer other.Close()
	clk.Advance(9 * time.Minute)
	_, err = c.Download(ctx, cdn.URL+"/another.png")
	var sw *StorageWaitError
	if !errors.As(err, &sw) || !errors.Is(err, ErrStorageHostWait) || !errors.Is(err, ErrRateLimited) || calls.Load() != 1 {
		t.Fatalf("err %v after %d requests, want the host's other download refused without a request", err, calls.Load())
	}
	if !strings.Contains(err.Error(), "not asked") || !strings.Contains(err.Error(), "/another.png") || strings.Contains(err.Error(), "?") {
		t.Errorf("err %q: want it to name the path and say it was not asked", err)
	}
	if resp, err := c.Download(ctx, other.URL+"/x"); err != nil || string(resp.Body) != "other" {
		t.Fatalf("another host: err %v, want it asked", err)
	}
	clk.Advance(time.Minute + time.Second)

	calls.Store(0)
	retryAfter.Store("2")
	if resp, err := c.Download(ctx, cdn.URL+"/obj.png"); err != nil || string(resp.Body) != "bytes" || calls.Load() != 2 {
		t.Fatalf("err %v after %d requests, want the download retried after a short Retry-After", err, calls.Load())
	}
}

// TestDownloadCheckedServedType: the Content-Type a storage host serves
// is no proof a body is not the attachment (commit review 2, M1). S3 and
// CloudFront label an object by its extension, so a CSV stated as
// application/vnd.ms-excel comes as text/csv, an XML file as text/xml: a
// body of exactly the stated size is the attachment, whatever its type.
// Only with no size stated is the type looked at, and then only an HTML
// page (a portal's "please sign in") stands for something else.
func TestDownloadCheckedServedType(t *testing.T) {
	const csv = "a,b,c\n1,2,3\n"
	var calls atomic.Int64
	var served atomic.Value
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", served.Load().(string))
		_, _ = io.WriteString(w, csv)
	}))
	defer cdn.Close()
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {})
	c := f.client(newFakeClock())
	for _, tc := range []struct {
		name, served string
		want         Expect
		wantErr      error
	}{
		{"csv stated as excel, of the stated size", "text/csv; charset=utf-8", Expect{Size: int64(len(csv)), Mime: "application/vnd.ms-excel"}, nil},
		{"xml stated as application/xml, of the stated size", "text/xml", Expect{Size: int64(len(csv)), Mime: "application/xml"}, nil},
		{"an html page of the stated size", "text/html", Expect{Size: int64(len(csv)), Mime: "application/pdf"}, nil},
		{"csv stated as excel, no size stated", "text/csv", Expect{Mime: "application/vnd.ms-excel"}, nil},
		{"plain text stated as octet-stream, no size stated", "text/plain", Expect{Mime: "application/octet-stream"}, nil},
		{"an html page, no size stated", "text/html; charset=utf-8", Expect{Mime: "image/jpeg"}, ErrNotMedia},
		{"an xhtml page, no size stated", "application/xhtml+xml", Expect{Mime: "audio/ogg"}, ErrNotMedia},
		{"an html attachment, no size stated", "text/html", Expect{Mime: "text/html"}, nil},
		{"the wrong size, whatever the type", "text/csv", Expect{Size: 99, Mime: "application/vnd.ms-excel"}, ErrSizeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			served.Store(tc.served)
			resp, err := c.DownloadChecked(context.Background(), cdn.URL+"/x.csv?X-Amz-Signature=S", tc.want)
			if tc.wantErr == nil {
				if err != nil || string(resp.Body) != csv || calls.Load() != 1 {
					t.Fatalf("err %v after %d requests: the attachment refused for the type it was served as", err, calls.Load())
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}
