package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/s3util"
)

// MissingMessage is the test failure or skip message when versitygw is not
// installed.
const MissingMessage = "versitygw not installed: run make test-deps"

// startTimeout bounds how long we wait for the server to answer.
const startTimeout = 15 * time.Second

// Server is a running versitygw. Its fields are what an S3 client needs.
type Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	AccessKey string
	SecretKey string
	Region    string

	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
	log     *lockedBuffer
	buckets atomic.Int64
}

var (
	sharedMu   sync.Mutex
	shared     *Server
	sharedRefs int
)

// Start returns the test binary's shared server, starting it on first use.
// The server stops when the last test that called Start has finished
// (t.Cleanup), so sequential tests may restart it; tests that run in
// parallel share it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := findBinary(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil || shared.exited() {
		s, err := start(bin)
		if err != nil {
			t.Fatalf("s3test: %v", err)
		}
		shared = s
	}
	s := shared
	sharedRefs++
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("s3test: versitygw log (tail):\n%s", s.log.tail(4096))
		}
		sharedMu.Lock()
		defer sharedMu.Unlock()
		sharedRefs--
		if sharedRefs == 0 && shared == s {
			s.stop()
			shared = nil
		}
	})
	return s
}

// Client returns an S3 client for the server (path-style, static keys).
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	c, err := s3util.NewClient(context.Background(), s.Config())
	if err != nil {
		t.Fatalf("s3test: client: %v", err)
	}
	return c
}

// DelayedClient is Client with every request held rtt before it is sent:
// a round trip to a remote region, which this machine cannot add to
// loopback in the kernel (no netem); Client itself when rtt is 0. Like
// every client of clientVia it clears AWS_CA_BUNDLE for t, so t must not
// be parallel.
func (s *Server) DelayedClient(t testing.TB, rtt time.Duration) *s3.Client {
	t.Helper()
	if rtt <= 0 {
		return s.Client(t)
	}
	return s.clientVia(t, func(base http.RoundTripper) http.RoundTripper { return delayed{base, rtt} })
}

// SlowDownClient is Client behind a transport that answers the first
// fails sendings of each request (by method and path) with S3's 503
// SlowDown (SlowDownResponse), as S3 does when asked too fast, and sends
// the next; it counts the 503s it made up in *slowed.
func (s *Server) SlowDownClient(t testing.TB, fails int, slowed *atomic.Int64) *s3.Client {
	t.Helper()
	return s.clientVia(t, func(base http.RoundTripper) http.RoundTripper {
		return &slowDown{base: base, fails: fails, slowed: slowed, seen: map[string]int{}}
	})
}

// clientVia is Client with its requests going through wrap's transport
// around the one s3util builds (as many idle connections). It clears
// AWS_CA_BUNDLE for t: a CA bundle needs the SDK's own HTTP client, and
// the server is plain HTTP on loopback.
func (s *Server) clientVia(t testing.TB, wrap func(http.RoundTripper) http.RoundTripper) *s3.Client {
	t.Helper()
	t.Setenv("AWS_CA_BUNDLE", "")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = s3util.DefaultRequests
	cfg := s.Config()
	cfg.HTTPClient = &http.Client{Transport: wrap(tr)}
	c, err := s3util.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatalf("s3test: client: %v", err)
	}
	return c
}

type slowDown struct {
	base   http.RoundTripper
	fails  int
	slowed *atomic.Int64
	mu     sync.Mutex
	seen   map[string]int // sendings so far, by method and path
}

const slowDownBody = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`

// SlowDownResponse is S3's answer to a client that sends too fast: 503
// SlowDown, for r (whose body it closes).
func SlowDownResponse(r *http.Request) *http.Response {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusServiceUnavailable, Status: "503 Slow Down", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(slowDownBody)),
		ContentLength: int64(len(slowDownBody)), Request: r,
	}
}

func (d *slowDown) RoundTrip(r *http.Request) (*http.Response, error) {
	k := r.Method + " " + r.URL.Path
	d.mu.Lock()
	n := d.seen[k]
	d.seen[k] = n + 1
	d.mu.Unlock()
	if n >= d.fails {
		return d.base.RoundTrip(r)
	}
	d.slowed.Add(1)
	return SlowDownResponse(r), nil
}

// delayed holds every request for rtt before sending it.
type delayed struct {
	base http.RoundTripper
	rtt  time.Duration
}

func (d delayed) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(d.rtt)
	return d.base.RoundTrip(r)
}

// Config is the s3util.Config that reaches the server.
func (s *Server) Config() s3util.Config {
	return s3util.Config{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}

// CreateBucket creates a bucket; with objectLock it is created with Object
// Lock enabled (which also turns versioning on), as legal hold requires.
func (s *Server) CreateBucket(t testing.TB, name string, objectLock bool) {
	t.Helper()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if objectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client(t).CreateBucket(ctx, in); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

// Bucket creates a bucket with a name unique within the server and returns
// the name, so that tests sharing the server do not see each other.
func (s *Server) Bucket(t testing.TB, objectLock bool) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", s.buckets.Add(1), sanitize(t.Name()))
	s.CreateBucket(t, name, objectLock)
	return name
}

// sanitize squeezes a test name into what a bucket name allows.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-") + "x"
}

func findBinary(t testing.TB) string {
	t.Helper()
	cwd, _ := os.Getwd()
	return requireBinary(t, lookup(os.Getenv("CUSTODY_TOOLS"), cwd))
}

// requireBinary fails (under CI) or skips the test when bin is "".
func requireBinary(t testing.TB, bin string) string {
	t.Helper()
	if bin != "" {
		return bin
	}
	if os.Getenv("CI") != "" {
		t.Fatal(MissingMessage)
	}
	t.Skip("SKIPPING S3 TEST: " + MissingMessage)
	return ""
}

// lookup finds versitygw in tools, then $PATH, then .tools/bin of the
// module that holds cwd; "" if nowhere.
func lookup(tools, cwd string) string {
	if tools != "" {
		if p := filepath.Join(tools, "versitygw"); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if root := repoRoot(cwd); root != "" {
		if p := filepath.Join(root, ".tools", "bin", "versitygw"); isExec(p) {
			return p
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// repoRoot walks up from dir to the directory holding go.mod ("" if none).
func repoRoot(dir string) string {
	if dir == "" {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// start launches versitygw on a free loopback port, retrying if another
// process takes the port between our probe and versitygw's bind.
func start(bin string) (*Server, error) {
	var lastErr error
	for range 3 {
		s, err := startOnce(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// The data lives in a directory of its own, not t.TempDir: the server
	// may outlive the test that started it.
	dir, err := os.MkdirTemp("", "custody-versitygw-")
	if err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	root, versions := filepath.Join(dir, "root"), filepath.Join(dir, "versions")
	for _, d := range []string{root, versions} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("start versitygw: %w", err)
		}
	}
	s := &Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		AccessKey: "custodytest",
		SecretKey: randomHex(16),
		Region:    s3util.DefaultRegion,
		done:      make(chan struct{}),
		log:       &lockedBuffer{},
	}
	cmd := exec.Command(bin,
		"--port", fmt.Sprintf("127.0.0.1:%d", port),
		"--region", s.Region,
		"--quiet",
		"posix", "--versioning-dir", versions, root)
	// Keys go by environment, not argv, so they stay out of process lists.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		os.RemoveAll(dir)
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, fmt.Errorf("start versitygw: %w\n%s", err, s.log.tail(4096))
	}
	return s, nil
}

// waitReady polls until the server answers HTTP at all (an unsigned
// request gets 403, which is an answer), the process dies, or time is up.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	client := &http.Client{Timeout: time.Second}
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		resp, err := client.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before answering: %v", s.waitErr)
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s after %s: %w", s.Endpoint, startTimeout, err)
		}
	}
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("start versitygw: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer collects the server's output; the process writes it from
// exec's copying goroutines while tests may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 { // keep memory bounded on a chatty server
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}
