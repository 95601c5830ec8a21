//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// childEnv makes the test binary run as custody (TestMain).
const childEnv = "CUSTODY_TEST_AS_CUSTODY"

// rssLimit is the peak resident set any diff may reach, whatever the input.
const rssLimit = 300 << 20

// writeBigValueFile writes, streaming, a Genesys recording whose second
// message's text is a string of size bytes.
func writeBigValueFile(t *testing.T, path, conv string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, `{"conversationId":%q,"messagingTranscript":[{"id":"m1","timestamp":"2024-03-01T10:00:00.123Z","messageText":"hi"},{"id":"m2","messageText":"`, conv)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for n := size; n > 0; n -= int64(len(chunk)) {
		if _, err := w.Write(chunk[:min(n, int64(len(chunk)))]); err != nil {
			t.Fatal(err)
		}
	}
	io.WriteString(w, `"}]}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runChild runs custody ARGS as a child process and returns its exit
// code, stdout and peak resident set (getrusage's ru_maxrss, as
// internal/bench measures a diff).
func runChild(t *testing.T, args ...string) (int, string, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "CUSTODY_LEDGER=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	rss := int64(ru.Maxrss) * 1024
	if runtime.GOOS == "darwin" {
		rss = int64(ru.Maxrss)
	}
	t.Logf("custody %s: exit %d, peak RSS %.1f MB\nstderr: %s", strings.Join(args, " "), code, float64(rss)/(1<<20), errb.String())
	return code, out.String(), rss
}

// A value far larger than any message — one 400 MB string; three files of
// 200 MB strings read at once — is a finding naming the file and offset,
// and the diff's peak RSS stays under 300 MB (measured on a child
// process, not inferred from a timing).
func TestDiffBigValueMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 GB of export files")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use: peak RSS means nothing under -race")
	}
	dir := t.TempDir()
	ledger := filepath.Join(dir, "custody.db")
	var initErr bytes.Buffer
	if code := run(context.Background(), []string{"init", "--ledger", ledger, "--matter", "rss"}, nil, io.Discard, &initErr); code != 0 {
		t.Fatalf("init: exit %d: %s", code, initErr.String())
	}
	one := filepath.Join(dir, "one")
	writeBigValueFile(t, filepath.Join(one, "conversation_id=c1", "r.json"), "c1", 400<<20)
	three := filepath.Join(dir, "three")
	for i := range 3 {
		c := fmt.Sprintf("c%d", i+1)
		writeBigValueFile(t, filepath.Join(three, "conversation_id="+c, "r.json"), c, 200<<20)
	}
	// Values just under the limit, in every message of eight files: read
	// in full, four files at a time.
	under := filepath.Join(dir, "under")
	for i := range 8 {
		c := fmt.Sprintf("c%d", i+1)
		p := filepath.Join(under, "conversation_id="+c, "r.json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		text := strings.Repeat("é", 500<<10) // 1000 KiB of UTF-8
		io.WriteString(w, `{"messagingTranscript":[`)
		for m := range 20 {
			if m > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"id":"m%d","messageText":"%s"}`, m, text)
		}
		io.WriteString(w, `]}`)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, tc := range []struct {
		name, src string
		files     int
		extra     []string
	}{
		{"one 400 MB value, recorded", one, 1, nil},
		{"three 200 MB values, not recorded", three, 3, []string{"--no-record"}},
		{"160 values just under the limit", under, 0, []string{"--no-record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"diff", tc.src, "--ledger", ledger, "--output", "jsonl"}, tc.extra...)
			code, out, rss := runChild(t, args...)
			if code != exitFindings {
				t.Fatalf("exit %d, want %d; stdout:\n%s", code, exitFindings, out)
			}
			if n := strings.Count(out, `"detail":"JSON value too large: the value at byte `); n != tc.files {
				t.Errorf("%d value-too-large findings, want %d:\n%s", n, tc.files, out)
			}
			if tc.files > 0 && !strings.Contains(out, `"kind":"file_unreadable","conversation_id":"c1","file":"conversation_id=c1/r.json"`) {
				t.Errorf("the finding does not name the file:\n%s", out)
			}
			if rss >= rssLimit {
				t.Errorf("peak RSS %.1f MB, limit %d MB", float64(rss)/(1<<20), rssLimit>>20)
			}
		})
	}
}
