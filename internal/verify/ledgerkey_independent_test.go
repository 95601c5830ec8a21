package verify_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/matter"
	"github.com/custodyhq/custody/internal/witness"
)

// TestLedgerKeyChecked: the appendix's verifier refuses a VERIFIER_KEY
// that is not a ledger verifier key before it checks anything, for a
// ledger and for a proof file alike: "cannot check FILE: VERIFIER_KEY is
// not a ledger verifier key: <what is wrong>", exit 2, never quoting the
// key (a signer key given by mistake is a secret). The old appendix failed
// with a Python traceback for every one but the name with a space, with
// which it checked the ledger and found no signature by the key; then it
// exited 1. custody refuses each of them too (matter.ReadVerifierKey
// reads verify --key), a usage error: exit 2 (matter.ErrWrongKey).
func TestLedgerKeyChecked(t *testing.T) {
	python := independentVerifier(t)
	f := newFixture(t)
	f.appendN(3)
	f.checkpoint()
	key := f.l.VerifierKey()
	name, rest, _ := strings.Cut(key, "+")
	hash, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 33 || raw[0] != 0x01 {
		t.Fatalf("the ledger's key %s", key)
	}
	// PRIVATE+KEY+NAME+HASH+SEED: split at the first four "+" only, since
	// the base64 of SEED may hold one (docs/ledger-format.md, "Checkpoints").
	seed := strings.SplitN(f.signer, "+", 5)[4]
	if len(seed) != 44 {
		t.Fatalf("the signer key's seed is %d characters", len(seed))
	}
	// withHash is NAME+HASH+KEY with the HASH name and k give.
	withHash := func(name string, k []byte) string {
		h := sha256.Sum256(append([]byte(name+"\n"), k...))
		return fmt.Sprintf("%s+%x+%s", name, h[:4], base64.StdEncoding.EncodeToString(k))
	}
	flip := "0"
	if hash[0] == '0' {
		flip = "1"
	}
	_, witnessKey, err := witness.GenerateKey("w.example")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.l.Prove(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	proof := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(proof, js, 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"ledger": f.path, "proof": proof}
	if python != nil {
		for mode, file := range files {
			if out, err := python(mode, file, key); err != nil || !strings.HasPrefix(out, "OK ") {
				t.Fatalf("the genuine key, %s: %v\n%s", mode, err, out)
			}
		}
	}

	for _, tc := range []struct{ name, key, says string }{
		{"empty", "", "it is empty"},
		{"a file name", "custody.pub", "it is not of the form NAME+HASH+KEY"},
		{"a control character", key[:12] + "\x01" + key[12:], "it is not text"},
		{"not UTF-8", key[:12] + "\xff" + key[12:], "it is not text"},
		{"two lines", key + "\n" + key, "it is more than one line"},
		{"the signer key", f.signer, "it is a signer key (a secret); give the verifier key"},
		{"HASH not hex", name + "+zzzzzzzz+" + b64, "its HASH is not 8 hex digits"},
		{"HASH short", name + "+" + hash[1:] + "+" + b64, "its HASH is not 8 hex digits"},
		{"KEY not base64", name + "+" + hash + "+" + b64[:len(b64)-4] + "*A==", "its KEY is not base64"},
		{"a name with a space", withHash("acme v smith", raw), "its NAME is empty or holds white space"},
		{"no name", withHash("", raw), "its NAME is empty or holds white space"},
		{"a witness key", witnessKey, "not an Ed25519 note key"},
		{"a key of 16 bytes", withHash(name, raw[:17]), "not an Ed25519 note key"},
		{"HASH altered", name + "+" + flip + hash[1:] + "+" + b64, "bad key hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.key != "" {
				if _, err := matter.ReadVerifierKey(tc.key, ""); err == nil {
					t.Errorf("custody takes it")
				} else if strings.Count(tc.key, "+") >= 2 && !errors.Is(err, matter.ErrWrongKey) {
					t.Errorf("custody: %v, want matter.ErrWrongKey (exit 2)", err)
				}
			}
			if python == nil {
				return
			}
			for mode, file := range files {
				out, err := python(mode, file, tc.key)
				var ee *exec.ExitError
				want := "cannot check " + file + ": VERIFIER_KEY is not a ledger verifier key: " + tc.says
				if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(out, want) || strings.Contains(out, "Traceback") {
					t.Fatalf("%s: %v\n%s\nwant exit 2 and %q", mode, err, out, want)
				}
				for _, secret := range []string{b64[2:], seed[2:], name} {
					if strings.Contains(out, secret) {
						t.Errorf("%s: the key is quoted:\n%s", mode, out)
					}
				}
			}
		})
	}
}
