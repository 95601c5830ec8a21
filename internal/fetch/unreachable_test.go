package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// refusingTransport refuses the connection (a dial error, as a host
// nothing listens on gives) of every request whose path refuse says, and
// carries the others.
type refusingTransport struct {
	refuse  func(path string) bool
	refused atomic.Int64
}

func (t *refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.refuse(r.URL.Path) {
		t.refused.Add(1)
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func conversationOK(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	writeJSON(w, 200, fmt.Sprintf(`{"id":%q}`, id))
}

// TestAPIUnreachable: with the API host refusing every connection (the
// token endpoint answering), concurrent calls stop with ErrAPIUnreachable
// naming the host once one call has used up its retries, and every later
// call fails the same way at once, without a request.
func TestAPIUnreachable(t *testing.T) {
	f := newFakeAPI(t, conversationOK)
	tr := &refusingTransport{refuse: func(p string) bool { return p != "/oauth/token" }}
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = c.GetConversation(context.Background(), fmt.Sprintf("c%d", i)) })
	}
	wg.Wait()
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for i, err := range errs {
		if !errors.Is(err, ErrAPIUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "API host "+host+" cannot be reached") {
			t.Errorf("call %d: %v, want ErrAPIUnreachable naming %s, wrapping the refusal", i, err, host)
		}
	}
	before := tr.refused.Load()
	if before > int64(len(errs)*DefaultMaxAttempts) {
		t.Errorf("%d attempts: want at most one round of retries per call", before)
	}
	if _, _, err := c.GetConversation(context.Background(), "later"); !errors.Is(err, ErrAPIUnreachable) || tr.refused.Load() != before {
		t.Errorf("a later call: %v after %d more attempts, want ErrAPIUnreachable without a request", err, tr.refused.Load()-before)
	}
}

// TestFlakyConnectionIsNotUnreachable: one call whose connections are
// refused while other calls get answers fails alone, with its own error,
// after its retries, as before; a call refused once and then answered
// succeeds; neither declares the host unreachable.
func TestFlakyConnectionIsNotUnreachable(t *testing.T) {
	f := newFakeAPI(t, conversationOK)
	var flaky atomic.Int64
	tr := &refusingTransport{refuse: func(p string) bool {
		return strings.HasSuffix(p, "/bad") || strings.HasSuffix(p, "/flaky") && flaky.Add(1) == 1
	}}
	var c *Client
	c = f.client(newFakeClock(), func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: tr}
		// Between two attempts of the failing call, another worker's
		// call is answered.
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			if _, _, err := c.GetConversation(ctx, "good"); err != nil {
				t.Errorf("a call between: %v", err)
			}
			return nil
		}
	})
	_, _, err := c.GetConversation(context.Background(), "bad")
	if err == nil || errors.Is(err, ErrAPIUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d attempts", DefaultMaxAttempts)) {
		t.Fatalf("the refused call: %v, want its own refusal after %d attempts", err, DefaultMaxAttempts)
	}
	if _, _, err := c.GetConversation(context.Background(), "flaky"); err != nil {
		t.Fatalf("a call refused once: %v", err)
	}
	if _, _, err := c.GetConversation(context.Background(), "after"); err != nil {
		t.Fatalf("a call after: %v", err)
	}
}

// TestUnreachableErr: what counts as not reaching the host (no
// connection, no name, no TLS) and what does not (a failure once
// connected).
func TestUnreachableErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, true},
		{fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: &timeoutErr{}}), true},
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}}, true},
		{&net.DNSError{Err: "server misbehaving", Name: "api.example", IsTemporary: true}, true},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{x509.HostnameError{Host: "api.example", Certificate: &x509.Certificate{}}, true},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{tls.AlertError(40), true},
		{errors.New("net/http: TLS handshake timeout"), true},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, false},
		{io.ErrUnexpectedEOF, false},
		{context.DeadlineExceeded, false},
		{ErrMalformedBody, false},
	} {
		if got := unreachableErr(tc.err); got != tc.want {
			t.Errorf("unreachableErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if tc.want && !retryableErr(tc.err) {
			t.Errorf("%v is not retried", tc.err)
		}
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }

// TestMediaUnreachable: a media host (pre-signed attachment URLs on
// another host) refusing every connection is declared unreachable by the
// API host's rule, kept apart for it: its downloads fail with
// ErrMediaUnreachable naming it, a later one at once without a request,
// while calls to the API host, and downloads from another media host, go
// on.
func TestMediaUnreachable(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/media/") {
			w.Write([]byte("bytes"))
			return
		}
		conversationOK(w, r)
	})
	tr := &refusingTransport{refuse: func(p string) bool { return strings.HasPrefix(p, "/media/dead/") }}
	c := f.client(newFakeClock(), func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
	dead := "http://127.0.0.1:9/media/dead/" // nothing listens; the transport refuses it anyway
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Download(context.Background(), fmt.Sprintf("%sa%d?X-Amz-Signature=s3cr3t", dead, i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrMediaUnreachable) || errors.Is(err, ErrAPIUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) ||
			!strings.Contains(err.Error(), "media host 127.0.0.1:9 cannot be reached") || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("download %d: %v, want ErrMediaUnreachable naming 127.0.0.1:9, wrapping the refusal, without the signature", i, err)
		}
	}
	before := tr.refused.Load()
	if _, err := c.Download(context.Background(), dead+"later"); !errors.Is(err, ErrMediaUnreachable) || tr.refused.Load() != before {
		t.Errorf("a later download: %v after %d more attempts, want ErrMediaUnreachable without a request", err, tr.refused.Load()-before)
	}
	if _, _, err := c.GetConversation(context.Background(), "c1"); err != nil {
		t.Errorf("the API host after the media host was declared unreachable: %v", err)
	}
	if resp, err := c.Download(context.Background(), f.srv.URL+"/media/live/x"); err != nil || string(resp.Body) != "bytes" {
		t.Errorf("another host's download: %v", err)
	}
}
