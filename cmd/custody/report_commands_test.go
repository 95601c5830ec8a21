package main

import (
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestReportCommandsRun runs section 6's "How a third party checks this"
// commands as printed, in the folder the report says (the ledger's), for
// a report written from another folder into a third: each exits 0. The
// HTML prints the same commands as report.json. Before, they named files
// that were not there (counsel.checkpoint, report.html beside the
// ledger, proofs/ beside custody.pub).
func TestReportCommandsRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the commands are run by a POSIX shell")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, work := t.TempDir(), t.TempDir()
	if err := os.Symlink(exe, filepath.Join(bin, "custody")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), childEnv+"=1", "CUSTODY_LEDGER=",
		"GORACE=atexit_sleep_ms=0", "GENESYSCLOUD_OAUTHCLIENT_ID=", "GENESYSCLOUD_OAUTHCLIENT_SECRET=")
	sh := func(dir, line string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("in %s: %s: %v\n%s", dir, line, err, out)
		}
	}
	// A matter with tokens, cosignatures and a report of its own; then a
	// report written from the folder above the matter into a folder with
	// a space in its name, with every proof.
	sh(work, "custody demo --dir 'the matter' --conversations 12 >/dev/null")
	sh(work, "custody --ledger 'the matter/custody.db' report --out 'reports/r 2' --proofs all >/dev/null")
	matter := filepath.Join(work, "the matter")
	for _, rep := range []string{filepath.Join(matter, "report"), filepath.Join(work, "reports", "r 2")} {
		b, err := os.ReadFile(filepath.Join(rep, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Integrity struct {
				Commands    []string `json:"commands"`
				Fingerprint string   `json:"signer_key_fingerprint"`
			} `json:"integrity"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(rep, "report.html"))
		if err != nil {
			t.Fatal(err)
		}
		pre := regexp.MustCompile(`(?s)<h3>How a third party checks this</h3>\s*<pre>(.*?)</pre>`).FindSubmatch(page)
		if pre == nil || html.UnescapeString(string(pre[1])) != strings.Join(doc.Integrity.Commands, "\n")+"\n" {
			t.Errorf("%s: the page's commands are not report.json's", rep)
		}
		ran := 0
		for _, line := range doc.Integrity.Commands {
			if strings.HasPrefix(line, "#") {
				continue
			}
			if strings.HasSuffix(line, "| sha256sum") {
				// The verifier key's fingerprint, as section 6 shows it.
				cmd := exec.Command("sh", "-c", line)
				cmd.Dir, cmd.Env = matter, env
				out, err := cmd.Output()
				if got, _, _ := strings.Cut(string(out), " "); err != nil || got != doc.Integrity.Fingerprint {
					t.Errorf("%s: %s printed %q (%v); the fingerprint is %s", rep, line, out, err, doc.Integrity.Fingerprint)
				}
				continue
			}
			if !strings.HasPrefix(line, "custody ") {
				t.Errorf("%s: %q is neither a comment nor a custody command", rep, line)
				continue
			}
			sh(matter, line)
			ran++
		}
		if ran != 3 {
			t.Errorf("%s: ran %d commands, want 3 (verify the ledger, the report, a proof): %q", rep, ran, doc.Integrity.Commands)
		}
		if !strings.Contains(doc.Integrity.Commands[0], "folder that holds the ledger") {
			t.Errorf("%s: the commands do not say where they run: %q", rep, doc.Integrity.Commands[0])
		}
	}
}
