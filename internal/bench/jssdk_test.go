package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jssdkDir is where scripts/install-test-deps.sh installs the official
// JavaScript SDK: $CUSTODY_JSSDK, else jssdk beside $CUSTODY_TOOLS (the
// tools' bin folder), else the module's .tools/jssdk.
func jssdkDir() string {
	if d := os.Getenv("CUSTODY_JSSDK"); d != "" {
		return d
	}
	if t := os.Getenv("CUSTODY_TOOLS"); t != "" {
		return filepath.Join(filepath.Dir(t), "jssdk")
	}
	return filepath.Join("..", "..", ".tools", "jssdk")
}

// TestRunJSSDK runs the export benchmark on a tiny org with the SDK row
// and checks its counts, not its timing: the SDK lists the same
// conversations as custody, with about two requests each, and with no
// faults and a generous limit receives every message custody captured.
func TestRunJSSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	dir := jssdkDir()
	if _, err := JSSDKAvailable(dir); err != nil {
		t.Skipf("SKIPPED LOUDLY: %v (run scripts/install-test-deps.sh; CI does)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := Config{Conversations: 20, RateLimit: 6000, Seed: 3, Concurrency: 4, SkipNaive: true, JSSDK: dir, JSSDKWorkers: 4}
	rows, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Method != "custody" || rows[1].Method != "js-sdk" {
		t.Fatalf("rows: %+v", rows)
	}
	c, s := rows[0], rows[1]
	if c.Conversations == 0 || c.Messages == 0 || c.Lost != 0 || c.MessagesLost != 0 {
		t.Fatalf("custody row implausible: %+v", c)
	}
	if s.Conversations != c.Conversations {
		t.Errorf("js-sdk listed %d conversations, custody %d", s.Conversations, c.Conversations)
	}
	if s.Messages != c.Messages || s.MessagesLost != 0 || s.Lost != 0 || s.TooMany != 0 {
		t.Errorf("js-sdk row: %+v; custody captured %d messages", s, c.Messages)
	}
	// listing (create, at least one poll, one results page) plus the
	// message conversation and the bulk per conversation
	if s.Listing < 3 || s.Requests != s.Listing+2*int64(s.Conversations) {
		t.Errorf("js-sdk made %d requests (%d listing) for %d conversations", s.Requests, s.Listing, s.Conversations)
	}
	if s.Wall <= 0 || OverJSSDK(rows, c) <= 0 {
		t.Errorf("js-sdk wall %v, ratio %v", s.Wall, OverJSSDK(rows, c))
	}
	var b strings.Builder
	PrintTable(&b, cfg, rows)
	if !strings.Contains(b.String(), "js-sdk") || !strings.Contains(b.String(), "wall/js-sdk") {
		t.Errorf("table lacks the js-sdk row:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
}

// TestRunJSSDKFaults: with faults the SDK row still comes back (no
// panic, no error), and it cannot receive more than custody captured;
// the js-sdk-complete row, told to lose nothing, receives every message
// custody captured, in at least as many requests.
func TestRunJSSDKFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	dir := jssdkDir()
	if _, err := JSSDKAvailable(dir); err != nil {
		t.Skipf("SKIPPED LOUDLY: %v (run scripts/install-test-deps.sh; CI does)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rows, err := Run(ctx, Config{Conversations: 20, RateLimit: 6000, Seed: 4, Concurrency: 4, SkipNaive: true, JSSDK: dir,
		Faults: "5xx=0.1,truncate=0.1", JSSDKComplete: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[1].Method != MethodJSSDK || rows[2].Method != MethodJSSDKComplete {
		t.Fatalf("rows: %+v", rows)
	}
	c, s, f := rows[0], rows[1], rows[2]
	if s.Messages > c.Messages || s.Messages+s.MessagesLost != c.Messages || s.Conversations != c.Conversations {
		t.Errorf("custody %+v\njs-sdk %+v", c, s)
	}
	if f.Lost != 0 || f.Messages != c.Messages || f.MessagesLost != 0 || f.Conversations != c.Conversations ||
		f.Requests < f.Listing+2*int64(f.Conversations) {
		t.Errorf("custody %+v\njs-sdk-complete %+v", c, f)
	}
	if OverJSSDKComplete(rows, c) <= 0 {
		t.Errorf("no wall/complete ratio for custody")
	}
	var b strings.Builder
	PrintTable(&b, Config{JSSDKComplete: true}, rows)
	if !strings.Contains(b.String(), "js-sdk-complete") || !strings.Contains(b.String(), "wall/complete") {
		t.Errorf("table lacks the js-sdk-complete row:\n%s", b.String())
	}
	t.Logf("custody %d messages, js-sdk %d (lost %d, %d conversations lost), js-sdk-complete %d in %d requests",
		c.Messages, s.Messages, s.MessagesLost, s.Lost, f.Messages, f.Requests)
}

func TestJSSDKAvailableMissing(t *testing.T) {
	if _, err := JSSDKAvailable(t.TempDir()); err == nil {
		t.Fatal("an empty folder passed for the SDK")
	}
	if _, err := JSSDKAvailable(""); err == nil {
		t.Fatal("no folder passed for the SDK")
	}
}
