package tsa_test

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/tsa"
)

// keyUsageExtension is a critical key usage extension setting bits (0
// digitalSignature, 1 nonRepudiation, 2 keyEncipherment, …, 8
// decipherOnly, and any past them), written as DER writes a named bit
// list: without trailing zero bits.
func keyUsageExtension(t *testing.T, bits ...int) pkix.Extension {
	t.Helper()
	n := 0
	for _, b := range bits {
		n = max(n, b+1)
	}
	bs := asn1.BitString{Bytes: make([]byte, (n+7)/8), BitLength: n}
	for _, b := range bits {
		bs.Bytes[b/8] |= 0x80 >> (b % 8)
	}
	v, err := asn1.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: v}
}

// TestKeyUsageAgreement: with roots, custody, openssl ts -verify and the
// appendix's verifier (docs/ledger-format.md) accept and refuse the same
// signer certificates by their key usage, every one with timeStamping,
// critical, as its only extended key usage. RFC 5280 §4.2.1.12 and
// OpenSSL (check_purpose_timestamp_sign) allow digitalSignature and/or
// nonRepudiation, or no key usage extension at all; a key usage with any
// other bit, or with neither of the two, is refused. The one difference
// is a bit past the first two bytes, which OpenSSL does not read: custody
// and the appendix refuse it too. Custody took every key usage.
func TestKeyUsageAgreement(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		needtool.Missing(t, "openssl")
	}
	appendix := appendixTokenCheck(t)
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "key usage test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	roots, err := tsa.ParseRoots(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootFile, noteFile := filepath.Join(dir, "root.pem"), filepath.Join(dir, "note")
	note := []byte("custody/x\n3\nRs5nTsjWQp1SH3+XNbxZt5nT8uqcDN8VPH2z0rqie7Q=\n\n— custody/x AAAA\n")
	imprint := tsa.Imprint(note)
	if err := os.WriteFile(rootFile, rootPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noteFile, note, 0o644); err != nil {
		t.Fatal(err)
	}
	ekuValue, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	eku := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuValue}

	for i, tc := range []struct {
		name    string
		bits    []int  // nil: no key usage extension
		openssl bool   // openssl ts -verify says OK
		says    string // custody's refusal ("": good), and the appendix's
		other   string // the appendix's refusal, when it is not says
	}{
		{"no key usage extension", nil, true, "", ""},
		{"digitalSignature", []int{0}, true, "", ""},
		{"nonRepudiation", []int{1}, true, "", ""},
		{"digitalSignature and nonRepudiation", []int{0, 1}, true, "", ""},
		{"keyEncipherment beside digitalSignature", []int{0, 2}, false, "a key usage other than digitalSignature and nonRepudiation: keyEncipherment", ""},
		{"keyEncipherment alone", []int{2}, false, "a key usage other than digitalSignature and nonRepudiation: keyEncipherment", ""},
		{"keyCertSign and cRLSign beside nonRepudiation", []int{1, 5, 6}, false, "a key usage other than digitalSignature and nonRepudiation: keyCertSign, cRLSign", ""},
		{"no bit set", []int{}, false, "a key usage extension setting neither digitalSignature nor nonRepudiation", ""},
		// cryptography refuses to read decipherOnly without keyAgreement.
		{"decipherOnly beside digitalSignature", []int{0, 8}, false, "a key usage other than digitalSignature and nonRepudiation: decipherOnly", "has an extension that does not parse"},
		{"bit 9 beside digitalSignature", []int{0, 9}, false, "a key usage other than digitalSignature and nonRepudiation: bit 9", ""},
		{"bit 16 beside digitalSignature", []int{0, 16}, true, "a key usage other than digitalSignature and nonRepudiation: bit 16", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := []pkix.Extension{eku}
			if tc.bits != nil {
				ext = append(ext, keyUsageExtension(t, tc.bits...))
			}
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "key usage test TSA: " + tc.name},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtraExtensions: ext,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			tokFile := filepath.Join(dir, "token.der")
			tok := signToken(t, tokFile, imprint, now, signer, key)

			good := tc.says == ""
			_, err = tsa.Verify(tok, imprint, roots)
			if (err == nil) != good || err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("custody: %v, want good %v saying %q", err, good, tc.says)
			}
			if err != nil && strings.Contains(err.Error(), "OpenSSL refuses it too") != !tc.openssl {
				t.Errorf("custody: %v: says wrongly whether OpenSSL refuses it", err)
			}
			// Without roots the certificate's usages are not checked.
			if _, err := tsa.Verify(tok, imprint, nil); err != nil {
				t.Errorf("custody without roots: %v", err)
			}
			if ok, out := opensslVerifies(openssl, imprint, tokFile, rootFile); ok != tc.openssl {
				t.Errorf("openssl ts -verify: good %v, want %v:\n%s", ok, tc.openssl, out)
			}
			if appendix == nil {
				return
			}
			want := cmp.Or(tc.other, tc.says)
			switch says := appendix(t, tokFile, noteFile, rootFile); {
			case good && says != "OK":
				t.Errorf("the appendix: %s, want OK", says)
			case !good && !(strings.HasPrefix(says, "FAIL: ") && strings.Contains(says, want)):
				t.Errorf("the appendix: %s, want a refusal saying %q", says, want)
			}
		})
	}
}

// signToken writes to file, and returns, a token over imprint at now by
// signer, carrying its certificate and those given.
func signToken(t *testing.T, file string, imprint [32]byte, now time.Time, signer *x509.Certificate, key crypto.Signer, carried ...*x509.Certificate) []byte {
	t.Helper()
	ts := timestamp.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Time: now.UTC().Truncate(time.Second),
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2, 1}, AddTSACertificate: true,
		Certificates: carried,
	}
	resp, err := ts.CreateResponseWithOpts(signer, key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, parsed.RawToken, 0o644); err != nil {
		t.Fatal(err)
	}
	return parsed.RawToken
}

// opensslVerifies runs openssl ts -verify on the token file against the
// roots file: whether it says OK, and what it printed.
func opensslVerifies(openssl string, imprint [32]byte, tokFile, rootFile string) (bool, []byte) {
	out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint[:]), "-token_in", "-in", tokFile, "-CAfile", rootFile).CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("Verification: OK")), out
}

// appendixTokenCheck runs the token check of the appendix's verifier
// (docs/ledger-format.md), token_time, on a token file, a note file and
// roots: "OK", or "FAIL: why". Nil without python3 and cryptography.
func appendixTokenCheck(t *testing.T) func(t *testing.T, token, note, roots string) string {
	python := needtool.PythonPartly(t, "the appendix's verifier is not run")
	if python == "" {
		return nil
	}
	dir := t.TempDir()
	appendix.Script(t, dir)
	const driver = `import sys
sys.path.insert(0, sys.argv[1])
import custody_verify as v
try:
    v.token_time(open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read(), sys.argv[4])
    print("OK")
except AssertionError as e:
    print("FAIL:", e)
`
	return func(t *testing.T, token, note, roots string) string {
		t.Helper()
		out, err := exec.Command(python, "-c", driver, dir, token, note, roots).CombinedOutput()
		if err != nil {
			t.Fatalf("the appendix: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

// TestCAKeyUsageAgreement: with roots, custody, openssl ts -verify and the
// appendix's verifier accept and refuse the same chains by the key usage
// of their CA certificates, an intermediate the token carries or the root.
// OpenSSL (check_ca, crypto/x509/v3_purp.c, for every CA certificate of
// the chain, the root too) refuses a CA whose key usage extension lacks
// keyCertSign; without the extension it passes. custody names the
// certificate and why. x509 took a key usage setting none of the nine
// named bits (empty, bit 9, bit 16) as none, so custody accepted those,
// and refused the others saying only that the parent "cannot sign this
// kind of certificate".
func TestCAKeyUsageAgreement(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		needtool.Missing(t, "openssl")
	}
	appendix := appendixTokenCheck(t)
	now := time.Now()
	dir := t.TempDir()
	rootFile, noteFile := filepath.Join(dir, "root.pem"), filepath.Join(dir, "note")
	note := []byte("custody/x\n3\nRs5nTsjWQp1SH3+XNbxZt5nT8uqcDN8VPH2z0rqie7Q=\n\n— custody/x AAAA\n")
	imprint := tsa.Imprint(note)
	if err := os.WriteFile(noteFile, note, 0o644); err != nil {
		t.Fatal(err)
	}
	ekuValue, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	eku := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: ekuValue}
	serial := int64(1)
	// cert makes a certificate, a CA's or not, with the key usage bits
	// (nil: no extension) and ext, signed by parent (self-signed when nil).
	cert := func(t *testing.T, cn string, ca bool, bits []int, ext []pkix.Extension, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		t.Helper()
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if bits != nil {
			ext = append(ext, keyUsageExtension(t, bits...))
		}
		serial++
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: ca, BasicConstraintsValid: true, ExtraExtensions: ext,
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	certSign := []int{5}
	for _, tc := range []struct {
		name string
		bits []int // the CA's key usage; nil: no extension
		good bool  // custody, openssl and the appendix accept it
		sets string
	}{
		{"no key usage extension", nil, true, ""},
		{"keyCertSign", []int{5}, true, ""},
		{"keyCertSign and cRLSign", []int{5, 6}, true, ""},
		{"keyCertSign and bit 16", []int{5, 16}, true, ""},
		{"digitalSignature and cRLSign", []int{0, 6}, false, "digitalSignature, cRLSign"},
		{"cRLSign", []int{6}, false, "cRLSign"},
		{"decipherOnly", []int{8}, false, "decipherOnly"},
		// x509 reads none of these: custody took them.
		{"no bit set", []int{}, false, "no bit"},
		{"bit 9", []int{9}, false, "bit 9"},
		{"bit 16", []int{16}, false, "bit 16"},
	} {
		for _, at := range []string{"intermediate", "root"} {
			t.Run(at+" "+tc.name, func(t *testing.T) {
				rootBits, interBits := certSign, tc.bits
				if at == "root" {
					rootBits, interBits = tc.bits, certSign
				}
				root, rootKey := cert(t, "CA key usage test root", true, rootBits, nil, nil, nil)
				inter, interKey := cert(t, "CA key usage test intermediate", true, interBits, nil, root, rootKey)
				signer, key := cert(t, "CA key usage test TSA", false, []int{0}, []pkix.Extension{eku}, inter, interKey)
				// The token carries the intermediate. timestamp checks the
				// chain it is given with x509, which refuses a CA whose
				// key usage sets a named bit but not keyCertSign: it is
				// given a copy that has it (the token holds inter.Raw).
				carried := *inter
				carried.KeyUsage |= x509.KeyUsageCertSign
				tokFile := filepath.Join(dir, "token.der")
				tok := signToken(t, tokFile, imprint, now, signer, key, &carried)
				rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
				if err := os.WriteFile(rootFile, rootPEM, 0o644); err != nil {
					t.Fatal(err)
				}
				roots, err := tsa.ParseRoots(rootPEM)
				if err != nil {
					t.Fatal(err)
				}

				_, err = tsa.Verify(tok, imprint, roots)
				var says string
				switch {
				case tc.good:
				case at == "root" && tc.name != "no bit set" && !strings.HasPrefix(tc.name, "bit "):
					// x509 refuses the root itself, naming it; custody
					// says what a CA certificate needs.
					says = `candidate authority certificate "CA key usage test root") (a CA certificate may sign certificates only if its key usage, when it has one, sets keyCertSign`
				default:
					which := map[string]string{"intermediate": `the intermediate CA certificate "CN=CA key usage test intermediate"`, "root": `the root certificate "CN=CA key usage test root"`}[at]
					says = "chains to " + which + ", whose key usage lacks keyCertSign (it sets " + tc.sets + "): its key may not sign certificates (RFC 5280 §4.2.1.3; OpenSSL refuses it too)"
				}
				if (err == nil) != tc.good || err != nil && !strings.Contains(err.Error(), says) {
					t.Errorf("custody: %v, want good %v saying %q", err, tc.good, says)
				}
				if err != nil && !errors.Is(err, tsa.ErrInvalid) {
					t.Errorf("custody: %v is not ErrInvalid", err)
				}
				// Without roots no certificate's usages are checked.
				if _, err := tsa.Verify(tok, imprint, nil); err != nil {
					t.Errorf("custody without roots: %v", err)
				}
				if ok, out := opensslVerifies(openssl, imprint, tokFile, rootFile); ok != tc.good {
					t.Errorf("openssl ts -verify: good %v, want %v:\n%s", ok, tc.good, out)
				}
				if appendix == nil {
					return
				}
				// The appendix leaves the chain to openssl ts -verify.
				if says := appendix(t, tokFile, noteFile, rootFile); (says == "OK") != tc.good || !tc.good && !strings.HasPrefix(says, "FAIL: ") {
					t.Errorf("the appendix: %s, want good %v", says, tc.good)
				}
			})
		}
	}
}
