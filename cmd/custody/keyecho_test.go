package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyFileContentNeverEchoed: a file given where a key belongs that
// holds the wrong thing — a signer key where a verifier key belongs, a
// file of secrets, a key-shaped line — is named in the error, with what
// is wrong with it, and what it holds never reaches stderr, in text or
// JSON logs: a signer key passed as --log-key was printed whole (and
// logged), and so was the first line of any file given as verify --key.
func TestKeyFileContentNeverEchoed(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "custody.db")
	for _, args := range [][]string{
		{"--ledger", db, "init", "--matter", "m"},
		{"witness", "keygen", "--name", "w.example", "--out", filepath.Join(dir, "w")},
	} {
		var stderr strings.Builder
		if c := run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); c != 0 {
			t.Fatalf("%v: exit %d: %s", args, c, stderr.String())
		}
	}
	write := func(name, content string) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	wKey := filepath.Join(dir, "w.key")
	lKey, lPub := filepath.Join(dir, "custody.key"), filepath.Join(dir, "custody.pub")
	secrets := write("secrets.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
	oneLine := write("password.txt", "correct-horse-battery-staple-hunter2-swordfish\n")
	// Shaped like a key (NAME+HASH+KEY), so that it gets as far as the
	// note parser, whose error must not be passed on either.
	keyShaped := write("shaped.txt", "hunter2hunter2hunter2+deadbeef+c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n")
	shapedPrivate := write("shaped.key", "PRIVATE+KEY+hunter2hunter2hunter2+deadbeef+c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n")
	cp := write("cp.txt", "x\n")
	// A witness verifier key whose HASH is not its name's and key's: one
	// hex digit of the genuine one changed.
	wPub, err := os.ReadFile(filepath.Join(dir, "w.pub"))
	if err != nil {
		t.Fatal(err)
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(string(wPub)), "+")
	hash, key, _ := strings.Cut(rest, "+")
	flip := "0"
	if hash[0] == '0' {
		flip = "1"
	}
	badHash := write("badhash.pub", name+"+"+flip+hash[1:]+"+"+key+"\n")

	type tc struct {
		name string
		file string // whose content must not be echoed
		args []string
		want int
	}
	var cases []tc
	for _, sub := range []string{"serve", "cosign"} {
		base := []string{"witness", sub, "--state", filepath.Join(dir, "ws")}
		if sub == "serve" {
			base = append(base, "--addr", "127.0.0.1:0")
		} else {
			base = append(base, "--checkpoint", cp)
		}
		with := func(args ...string) []string { return append(append([]string(nil), base...), args...) }
		cases = append(cases,
			tc{sub + "/ledger signer key as --log-key", lKey, with("--key", wKey, "--log-key", lKey), exitError},
			tc{sub + "/witness signer key as --log-key", wKey, with("--key", wKey, "--log-key", wKey), exitError},
			tc{sub + "/secrets as --log-key", secrets, with("--key", wKey, "--log-key", secrets), exitError},
			tc{sub + "/a password as --log-key", oneLine, with("--key", wKey, "--log-key", oneLine), exitError},
			tc{sub + "/a key-shaped line as --log-key", keyShaped, with("--key", wKey, "--log-key", keyShaped), exitError},
			tc{sub + "/the second --log-key a signer key", lKey, with("--key", wKey, "--log-key", lPub, "--log-key", lKey), exitError},
			tc{sub + "/secrets as --key", secrets, with("--key", secrets, "--log-key", lPub), exitError},
			tc{sub + "/a password as --key", oneLine, with("--key", oneLine, "--log-key", lPub), exitError},
			tc{sub + "/a key-shaped signer line as --key", shapedPrivate, with("--key", shapedPrivate, "--log-key", lPub), exitError},
		)
	}
	cases = append(cases,
		tc{"verify/secrets as --key", secrets, []string{"verify", "--key", secrets}, exitUsage},
		tc{"verify/a password as --key", oneLine, []string{"verify", "--key", oneLine}, exitUsage},
		tc{"verify/a key-shaped line as --key", keyShaped, []string{"verify", "--key", keyShaped}, exitUsage},
		tc{"verify/the signer key as --key", lKey, []string{"verify", "--key", lKey}, exitUsage},
		tc{"verify/secrets as --witness", secrets, []string{"verify", "--witness", secrets}, exitUsage},
		tc{"verify/the witness signer key as --witness", wKey, []string{"verify", "--witness", wKey}, exitUsage},
		tc{"verify --proof/a password as --key", oneLine, []string{"verify", "--proof", cp, "--key", oneLine}, exitUsage},
		tc{"witness attach/a key-shaped line as --witness-key", keyShaped, []string{"witness", "attach", "--witness-key", keyShaped, cp}, exitUsage},
		// A witness key is cosignature/v1's (type 04) with its own HASH: a
		// ledger's verifier key (type 01), or a HASH that does not match,
		// is refused before anything is checked with it.
		tc{"verify/the ledger's verifier key as --witness", lPub, []string{"verify", "--witness", lPub}, exitUsage},
		tc{"verify/a witness key with a wrong HASH as --witness", badHash, []string{"verify", "--witness", badHash}, exitUsage},
		tc{"witness attach/the ledger's verifier key as --witness-key", lPub, []string{"witness", "attach", "--witness-key", lPub, cp}, exitUsage},
		tc{"witness attach/a witness key with a wrong HASH as --witness-key", badHash, []string{"witness", "attach", "--witness-key", badHash, cp}, exitUsage},
	)
	for _, c := range cases {
		for _, logFormat := range []string{"text", "json"} {
			t.Run(c.name+"/"+logFormat, func(t *testing.T) {
				b, err := os.ReadFile(c.file)
				if err != nil {
					t.Fatal(err)
				}
				args := append([]string{"--ledger", db, "--log-format", logFormat}, c.args...)
				var stdout, stderr strings.Builder
				code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
				if code != c.want {
					t.Errorf("exit %d, want %d: %s", code, c.want, stderr.String())
				}
				if s := echoed(string(b), stderr.String()+stdout.String()); s != "" {
					t.Errorf("the output quotes %s (%q): %s", filepath.Base(c.file), s, stderr.String())
				}
				if !strings.Contains(stderr.String(), filepath.Base(c.file)) {
					t.Errorf("the error does not name the file %s: %s", filepath.Base(c.file), stderr.String())
				}
			})
		}
	}
}

// echoed returns a part of content, 10 bytes long, found in out ("" if
// none): each line of content is checked at every offset.
func echoed(content, out string) string {
	const n = 10
	for _, line := range strings.Split(content, "\n") {
		for i := 0; i+n <= len(line); i++ {
			if s := line[i : i+n]; strings.Contains(out, s) {
				return s
			}
		}
	}
	return ""
}
