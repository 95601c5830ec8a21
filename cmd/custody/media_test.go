package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/simtest"
)

// TestExportMediaCLI: `custody export` downloads attachments by default;
// against a simulator whose clock makes the earliest urls expired (30
// days after their message) and that refuses the Recordings service's
// copies (403, as to a client without recording:recording:view), the run
// still exits 0, its accounting counts downloaded and expired
// attachments, the media host never saw a bearer token, and `custody
// verify --evidence` exits 0.
func TestExportMediaCLI(t *testing.T) {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	shift := time.Until(start.Add(sim.DefaultMediaURLTTL + 3*24*time.Hour))
	srv := simtest.Start(t, sim.Options{
		OrgConfig:           sim.OrgConfig{Seed: 5, Conversations: 40, Start: start, End: start.Add(7 * 24 * time.Hour), OtherMediaShare: 0.1},
		MediaURLTTL:         sim.DefaultMediaURLTTL,
		RecordingsForbidden: true,
		Now:                 func() time.Time { return time.Now().Add(shift) },
		JobDelay:            20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	t.Setenv("CUSTODY_LEDGER", "")
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
	t.Setenv("GENESYSCLOUD_ACCESS_TOKEN", "")
	ledger := filepath.Join(t.TempDir(), "custody.db")
	cli := func(want int, args ...string) []byte {
		t.Helper()
		var o, e bytes.Buffer
		args = append([]string{"--ledger", ledger}, args...)
		if code := run(context.Background(), args, strings.NewReader(""), &o, &e); code != want {
			t.Fatalf("custody %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, o.String(), e.String())
		}
		return o.Bytes()
	}
	cli(0, "init", "--matter", "Media v. Time")
	out := cli(0, "export", "--api-url", srv.APIURL, "--login-url", srv.LoginURL, "--rate-limit", "60000",
		"--interval", "2024-02-27/2024-03-12", "--output", "json")
	var acct export.Accounting
	if err := json.Unmarshal(out, &acct); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !acct.Complete() || acct.MediaDownloaded == 0 || acct.MediaExpired == 0 || acct.MediaRefused != 0 || acct.MediaMismatch != 0 {
		t.Fatalf("accounting %+v: want complete, some attachments downloaded and some expired", acct)
	}
	media := srv.Stats().Routes[sim.MediaRoute]
	if media.Status["400"] != 0 || media.Status["200"] != int64(acct.MediaDownloaded) || media.Status["403"] != int64(acct.MediaExpired) {
		t.Fatalf("media host answers %v, accounting %d downloaded %d expired (a 400 is a request carrying an Authorization header)", media.Status, acct.MediaDownloaded, acct.MediaExpired)
	}
	cli(0, "verify", "--evidence")
	// --media=false: a new matter exports no attachment.
	ledger = filepath.Join(t.TempDir(), "custody.db")
	cli(0, "init", "--matter", "No media")
	out = cli(0, "export", "--api-url", srv.APIURL, "--login-url", srv.LoginURL, "--rate-limit", "60000",
		"--interval", "2024-02-27/2024-03-12", "--output", "json", "--media=false")
	acct = export.Accounting{}
	if err := json.Unmarshal(out, &acct); err != nil || acct.MediaDownloaded+acct.MediaExpired != 0 || !acct.Complete() {
		t.Fatalf("--media=false: %v %+v", err, acct)
	}
}

// TestSimServeMediaURLTTL: sim serve's attachment urls expire 30 days
// after their message unless --media-url-ttl says otherwise.
func TestSimServeMediaURLTTL(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 30 * 24 * time.Hour},
		{[]string{"--media-url-ttl", "0"}, 0},
		{[]string{"--media-url-ttl", "1h"}, time.Hour},
	} {
		o := &simServeOptions{}
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		opts, err := o.options(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if opts.MediaURLTTL != tt.want {
			t.Errorf("%v: MediaURLTTL %v, want %v", tt.args, opts.MediaURLTTL, tt.want)
		}
	}
}
