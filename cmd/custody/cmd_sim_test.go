package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSimServe runs 'custody sim serve' in process: it prints exactly one
// JSON line once ready, serves, and exits 0 when its context is cancelled
// (what SIGINT and SIGTERM do through main's signal.NotifyContext).
func TestSimServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"sim", "serve", "--conversations", "50", "--seed", "3", "--client-id", "cid"}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no ready line; stderr: %s", stderr.String())
	}
	var ready map[string]string
	dec := json.NewDecoder(strings.NewReader(sc.Text()))
	if err := dec.Decode(&ready); err != nil {
		t.Fatalf("ready line %q: %v", sc.Text(), err)
	}
	for _, k := range []string{"api_url", "login_url", "client_id", "client_secret", "org_id"} {
		if ready[k] == "" {
			t.Fatalf("ready line lacks %s: %s", k, sc.Text())
		}
	}
	if len(ready) != 5 || ready["client_id"] != "cid" {
		t.Fatalf("ready line %s", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	req, _ := http.NewRequest("POST", ready["login_url"]+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ready["client_id"], ready["client_secret"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d", resp.StatusCode)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; stderr: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim serve did not stop")
	}
}

func TestSimServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "serve", "--faults", "boom=1"},
		{"sim", "serve", "--legal-hold-share", "2"},
		{"sim", "serve", "--start", "2024-02-01", "--end", "2024-01-01"},
		{"sim", "serve", "--endpoint-limit", "audits=3"},
		{"sim", "serve", "--export-to", "/tmp/x", "--export-shape", "csv"},
		// A malformed address is the flag's fault (it exited 1, as a
		// failure to listen); values the simulator would have replaced
		// by its defaults are refused, not replaced.
		{"sim", "serve", "--addr", "bogus"},
		{"sim", "serve", "--addr", "127.0.0.1:99999"},
		{"sim", "serve", "--agents", "0"},
		{"sim", "serve", "--token-ttl", "0"},
		{"sim", "serve", "--daily-retry-after", "-1s"},
		{"sim", "serve", "--query-max-interval", "0"},
		{"sim", "serve", "--query-max-page-size", "0"},
		{"sim", "serve", "--job-delay", "-1s"},
		{"sim", "tsa", "--addr", "bogus"},
	} {
		var stdout, stderr strings.Builder
		// Bounded: a value taken would start serving until cancelled.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if c := run(ctx, args, strings.NewReader(""), &stdout, &stderr); c != exitUsage || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, c, stdout.String(), stderr.String())
		}
		cancel()
	}
}
