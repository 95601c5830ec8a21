package tsa_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/tsa"
)

func startTSA(t *testing.T) *tsasim.Server {
	t.Helper()
	s, err := tsasim.Start(tsasim.Options{SlowDelay: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTimestampAndVerify(t *testing.T) {
	s := startTSA(t)
	roots, err := tsa.ParseRoots(s.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	note := []byte("custody/x\n1\nAAAA\n\n— custody/x sig\n")
	imprint := tsa.Imprint(note)
	c := &tsa.Client{}
	tok, err := c.Timestamp(context.Background(), s.URL, imprint)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tsa.Verify(tok, imprint, roots)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Chained || time.Since(got.Time) > time.Minute || got.Serial == "" {
		t.Errorf("token = %+v", got)
	}
	t.Run("another imprint", func(t *testing.T) {
		other := sha256.Sum256([]byte("other"))
		if _, err := tsa.Verify(tok, other, roots); !errors.Is(err, tsa.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("untrusted roots", func(t *testing.T) {
		other := startTSA(t)
		r2, _ := tsa.ParseRoots(other.RootPEM)
		if _, err := tsa.Verify(tok, imprint, r2); !errors.Is(err, tsa.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	})
	t.Run("every byte edited", func(t *testing.T) {
		// Each one-byte edit must fail or, if the byte is not covered
		// (none should be), still verify to the same time.
		for i := 0; i < len(tok); i++ {
			bad := append([]byte(nil), tok...)
			bad[i] ^= 0x01
			v, err := tsa.Verify(bad, imprint, roots)
			if err == nil && !v.Time.Equal(got.Time) {
				t.Fatalf("byte %d edited: verifies with time %v", i, v.Time)
			}
			if err != nil && !errors.Is(err, tsa.ErrInvalid) {
				t.Fatalf("byte %d edited: err %v is not ErrInvalid", i, err)
			}
		}
	})
}

func TestFaults(t *testing.T) {
	s := startTSA(t)
	roots, _ := tsa.ParseRoots(s.RootPEM)
	imprint := tsa.Imprint([]byte("note"))
	ctx := context.Background()
	for _, tc := range []struct {
		fault tsasim.Fault
		at    string // where it fails: "ask" (Timestamp) or "verify" (with roots)
		want  error
		why   string // in the error, when not ""
	}{
		{tsasim.FaultDown, "ask", tsa.ErrUnavailable, ""},
		{tsasim.FaultBadSignature, "ask", tsa.ErrInvalid, ""},
		{tsasim.FaultWrongImprint, "ask", tsa.ErrInvalid, ""},
		{tsasim.FaultNoEKU, "verify", tsa.ErrInvalid, "lacks the timeStamping extended key usage"},
		// RFC 3161 §2.3: timeStamping alone, in a critical extension.
		{tsasim.FaultEKUNotCrit, "verify", tsa.ErrInvalid, "not marked critical"},
		{tsasim.FaultEKUNotOnly, "verify", tsa.ErrInvalid, "an extended key usage other than timeStamping"},
		// RFC 5280 §4.2.1.12: a key usage of digitalSignature and/or
		// nonRepudiation alone.
		{tsasim.FaultKUNotOnly, "verify", tsa.ErrInvalid, "a key usage other than digitalSignature and nonRepudiation: keyEncipherment"},
		// RFC 5280 §4.2.1.3: a CA certificate's key usage, if any, has
		// keyCertSign (x509 lets an empty one through; OpenSSL does not).
		{tsasim.FaultCANoCertSign, "verify", tsa.ErrInvalid, `chains to the intermediate CA certificate "CN=custody test TSA intermediate without keyCertSign,O=custody test", whose key usage lacks keyCertSign (it sets no bit)`},
		{tsasim.FaultUntrusted, "verify", tsa.ErrInvalid, ""},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			s.SetFault(tc.fault)
			defer s.SetFault(tsasim.FaultNone)
			tok, err := (&tsa.Client{}).Timestamp(ctx, s.URL, imprint)
			if tc.at == "ask" {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Timestamp err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tsa.Verify(tok, imprint, roots); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Verify err = %v, want %v saying %q", err, tc.want, tc.why)
			}
			// Without roots only the signature and imprint are checked.
			if _, err := tsa.Verify(tok, imprint, nil); err != nil {
				t.Fatalf("Verify without roots: %v", err)
			}
		})
	}
	t.Run("slow", func(t *testing.T) {
		s.SetFault(tsasim.FaultSlow)
		defer s.SetFault(tsasim.FaultNone)
		c := &tsa.Client{Timeout: 200 * time.Millisecond}
		if _, err := c.Timestamp(ctx, s.URL, imprint); !errors.Is(err, tsa.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
}

// TestOpenSSLVerifies: a token custody stored verifies with a tool nobody
// here wrote, and OpenSSL refuses it for another imprint.
func TestOpenSSLVerifies(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		needtool.Missing(t, "openssl")
	}
	s := startTSA(t)
	note := []byte("custody/x\n3\nRs5nTsjWQp1SH3+XNbxZt5nT8uqcDN8VPH2z0rqie7Q=\n\n— custody/x AAAA\n")
	imprint := tsa.Imprint(note)
	tok, err := (&tsa.Client{}).Timestamp(context.Background(), s.URL, imprint)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokFile, rootFile := filepath.Join(dir, "token.der"), filepath.Join(dir, "root.pem")
	os.WriteFile(tokFile, tok, 0o644)
	os.WriteFile(rootFile, s.RootPEM, 0o644)
	run := func(digest string) (string, error) {
		out, err := exec.Command(openssl, "ts", "-verify", "-digest", digest, "-token_in", "-in", tokFile, "-CAfile", rootFile).CombinedOutput()
		return string(out), err
	}
	if out, err := run(hex.EncodeToString(imprint[:])); err != nil || !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	other := sha256.Sum256([]byte("another note"))
	if out, err := run(hex.EncodeToString(other[:])); err == nil {
		t.Fatalf("openssl verified the token for another imprint:\n%s", out)
	}
}

// TestOpenSSLRefusesTheSameSigners: with roots, custody and openssl ts
// -verify accept and refuse the same signer certificates: timeStamping in
// a critical extension is good; no timeStamping usage, or timeStamping in
// an extension not marked critical (RFC 3161 §2.3), is refused by both,
// and so is a key usage with keyEncipherment beside digitalSignature (RFC
// 5280 §4.2.1.12; other key usages: TestKeyUsageAgreement), and a chain
// through an intermediate CA whose key usage lacks keyCertSign (RFC 5280
// §4.2.1.3; other CA key usages: TestCAKeyUsageAgreement). (A usage
// beside timeStamping that OpenSSL does not know, such as
// documentSigning, it lets through; custody refuses it, as the RFC says:
// TestFaults.)
func TestOpenSSLRefusesTheSameSigners(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		needtool.Missing(t, "openssl")
	}
	s := startTSA(t)
	roots, _ := tsa.ParseRoots(s.RootPEM)
	imprint := tsa.Imprint([]byte("custody/x\n3\nRs5nTsjWQp1SH3+XNbxZt5nT8uqcDN8VPH2z0rqie7Q=\n\n— custody/x AAAA\n"))
	dir := t.TempDir()
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(rootFile, s.RootPEM, 0o644)
	for _, tc := range []struct {
		fault tsasim.Fault
		good  bool
	}{
		{tsasim.FaultNone, true},
		{tsasim.FaultNoEKU, false},
		{tsasim.FaultEKUNotCrit, false},
		{tsasim.FaultKUNotOnly, false},
		{tsasim.FaultCANoCertSign, false},
	} {
		t.Run("fault "+string(tc.fault), func(t *testing.T) {
			s.SetFault(tc.fault)
			defer s.SetFault(tsasim.FaultNone)
			tok, err := (&tsa.Client{}).Timestamp(context.Background(), s.URL, imprint)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tsa.Verify(tok, imprint, roots); (err == nil) != tc.good {
				t.Errorf("custody: %v, want good %v", err, tc.good)
			}
			tokFile := filepath.Join(dir, "token.der")
			os.WriteFile(tokFile, tok, 0o644)
			out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint[:]), "-token_in", "-in", tokFile, "-CAfile", rootFile).CombinedOutput()
			if ok := err == nil && strings.Contains(string(out), "Verification: OK"); ok != tc.good {
				t.Errorf("openssl ts -verify: good %v, want %v:\n%s", ok, tc.good, out)
			}
		})
	}
}

// FuzzVerify: a token from a ledger or proof file is hostile input; no
// byte string makes Verify panic or pass for another imprint.
func FuzzVerify(f *testing.F) {
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	imprint := tsa.Imprint([]byte("note"))
	tok, err := (&tsa.Client{}).Timestamp(context.Background(), s.URL, imprint)
	if err != nil {
		f.Fatal(err)
	}
	roots, _ := tsa.ParseRoots(s.RootPEM)
	f.Add(tok)
	f.Add([]byte{0x30, 0x00})
	other := sha256.Sum256([]byte("other"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := tsa.Verify(data, other, roots); err == nil {
			t.Fatal("a token verifies for an imprint nobody asked for")
		}
		tsa.Verify(data, imprint, nil)
	})
}
