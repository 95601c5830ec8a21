package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/testutil/s3test"
)

// TestEraseCutShortS3Command: an erase of a matter whose evidence is on
// an S3-compatible store (--evidence s3://… --s3-endpoint …) killed
// between its deletions and its entry leaves a journal naming the
// command that finishes it. That command, copied as it is, must reach
// the same store: it repeats the evidence flags, and names no secret.
// Before, it named --ledger, the selection and --reason only, and the
// copy failed (the matter's S3 store, without its endpoint).
func TestEraseCutShortS3Command(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw and the simulator")
	}
	srv := s3test.Start(t)
	bucket := srv.Bucket(t, false)
	ctx := context.Background()
	org, err := sim.Start(ctx, sim.Options{OrgConfig: sim.OrgConfig{Seed: 4, Conversations: 6}})
	if err != nil {
		t.Fatal(err)
	}
	defer org.Close()

	// The store is reached through a proxy that kills the erase (the
	// child whose pid victim holds) at its third deletion: two objects
	// deleted, no entry.
	var victim atomic.Int64
	var deletes atomic.Int32
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pid := victim.Load(); pid != 0 && r.Method == http.MethodDelete && deletes.Add(1) > 2 {
			_ = syscall.Kill(int(pid), syscall.SIGKILL)
			http.Error(w, "killed", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "custody.db")
	env := append(os.Environ(), childEnv+"=1", "CUSTODY_LEDGER=",
		"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_PROFILE=",
		"GENESYSCLOUD_OAUTHCLIENT_ID="+org.ClientID, "GENESYSCLOUD_OAUTHCLIENT_SECRET="+org.ClientSecret)
	child := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env, cmd.Dir = env, dir
		return cmd
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := child(args...).CombinedOutput(); err != nil {
			t.Fatalf("custody %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	store := "s3://" + bucket + "/m"
	s3flags := []string{"--evidence", store, "--s3-endpoint", proxy.URL, "--s3-region", srv.Region}
	run("--ledger", ledgerPath, "init", "--matter", "m")
	run(append([]string{"--ledger", ledgerPath, "export", "--api-url", org.APIURL, "--login-url", org.LoginURL, "--rate", "60000",
		"--interval", "2024-01-01/2024-04-05"}, s3flags...)...)
	conv := conversationWithMessages(t, ledgerPath)

	erase := child(append([]string{"--ledger", ledgerPath, "erase", "--conversation", conv, "--reason", "DSR-1"}, s3flags...)...)
	var errb bytes.Buffer
	erase.Stderr = &errb
	if err := erase.Start(); err != nil {
		t.Fatal(err)
	}
	victim.Store(int64(erase.Process.Pid))
	err = erase.Wait()
	victim.Store(0)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the erase was not killed mid-delete: %v\n%s", err, errb.String())
	}
	p, err := erasure.ReadPending(ledgerPath)
	if err != nil || p == nil {
		t.Fatalf("no journal after an erase killed mid-delete: %v, %v", p, err)
	}
	for _, want := range []string{"--evidence=" + store, "--s3-endpoint=" + proxy.URL, "--s3-region=" + srv.Region} {
		if !strings.Contains(p.Command, want) {
			t.Errorf("the journal's command %q lacks %s", p.Command, want)
		}
	}
	for _, secret := range []string{srv.SecretKey, srv.AccessKey, org.ClientSecret} {
		if strings.Contains(p.Command, secret) {
			t.Errorf("the journal's command %q names a secret", p.Command)
		}
	}

	// The command as the journal names it, run by a shell from another
	// folder, finishes the erase.
	cmd, ok := strings.CutPrefix(p.Command, "custody ")
	if !ok {
		t.Fatalf("the journal's command %q is not a custody command", p.Command)
	}
	sh := exec.Command("/bin/sh", "-c", "exec \"$CUSTODY_BIN\" "+cmd)
	sh.Env, sh.Dir = append(env, "CUSTODY_BIN="+os.Args[0]), t.TempDir()
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the journal's command failed: %v\n%s\n(%s)", err, out, p.Command)
	}
	if p, err := erasure.ReadPending(ledgerPath); err != nil || p != nil {
		t.Fatalf("the journal is still there after its command: %v, %v", p, err)
	}
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n := 0
	for _, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindErasure}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d erasure entries after the journal's command, want 1", n)
	}
}

// conversationWithMessages is a conversation of the ledger at path with
// two messages or more.
func conversationWithMessages(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindConversation}) {
		if err != nil {
			t.Fatal(err)
		}
		dd, err := leaf.DecodeDetail(e.Kind, e.Detail)
		if err != nil {
			t.Fatal(err)
		}
		if d := dd.(*leaf.ConversationDetail); d.Messages >= 2 && !d.LegalHold {
			return e.ConversationID
		}
	}
	t.Fatal("no conversation with two messages")
	return ""
}
