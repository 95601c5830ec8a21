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
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
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
		{[]string{"--media-url-ttl", "2d"}, 48 * time.Hour}, // days, as the help says
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

// TestSimServeMediaExpiredAnswer: --media-expired-answer picks how the
// media host refuses a lapsed url (each of sim.MediaExpiredAnswers, S3's
// and CloudFront's among them), "request-expired" by default; anything
// else is a usage error.
func TestSimServeMediaExpiredAnswer(t *testing.T) {
	parse := func(args ...string) (sim.Options, error) {
		o := &simServeOptions{}
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o.options(context.Background())
	}
	if opts, err := parse(); err != nil || opts.MediaExpiredAnswer != sim.MediaExpiredRequest {
		t.Errorf("default: %q, %v; want %q", opts.MediaExpiredAnswer, err, sim.MediaExpiredRequest)
	}
	for _, a := range sim.MediaExpiredAnswers {
		if opts, err := parse("--media-expired-answer", a); err != nil || opts.MediaExpiredAnswer != a {
			t.Errorf("%s: %q, %v", a, opts.MediaExpiredAnswer, err)
		}
	}
	if _, err := parse("--media-expired-answer", "bogus"); !isUsage(err) {
		t.Errorf("bogus answer: %v, want a usage error", err)
	}
}

// TestRefetchMediaCLI: `custody refetch` downloads the attachments of the
// messages it captures, as export does (its --media, on by default): the
// gaps it fills keep their attachments as evidence, every one downloaded
// (the simulator's urls do not expire here), the media host never saw a
// bearer token; `refetch --media=false` skips them.
func TestRefetchMediaCLI(t *testing.T) {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := simtest.Start(t, sim.Options{
		OrgConfig: sim.OrgConfig{Seed: 5, Conversations: 60, Start: start, End: start.Add(8 * 24 * time.Hour), OtherMediaShare: 0.1},
		JobDelay:  20 * time.Millisecond, AuditDelay: 20 * time.Millisecond,
	})
	old := filepath.Join(t.TempDir(), "old-export")
	target, err := recexport.OpenTarget(context.Background(), old, s3util.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recexport.Export(context.Background(), srv.Org, nil, target, recexport.DefaultProfile(recexport.ShapeGenesys, 5)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUSTODY_LEDGER", "")
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_ID", srv.ClientID)
	t.Setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", srv.ClientSecret)
	t.Setenv("GENESYSCLOUD_ACCESS_TOKEN", "")
	// refetch captures, after an export of the first four days and a diff
	// of the whole old export, the gaps: every conversation of the last
	// four; it returns the refetch's result, its message entries and the
	// attachments the media host served it.
	refetch := func(t *testing.T, flags ...string) (reconcile.Result, []mediaLogLine, int64) {
		t.Helper()
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
		api := []string{"--api-url", srv.APIURL, "--login-url", srv.LoginURL, "--rate-limit", "60000"}
		cli(0, "init", "--matter", "Refetch v. Media")
		cli(0, append(api, "export", "--interval", "2024-03-01/2024-03-05")...)
		cli(exitFindings, "diff", old)
		before := srv.Stats().Routes[sim.MediaRoute].Status["200"]
		out := cli(0, append(append(api, "refetch", "--diff", "latest", "--output", "json"), flags...)...)
		served := srv.Stats().Routes[sim.MediaRoute].Status["200"] - before
		var res reconcile.Result
		if err := json.Unmarshal(out, &res); err != nil || res.Export == nil || res.Counts[reconcile.Filled] == 0 {
			t.Fatalf("refetch: %v\n%s", err, out)
		}
		var entries []mediaLogLine
		for line := range bytes.Lines(cli(0, "log", "--run", res.Export.RunID, "--kind", "message", "--output", "json")) {
			var e mediaLogLine
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			entries = append(entries, e)
		}
		return res, entries, served
	}

	res, entries, served := refetch(t)
	acct := res.Export
	withMedia := 0
	for _, e := range entries {
		for _, m := range e.Leaf.Detail.Media {
			if m.Status != "" || m.Evidence == "" { // downloaded: no status, the bytes kept as evidence
				t.Errorf("message %s: attachment %+v not downloaded", e.Leaf.MessageID, m)
			}
		}
		if len(e.Leaf.Detail.Media) > 0 {
			withMedia++
		}
	}
	if withMedia == 0 || acct.MediaDownloaded == 0 || acct.MediaExpired+acct.MediaRefused+acct.MediaMismatch != 0 {
		t.Fatalf("refetch captured %d messages, %d with attachments; accounting: %d downloaded, %d expired, %d refused, %d mismatched; want attachments, all downloaded",
			len(entries), withMedia, acct.MediaDownloaded, acct.MediaExpired, acct.MediaRefused, acct.MediaMismatch)
	}
	if media := srv.Stats().Routes[sim.MediaRoute]; media.Status["400"] != 0 || served != int64(acct.MediaDownloaded) {
		t.Errorf("media host answers %v, %d of them to the refetch; its accounting: %d downloaded (a 400 is a request carrying an Authorization header)", media.Status, served, acct.MediaDownloaded)
	}

	res, entries, served = refetch(t, "--media=false")
	for _, e := range entries {
		if len(e.Leaf.Detail.Media) > 0 {
			t.Fatalf("--media=false: message %s has media %+v", e.Leaf.MessageID, e.Leaf.Detail.Media)
		}
	}
	if len(entries) == 0 || res.Export.MediaDownloaded != 0 || served != 0 {
		t.Errorf("--media=false: %d messages captured, %d attachments downloaded, %d served", len(entries), res.Export.MediaDownloaded, served)
	}
}

// mediaLogLine is the part of a `custody log --output json` line these tests read.
type mediaLogLine struct {
	Leaf struct {
		MessageID string `json:"message_id"`
		Detail    struct {
			Media []struct {
				Status   string `json:"status"`
				Evidence string `json:"evidence_sha256"`
			} `json:"media"`
		} `json:"detail"`
	} `json:"leaf"`
}
