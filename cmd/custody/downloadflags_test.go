package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/custodyhq/custody/internal/fetch"
)

// TestDownloadBoundFlags: export and refetch (captureOptions) take the
// bounds of an attachment download's body, --download-stall-timeout and
// --download-min-rate, into the client's configuration, default to
// fetch's defaults, and refuse a value fetch would silently replace by
// its default (0 or less) or one that lets a download hold a worker for
// hours, as usage errors (exit 2) naming the flag. Before, neither flag
// existed: the bounds could not be changed.
func TestDownloadBoundFlags(t *testing.T) {
	g := &globalOptions{stdout: io.Discard, stderr: io.Discard}
	parse := func(args ...string) (*captureOptions, error) {
		var o captureOptions
		fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.AddFlags(fs)
		return &o, fs.Parse(args)
	}

	o, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if cfg := o.api.config(g); cfg.DownloadIdle != fetch.DefaultDownloadIdle || cfg.MinDownloadRate != fetch.DefaultMinDownloadRate {
		t.Errorf("defaults: stall %s, rate %d; want fetch's %s, %d", cfg.DownloadIdle, cfg.MinDownloadRate, fetch.DefaultDownloadIdle, fetch.DefaultMinDownloadRate)
	}
	if err := checkDownloadBounds(o.api.DownloadStall, o.api.DownloadMinRate); err != nil {
		t.Errorf("defaults refused: %v", err)
	}

	o, err = parse("--download-stall-timeout", "5m", "--download-min-rate", "4096")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := o.api.config(g); cfg.DownloadIdle != 5*time.Minute || cfg.MinDownloadRate != 4096 {
		t.Errorf("given 5m and 4096: the client gets stall %s, rate %d", cfg.DownloadIdle, cfg.MinDownloadRate)
	}

	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--download-stall-timeout", "0"}, "--download-stall-timeout"},
		{[]string{"--download-stall-timeout", "-1s"}, "--download-stall-timeout"},
		{[]string{"--download-stall-timeout", "2h"}, "--download-stall-timeout"},
		{[]string{"--download-min-rate", "0"}, "--download-min-rate"},
		{[]string{"--download-min-rate", "-5"}, "--download-min-rate"},
		{[]string{"--download-min-rate", "1023"}, "--download-min-rate"},
	} {
		o, err := parse(c.args...)
		if err != nil {
			t.Fatal(err)
		}
		err = checkDownloadBounds(o.api.DownloadStall, o.api.DownloadMinRate)
		var ee *exitErr
		if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), "default") {
			t.Errorf("%v: %v; want a usage error (exit 2) naming %s and its default", c.args, err, c.flag)
		}
	}
}
