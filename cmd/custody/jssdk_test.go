package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/sim/simtest"
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

type jssdkLine struct {
	Call    string            `json:"call"`
	Model   string            `json:"model"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Error   string            `json:"error"`
	Done    bool              `json:"done"`
}

// TestJSSDKClient drives `custody sim serve` with the official Genesys
// Cloud JavaScript SDK (purecloud-platform-client-v2 262.0.0, pinned in
// testdata/jssdk): login through setGateway, an analytics job (create,
// poll, every results page), each WhatsApp conversation's message
// conversation, one message and the bulk call, deletion protection (get,
// protect by default and explicitly, unprotect), the audit service mapping,
// a query, its status and results, and a recording job (create, run, get,
// list). Every call must resolve, and every body pass the SDK models
// (simtest.Schema: no field outside the model, no other JSON type, no
// value outside an enum); no response may carry inin-ratelimit-* headers
// and no two the same correlation id.
func TestJSSDKClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIPPING THE JAVASCRIPT SDK TEST: node is not installed, so the official Genesys SDK cannot be run against the simulator")
	}
	dir, _ := filepath.Abs(jssdkDir())
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "purecloud-platform-client-v2", "package.json")); err != nil {
		t.Fatalf("the JavaScript SDK is not installed in %s: run make test-deps (scripts/install-test-deps.sh)", dir)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"sim", "serve", "--conversations", "60", "--seed", "4", "--job-delay", "200ms", "--audit-delay", "100ms",
			"--recording-job-delay", "100ms", "--export-to", filepath.Join(t.TempDir(), "export")}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no ready line; stderr: %s", stderr.String())
	}
	var ready map[string]string
	if err := json.Unmarshal(sc.Bytes(), &ready); err != nil {
		t.Fatalf("ready line %q: %v", sc.Text(), err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	defer func() {
		cancel()
		select {
		case <-code:
		case <-time.After(10 * time.Second):
			t.Error("sim serve did not stop")
		}
	}()

	cctx, ccancel := context.WithTimeout(ctx, 2*time.Minute)
	defer ccancel()
	cmd := exec.CommandContext(cctx, node, filepath.Join("testdata", "jssdk", "client.js"))
	cmd.Env = append(os.Environ(), "JSSDK_DIR="+dir, "SIM_API_URL="+ready["api_url"], "SIM_LOGIN_URL="+ready["login_url"],
		"SIM_CLIENT_ID="+ready["client_id"], "SIM_CLIENT_SECRET="+ready["client_secret"])
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()

	schema := simtest.LoadSchema(t)
	calls := map[string]int{}
	correlation := map[string]string{}
	done := false
	lines := bufio.NewScanner(&out)
	lines.Buffer(nil, 64<<20)
	for lines.Scan() {
		var l jssdkLine
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
			t.Fatalf("client output %.200q: %v", lines.Text(), err)
		}
		if l.Done {
			done = true
			continue
		}
		if l.Error != "" {
			t.Errorf("%s rejected: status %d, %s, body %s", l.Call, l.Status, l.Error, l.Body)
			continue
		}
		calls[l.Call]++
		for h, v := range l.Headers {
			if strings.HasPrefix(strings.ToLower(h), "inin-ratelimit-") {
				t.Errorf("%s: header %s", l.Call, h)
			}
			if strings.EqualFold(h, "inin-correlation-id") {
				if prev, dup := correlation[v]; dup {
					t.Errorf("%s and %s share correlation id %s", prev, l.Call, v)
				}
				correlation[v] = l.Call
			}
		}
		if l.Model == "" {
			continue
		}
		for _, e := range schema.Check(l.Model, l.Body) {
			t.Errorf("%s (%s): %s", l.Call, l.Model, e)
		}
		if l.Call == "getRecordingJob" && strings.Contains(string(l.Body), `"state":"FAILED"`) {
			t.Errorf("recording job failed: %s", l.Body)
		}
	}
	if runErr != nil || !done {
		t.Fatalf("client: %v (finished: %v); stderr:\n%s", runErr, done, errOut.String())
	}
	for _, want := range []string{"loginClientCredentialsGrant", "postAnalyticsConversationsDetailsJobs", "getAnalyticsConversationsDetailsJob",
		"getAnalyticsConversationsDetailsJobResults", "getConversationsMessage", "getConversationsMessageMessage", "postConversationsMessageMessagesBulk",
		"postRecordingsDeletionprotection", "putRecordingsDeletionprotection", "getAuditsQueryServicemapping", "postAuditsQuery",
		"getAuditsQueryTransactionId", "getAuditsQueryTransactionIdResults", "postRecordingJobs", "putRecordingJob", "getRecordingJob", "getRecordingJobs"} {
		if calls[want] == 0 {
			t.Errorf("no %s call resolved", want)
		}
	}
	t.Logf("calls resolved: %v", calls)
}
