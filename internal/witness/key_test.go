package witness

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestNewVerifier: a witness verifier key is read only as C2SP
// cosignature/v1 has it, NAME+HASH+base64(04 ‖ key) with HASH =
// SHA-256(NAME ‖ "\n" ‖ 04 ‖ key)[:4], and a refusal says what is wrong
// without quoting the key.
func TestNewVerifier(t *testing.T) {
	_, vkey, err := GenerateKey("w.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	name, rest, _ := strings.Cut(vkey, "+")
	hash, b64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("GenerateKey's verifier key is not 04 ‖ 32 bytes: %v", err)
	}
	// with is a key of that name, of type typ with the witness's public
	// key, and its HASH computed as cosignature/v1 does (over the type byte
	// and key given).
	with := func(typ byte) string {
		k := append([]byte{typ}, key[1:]...)
		h := sha256.Sum256(append([]byte(name+"\n"), k...))
		return fmt.Sprintf("%s+%x+%s", name, h[:4], base64.StdEncoding.EncodeToString(k))
	}
	if with(0x04) != vkey {
		t.Fatalf("the test's key hash is not GenerateKey's: %s, want %s", with(0x04), vkey)
	}
	for _, good := range []string{vkey, name + "+" + strings.ToUpper(hash) + "+" + b64} {
		v, err := NewVerifier(good)
		if err != nil || v.Name() != name {
			t.Errorf("%s: %v", good, err)
		}
	}
	flip := "0"
	if hash[0] == '0' {
		flip = "1"
	}
	_, ledgerKey, err := hashchain.GenerateKey("custody/00000000-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, key, want string }{
		{"the witness's key as type 01", with(0x01), "type 01"},
		{"a ledger's verifier key", ledgerKey, "type 01"},
		{"another type", with(0x02), "of a kind not used here"},
		{"a HASH that does not match", name + "+" + flip + hash[1:] + "+" + b64, "HASH does not match"},
		{"a HASH of the key's type 01", name + "+" + strings.Split(with(0x01), "+")[1] + "+" + b64, "HASH does not match"},
		{"a HASH not hex", name + "+zzzzzzzz+" + b64, "not 8 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			for _, part := range strings.SplitN(tc.key, "+", 3) {
				if strings.Contains(err.Error(), part) {
					t.Errorf("the error quotes %q: %v", part, err)
				}
			}
		})
	}
}
