package verify_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/witness"
)

// TestAppendixWitnessFileChecked: a --witness KEY_FILE the appendix's
// verifier cannot use is "cannot check LEDGER|PROOF_FILE: --witness FILE:
// <why>", as a VERIFIER_KEY that is not one is, before anything is
// checked and never quoting the file; exit 1 for a file it cannot read,
// 2 for one that holds no witness verifier key, as custody (a usage
// error). The old appendix died with a Python traceback on a file that is
// not there or a folder (FileNotFoundError, IsADirectoryError), and said
// "--witness FILE: …" without naming what it could not check for a file
// that holds no key; it exited 1 for a file that holds no key.
func TestAppendixWitnessFileChecked(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	a := newAttestFixture(t)
	dir := t.TempDir()
	p, err := a.l.Prove(a.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(p)
	proof := filepath.Join(dir, "p.json")
	os.WriteFile(proof, js, 0o644)
	const secret = "do-not-print-this-content"
	skey, _, err := witness.GenerateKey("w.example")
	if err != nil {
		t.Fatal(err)
	}
	file := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tc := range []struct {
		name, file, says, never string
		exit                    int
	}{
		{"not there", filepath.Join(dir, "missing.pub"), "cannot read it: No such file or directory", "", 1},
		{"a folder", dir, "it is not a regular file", "", 1},
		{"not text", file("bin.pub", []byte("\xff\xfe"+secret)), "not a witness verifier key: it is not text", secret, 2},
		{"no key", file("notes.txt", []byte(secret+"\n")), "not a witness verifier key: it is not of the form NAME+HASH+KEY", secret, 2},
		{"the signer key", file("w.key", []byte(skey+"\n")), "not a witness verifier key: it is a signer key", skey[len(skey)-20:], 2},
		{"over 64 KiB", file("big.pub", []byte(strings.Repeat(secret, 3000))), "it is over 64 KiB, not a key file", secret, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for mode, checked := range map[string]string{"ledger": a.path, "proof": proof} {
				out, err := python(mode, checked, a.l.VerifierKey(), "--witness", a.wkeyFile, "--witness", tc.file)
				var ee *exec.ExitError
				want := "cannot check " + checked + ": --witness " + tc.file + ": " + tc.says
				if !errors.As(err, &ee) || ee.ExitCode() != tc.exit || !strings.HasPrefix(out, want) || strings.Contains(out, "Traceback") {
					t.Errorf("%s: %v\n%s\nwant exit %d and %q", mode, err, out, tc.exit, want)
				}
				if tc.never != "" && strings.Contains(out, tc.never) {
					t.Errorf("%s: the file's content is printed:\n%s", mode, out)
				}
			}
		})
	}
	// The key file readable, for both.
	for mode, checked := range map[string]string{"ledger": a.path, "proof": proof} {
		if out, err := python(mode, checked, a.l.VerifierKey(), "--witness", a.wkeyFile); err != nil || !strings.HasPrefix(out, "OK ") {
			t.Errorf("%s: %v\n%s", mode, err, out)
		}
	}
}

// TestAppendixUsage: a command line the appendix's verifier cannot act on
// prints its usage and says what is wrong, exit 2 as custody's usage
// errors, checking nothing. The old appendix checked a ledger for any
// first argument but "proof" ("OK" to "ledgr"), ignored a proof file's
// extra arguments, and died with a traceback on an option without its
// value or a threshold that is not a number; then it exited 1, as for a
// failure, and took a threshold above the number of witness keys for a
// ledger that fails (custody: a usage error).
func TestAppendixUsage(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	a := newAttestFixture(t)
	key := a.l.VerifierKey()
	verdict := regexp.MustCompile(`(?m)^(OK|FAIL|WARN) `)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"no argument", nil, "too few arguments"},
		{"no key", []string{"ledger", a.path}, "too few arguments"},
		{"another mode", []string{"ledgr", a.path, key}, `the first argument is the mode, "proof" or "ledger"`},
		{"verify", []string{"verify", a.path, key}, `the first argument is the mode, "proof" or "ledger"`},
		{"the file first", []string{a.path, "ledger", key}, `the first argument is the mode, "proof" or "ledger"`},
		{"a proof and more", []string{"proof", a.path, key, a.path}, "proof takes one PROOF_FILE and its VERIFIER_KEY"},
		{"--witness without a file", []string{"ledger", a.path, key, "--witness"}, "--witness needs a value"},
		{"--tsa-roots without a file", []string{"ledger", a.path, key, "--tsa-roots"}, "--tsa-roots needs a value"},
		{"--witness-threshold without a number", []string{"ledger", a.path, key, "--witness-threshold"}, "--witness-threshold needs a value"},
		{"--witness-threshold not a number", []string{"ledger", a.path, key, "--witness", a.wkeyFile, "--witness-threshold", "one"}, "--witness-threshold needs a number"},
		{"--witness-threshold above the witnesses", []string{"ledger", a.path, key, "--witness", a.wkeyFile, "--witness-threshold", "2"},
			"--witness-threshold must be at most the number of --witness keys (1)"},
		{"--witness-threshold without a witness", []string{"ledger", a.path, key, "--witness-threshold", "1"},
			"--witness-threshold must be at most the number of --witness keys (0)"},
		{"a proof, --witness-threshold above the witnesses", []string{"proof", a.path, key, "--witness", a.wkeyFile, "--witness-threshold", "2"},
			"--witness-threshold must be at most the number of --witness keys (1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := python(tc.args...)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(out, "custody_verify.py: "+tc.says+"\n") ||
				!strings.Contains(out, "custody_verify.py ledger LEDGER VERIFIER_KEY") || strings.Contains(out, "Traceback") {
				t.Errorf("%v\n%s\nwant exit 2, %q and the usage", err, out, tc.says)
			}
			if verdict.MatchString(out) {
				t.Errorf("it checked something:\n%s", out)
			}
		})
	}
	if out, err := python("ledger", a.path, key, "--witness", a.wkeyFile, "--witness-threshold", "1"); err != nil || !strings.HasPrefix(out, "OK ") {
		t.Errorf("a good command line: %v\n%s", err, out)
	}
}

// TestAppendixExitStatus: the appendix's verifier exits as custody verify
// does: 3 for a failure, in either mode, and 1 for a file it cannot read,
// each with a line that says so and never a traceback. The old appendix
// exited 1 for a failure, and a proof failed with a Python traceback (an
// AssertionError, or whatever a hostile file made the code raise first);
// a missing ledger or proof file was a FileNotFoundError traceback.
func TestAppendixExitStatus(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	a := newAttestFixture(t)
	dir := t.TempDir()
	p, err := a.l.Prove(a.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(p)
	file := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	edited := regexp.MustCompile(`"index":1`).ReplaceAll(js, []byte(`"index":2`))
	if string(edited) == string(js) {
		t.Fatalf("the proof has no index to edit:\n%s", js)
	}
	// Another ledger's latest checkpoint, given as a checkpoint kept
	// outside: a failure of the ledger.
	other := newAttestFixture(t)
	cps, err := other.l.Checkpoints(other.ctx)
	if err != nil || len(cps) == 0 {
		t.Fatal(cps, err)
	}
	foreign := file("foreign.note", []byte(cps[len(cps)-1].Note))
	key := a.l.VerifierKey()
	// A ledger with entries and no checkpoint: every check holds, nothing
	// is signed.
	unsigned := newFixture(t)
	unsigned.appendN(3)
	for _, tc := range []struct {
		name string
		args []string
		exit int
		says string
	}{
		{"a good ledger", []string{"ledger", a.path, key}, 0, "OK "},
		{"a good proof", []string{"proof", file("p.json", js), key}, 0, "OK "},
		{"a ledger that fails", []string{"ledger", a.path, key, foreign}, 3, "FAIL "},
		{"a ledger no checkpoint covers", []string{"ledger", unsigned.path, unsigned.l.VerifierKey()}, 4, "UNSIGNED 3 "},
		{"a proof that fails", []string{"proof", file("e.json", edited), key}, 3, "FAIL proof: "},
		{"a proof that is not UTF-8", []string{"proof", file("b.json", []byte("\xff\xfe{")), key}, 3, "FAIL proof: "},
		{"a proof that is not an object", []string{"proof", file("a.json", []byte("[1]")), key}, 3, "FAIL proof: "},
		{"no ledger there", []string{"ledger", filepath.Join(dir, "missing.db"), key}, 1, "cannot read " + filepath.Join(dir, "missing.db") + ": No such file or directory"},
		{"no proof there", []string{"proof", filepath.Join(dir, "missing.json"), key}, 1, "cannot read " + filepath.Join(dir, "missing.json") + ": No such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := python(tc.args...)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tc.exit || !strings.HasPrefix(out, tc.says) || strings.Contains(out, "Traceback") {
				t.Errorf("exit %d:\n%s\nwant exit %d and a line starting %q", code, out, tc.exit, tc.says)
			}
		})
	}
}

// TestAppendixProofBounds: a proof file custody refuses for its bounds
// (docs/ledger-format.md, "Proof files": at most 16 timestamps, each
// with a tsa and a token) the appendix's verifier refuses too. The old
// appendix said OK to 17 copies of a good token, and to a token whose
// tsa is "", where custody's ParseProof refuses both.
func TestAppendixProofBounds(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	a := newAttestFixture(t)
	p, err := a.l.Prove(a.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(p)
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	ts, _ := m["timestamps"].([]any)
	if len(ts) == 0 {
		t.Fatalf("the fixture's proof carries no timestamp to copy:\n%s", js)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
	}{
		{"17 timestamps", func(m map[string]any) {
			var many []any
			for range 17 {
				many = append(many, ts[0])
			}
			m["timestamps"] = many
		}},
		{"a timestamp without its tsa", func(m map[string]any) {
			t0 := map[string]any{}
			for k, v := range ts[0].(map[string]any) {
				t0[k] = v
			}
			t0["tsa"] = ""
			m["timestamps"] = []any{t0}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c map[string]any
			json.Unmarshal(js, &c)
			tc.edit(c)
			b, _ := json.Marshal(c)
			if _, err := leaf.ParseProof(b); err == nil {
				t.Fatalf("custody takes the proof: %s", b)
			}
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := python("proof", f, a.l.VerifierKey())
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.HasPrefix(out, "FAIL proof: ") {
				t.Errorf("the appendix: %v\n%s\nwant exit 3 and FAIL proof:", err, out)
			}
		})
	}
}

// TestAppendixStrictBase64: base64 with a bit set after the last byte
// (the same bytes to a lenient decoder) in a proof's leaf, or in a
// tlog-proof's leaf or audit path, is refused by custody (Go's
// StdEncoding.Strict()) and by the appendix's verifier alike. The old
// appendix read it with Python's b64decode(validate=True), which takes
// such bits, and said OK where custody refuses the file.
func TestAppendixStrictBase64(t *testing.T) {
	python := independentVerifier(t)
	if python == nil {
		t.Skip("no independent verifier here (python3 with cryptography, openssl)")
	}
	a := newAttestFixture(t)
	dir := t.TempDir()
	// bitAfter sets the lowest bit of the last character before s's
	// padding: a bit after the last byte.
	bitAfter := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		i := strings.IndexByte(s, '=') - 1
		if i < 0 {
			t.Fatalf("%q has no padding", s)
		}
		return s[:i] + string(alphabet[strings.IndexByte(alphabet, s[i])|1]) + s[i+1:]
	}
	// A proof whose leaf's base64 is padded (not every length is).
	var p leaf.Proof
	for seq := uint64(0); ; seq++ {
		q, err := a.l.Prove(a.ctx, seq)
		if err != nil {
			t.Fatalf("no entry up to seq %d has a leaf whose base64 is padded: %v", seq, err)
		}
		if len(q.Leaf)%3 != 0 && len(q.Inclusion) > 0 {
			p = q
			break
		}
	}
	js, _ := json.Marshal(p)
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["leaf"] = bitAfter(m["leaf"].(string))
	jsonLeaf, _ := json.Marshal(m)
	tlog := string(leaf.MarshalTlogProof(p))
	lines := strings.Split(tlog, "\n")
	tlogLeaf := strings.Join(append([]string{lines[0], "extra " + bitAfter(strings.TrimPrefix(lines[1], "extra "))}, lines[2:]...), "\n")
	// lines[3] is the first audit path hash: 32 bytes, always padded.
	tlogPath := strings.Join(append(append([]string{}, lines[:3]...), append([]string{bitAfter(lines[3])}, lines[4:]...)...), "\n")
	for name, b := range map[string][]byte{"a proof's leaf": jsonLeaf, "a tlog-proof's leaf": []byte(tlogLeaf), "a tlog-proof's audit path": []byte(tlogPath)} {
		t.Run(name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(string(b), leaf.TlogProofHeader) {
				_, err = leaf.ParseTlogProof(b)
			} else {
				_, err = leaf.ParseProof(b)
			}
			if err == nil {
				t.Fatalf("custody takes it:\n%s", b)
			}
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, perr := python("proof", f, a.l.VerifierKey())
			var ee *exec.ExitError
			if !errors.As(perr, &ee) || ee.ExitCode() != 3 || !strings.HasPrefix(out, "FAIL proof: ") {
				t.Errorf("the appendix: %v\n%s\nwant exit 3 and FAIL proof: (custody: %v)", perr, out, err)
			}
		})
	}
}
