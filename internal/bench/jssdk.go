package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/sim"
)

// jssdkExportJS is what a user of the official Genesys JavaScript SDK
// writes to export the same scope; embedded so any custody binary can run
// it, given node and an installed SDK.
//
//go:embed jssdk_export.js
var jssdkExportJS []byte

// ErrNoJSSDK says node or the SDK is not installed: the SDK row is left
// out, not failed.
var ErrNoJSSDK = errors.New("bench: the JavaScript SDK baseline needs node and the SDK (scripts/install-test-deps.sh installs it into .tools/jssdk)")

// JSSDKAvailable returns node's path, or an error wrapping ErrNoJSSDK
// saying what is missing in dir (the folder holding node_modules).
func JSSDKAvailable(dir string) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("%w: node not found in PATH", ErrNoJSSDK)
	}
	if dir == "" {
		return "", fmt.Errorf("%w: no SDK folder given", ErrNoJSSDK)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "purecloud-platform-client-v2", "package.json")); err != nil {
		return "", fmt.Errorf("%w: %s has no node_modules/purecloud-platform-client-v2", ErrNoJSSDK, dir)
	}
	return node, nil
}

// jssdkResult is the script's one line of output.
type jssdkResult struct {
	WallSeconds       float64 `json:"wall_seconds"`
	Requests          int64   `json:"requests"`
	TooMany           int64   `json:"too_many"`
	Conversations     int     `json:"conversations"`
	ConversationsLost int     `json:"conversations_lost"`
	Messages          int     `json:"messages"`
}

// maxScriptOutput bounds what is read from the script: one short line.
const maxScriptOutput = 1 << 20

// Methods of the SDK rows: the script as an SDK user writes it, and the
// same told to lose nothing (COMPLETE=1: every call tried again on a 5xx,
// a dropped connection or a truncated body), the work custody does.
const (
	MethodJSSDK         = "js-sdk"
	MethodJSSDKComplete = "js-sdk-complete"
)

// runJSSDK runs the SDK export script against srv with the given workers
// and returns its row; complete runs it in its lose-nothing mode. The
// request and 429 counts are the simulator's (as for the other methods),
// not the script's own.
func runJSSDK(ctx context.Context, cfg Config, srv *sim.Server, interval string, complete bool) (Row, error) {
	node, err := JSSDKAvailable(cfg.JSSDK)
	if err != nil {
		return Row{}, err
	}
	dir, err := filepath.Abs(cfg.JSSDK)
	if err != nil {
		return Row{}, err
	}
	tmp, err := os.MkdirTemp("", "custody-bench-jssdk-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "export.js")
	if err := os.WriteFile(script, jssdkExportJS, 0o600); err != nil {
		return Row{}, err
	}
	workers := cfg.JSSDKWorkers
	if workers < 1 {
		workers = 8
	}
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "JSSDK_DIR="+dir, "SIM_API_URL="+srv.APIURL, "SIM_LOGIN_URL="+srv.LoginURL,
		"SIM_CLIENT_ID="+srv.ClientID, "SIM_CLIENT_SECRET="+srv.ClientSecret, "SIM_INTERVAL="+interval,
		"WORKERS="+strconv.Itoa(workers))
	method := MethodJSSDK
	if complete {
		cmd.Env = append(cmd.Env, "COMPLETE=1")
		method = MethodJSSDKComplete
	}
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxScriptOutput, maxScriptOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := srv.Stats()
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Row{}, ctx.Err()
		}
		return Row{}, fmt.Errorf("bench: JavaScript SDK export (%s): %w: %s", method, err, bytes.TrimSpace(stderr.Bytes()))
	}
	wall := time.Since(t0)
	var res jssdkResult
	line := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return Row{}, fmt.Errorf("bench: JavaScript SDK export (%s): output %q: %w", method, truncateForError(line), err)
	}
	if res.WallSeconds > 0 {
		// The script's own clock excludes node's start-up and loading the
		// SDK, as custody's excludes building the binary.
		wall = time.Duration(res.WallSeconds * float64(time.Second))
	}
	req, listing, setup, tooMany := count(before, srv.Stats())
	return Row{Method: method, Conversations: res.Conversations, Requests: req, Listing: listing, Setup: setup, TooMany: tooMany,
		Lost: res.ConversationsLost, Messages: res.Messages, Wall: wall, Limit: cfg.RateLimit, Clients: 1, JobDelay: jobDelay}, nil
}

func truncateForError(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// limitedBuffer keeps the first max bytes written and drops the rest, so
// a runaway child cannot exhaust memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// expectedMessages is the number of messages in the org's WhatsApp
// conversations: what a complete export captures.
func expectedMessages(org *sim.Org) int {
	n := 0
	for i := range org.Len() {
		c := org.ConversationAt(i)
		if c.MessageType == "whatsapp" {
			n += len(c.Messages)
		}
	}
	return n
}
