package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/custodyhq/custody/internal/redact"
)

// Errors callers match with errors.Is.
var (
	// ErrInvalid: the token does not prove what it claims: unparseable,
	// a bad signature, another imprint, an untrusted or unfit
	// certificate. Verify wraps every such failure in it.
	ErrInvalid = errors.New("invalid timestamp token")
	// ErrUnavailable: the authority could not be asked or refused to
	// answer (down, slow, an HTTP error, a rejection status). The
	// checkpoint stands; the token can be asked for later.
	ErrUnavailable = errors.New("timestamp authority unavailable")
)

// MaxToken bounds a response read from an authority and a token read from
// a ledger or proof file: real tokens are a few KiB with their chain.
const MaxToken = 1 << 20

// Imprint is the message imprint a checkpoint's token carries: SHA-256 of
// the signed note's bytes.
func Imprint(note []byte) [32]byte { return sha256.Sum256(note) }

// Client asks timestamp authorities for tokens.
type Client struct {
	// HTTP is the client used; nil means one with Timeout.
	HTTP *http.Client
	// Timeout bounds one request when HTTP is nil; 0 means 30 s.
	Timeout time.Duration
}

func (c *Client) httpClient() *http.Client {
	if c != nil && c.HTTP != nil {
		return c.HTTP
	}
	t := 30 * time.Second
	if c != nil && c.Timeout > 0 {
		t = c.Timeout
	}
	return &http.Client{Timeout: t}
}

// CheckURL checks that an authority's URL is one custody can be given:
// http or https, with a host, and without user info, a query or a
// fragment (redact.Has): the URL is written into the ledger, reports and
// every proof file, which go to other parties, and custody sends an
// authority no credentials.
func CheckURL(raw string) error {
	if err := checkAskable(raw); err != nil {
		return err
	}
	if redact.Has(raw) {
		return fmt.Errorf("tsa: %q: a URL with user info, a query or a fragment: it would be written into the ledger, reports and proof files", redact.URL(raw))
	}
	return nil
}

// checkAskable checks that raw is an http or https URL with a host: one
// Timestamp can ask (a matter may name one CheckURL would now refuse).
func checkAskable(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("tsa: %q: %w", redact.URL(raw), redact.Error(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("tsa: %q: not an http or https URL", redact.URL(raw))
	}
	return nil
}

// Timestamp asks the authority at tsaURL for a token over imprint (a
// SHA-256 digest), with a fresh nonce and the signer certificate
// included. It checks the answer as far as it can without roots (status,
// imprint, nonce, signature by the included certificate) and returns the
// token (the DER TimeStampToken, a CMS ContentInfo). Failures to get an
// answer are ErrUnavailable; an answer that is not a good token for this
// request is ErrInvalid.
func (c *Client) Timestamp(ctx context.Context, tsaURL string, imprint [32]byte) ([]byte, error) {
	if err := checkAskable(tsaURL); err != nil {
		return nil, err
	}
	shown := redact.URL(tsaURL) // errors name it without user info, query or fragment
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("tsa: nonce: %w", err)
	}
	req := &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Certificates: true, Nonce: nonce}
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("tsa: request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, tsaURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: %w", shown, redact.Error(err))
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	hreq.Header.Set("Accept", "application/timestamp-reply")
	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: %w: %w", shown, ErrUnavailable, redact.Error(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxToken+1))
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: %w: reading the answer: %w", shown, ErrUnavailable, redact.Error(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tsa: %s: %w: HTTP %s", shown, ErrUnavailable, resp.Status)
	}
	if len(raw) > MaxToken {
		return nil, fmt.Errorf("tsa: %s: %w: answer over %d bytes", shown, ErrInvalid, MaxToken)
	}
	ts, err := parseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("tsa: %s: %w", shown, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("tsa: %s: %w: the answer's nonce is not the request's", shown, ErrInvalid)
	}
	if _, err := Verify(ts.RawToken, imprint, nil); err != nil {
		return nil, fmt.Errorf("tsa: %s: %w", shown, err)
	}
	return ts.RawToken, nil
}

// parseResponse parses a TimeStampResp; a rejection is ErrUnavailable
// (the authority answered, but gave no token).
func parseResponse(raw []byte) (ts *timestamp.Timestamp, err error) {
	defer func() {
		// The ASN.1 and CMS parsers are outside code: hostile input must
		// not take custody down with it.
		if r := recover(); r != nil {
			ts, err = nil, fmt.Errorf("%w: unparseable answer (%v)", ErrInvalid, r)
		}
	}()
	// The status first: a rejection is an answer without a token.
	var r struct {
		Status asn1.RawValue
		Token  asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: not a TimeStampResp: %w", ErrInvalid, err)
	}
	var status int
	if _, err := asn1.Unmarshal(r.Status.Bytes, &status); err != nil {
		return nil, fmt.Errorf("%w: not a TimeStampResp: status: %w", ErrInvalid, err)
	}
	if status != int(timestamp.Granted) && status != int(timestamp.GrantedWithMods) {
		return nil, fmt.Errorf("%w: the authority answered %s", ErrUnavailable, timestamp.Status(status))
	}
	ts, err = timestamp.ParseResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return ts, nil
}

// Token is what Verify learnt from a good token.
type Token struct {
	// Time is the token's genTime: the authority says the imprint existed
	// then.
	Time time.Time
	// Accuracy is the token's stated accuracy (0 if none).
	Accuracy time.Duration
	// Serial is the token's serial number, in decimal.
	Serial string
	// Signer is the subject of the authority's signing certificate.
	Signer string
	// Chained says the signer certificate was checked to a root (Verify
	// with roots); without roots only the signature was checked.
	Chained bool
}

// Verify checks token offline: it must be a CMS SignedData whose
// TSTInfo's message imprint is SHA-256 = imprint, signed by the
// certificate included in it; with roots (not nil) that certificate must
// chain to one of them, have timeStamping as its only extended key usage,
// in a critical extension (RFC 3161 §2.3), have a key usage, if any, of
// digitalSignature and/or nonRepudiation alone (RFC 5280 §4.2.1.12), and
// be valid at the token's time, and every CA certificate of its chain, the
// root too, must have a key usage, if any, with keyCertSign (RFC 5280
// §4.2.1.3, as OpenSSL requires). Every failure wraps ErrInvalid.
func Verify(token []byte, imprint [32]byte, roots *x509.CertPool) (tok Token, err error) {
	defer func() {
		if r := recover(); r != nil {
			tok, err = Token{}, fmt.Errorf("%w: unparseable token (%v)", ErrInvalid, r)
		}
	}()
	if len(token) > MaxToken {
		return Token{}, fmt.Errorf("%w: over %d bytes", ErrInvalid, MaxToken)
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return Token{}, fmt.Errorf("%w: not a CMS SignedData: %w", ErrInvalid, err)
	}
	if len(p7.Certificates) == 0 {
		return Token{}, fmt.Errorf("%w: the token carries no certificate", ErrInvalid)
	}
	// Parse checks the signature with the included certificate.
	ts, err := timestamp.Parse(token)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if ts.HashAlgorithm != crypto.SHA256 {
		return Token{}, fmt.Errorf("%w: imprint hash is %v, not SHA-256", ErrInvalid, ts.HashAlgorithm)
	}
	if !bytes.Equal(ts.HashedMessage, imprint[:]) {
		return Token{}, fmt.Errorf("%w: the token is for imprint %x, not this checkpoint's %x", ErrInvalid, ts.HashedMessage, imprint[:])
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return Token{}, fmt.Errorf("%w: not exactly one signer", ErrInvalid)
	}
	tok = Token{Time: ts.Time.UTC(), Accuracy: ts.Accuracy, Signer: signer.Subject.String()}
	if ts.SerialNumber != nil {
		tok.Serial = ts.SerialNumber.String()
	}
	if roots == nil {
		return tok, nil
	}
	// RFC 3161 §2.3: the signer certificate's extended key usage is
	// timeStamping alone, and critical; RFC 5280 §4.2.1.12: its key usage,
	// if any, fits that purpose. Go's chain check accepts a certificate
	// with no EKU at all for any usage, one whose EKU is not critical, and
	// any key usage, so the leaf is checked here first.
	if problem := timeStampingProblem(signer); problem != "" {
		return Token{}, fmt.Errorf("%w: the signer certificate %q %s", ErrInvalid, tok.Signer, problem)
	}
	if ts.Time.Before(signer.NotBefore) || ts.Time.After(signer.NotAfter) {
		return Token{}, fmt.Errorf("%w: the token's time %s is outside the signer certificate's validity (%s to %s)", ErrInvalid,
			tok.Time.Format(time.RFC3339), signer.NotBefore.UTC().Format(time.RFC3339), signer.NotAfter.UTC().Format(time.RFC3339))
	}
	opts := x509.VerifyOptions{
		Roots: roots, Intermediates: x509.NewCertPool(), CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}
	for _, c := range p7.Certificates {
		if c != signer {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := signer.Verify(opts)
	if err != nil {
		// x509 refuses an issuer whose key usage sets one of the nine
		// named bits but not keyCertSign, saying only that it "cannot sign
		// this kind of certificate". Built again with the token's CA
		// certificates allowed to, a chain that is found is refused below,
		// naming the certificate and why.
		if relaxed, ok := certSignAllowed(p7.Certificates, signer); ok {
			opts.Intermediates = relaxed
			chains, _ = signer.Verify(opts)
		}
		if len(chains) == 0 {
			why := ""
			if strings.Contains(err.Error(), x509.ConstraintViolationError{}.Error()) {
				// A root of the bundle: x509 tells its name, not why.
				why = " (a CA certificate may sign certificates only if its key usage, when it has one, sets keyCertSign " +
					"(RFC 5280 §4.2.1.3) and its basic constraints make it a CA (§4.2.1.9))"
			}
			return Token{}, fmt.Errorf("%w: the signer certificate %q: %w%s", ErrInvalid, tok.Signer, err, why)
		}
	}
	// OpenSSL (check_ca, which X509_verify_cert applies to every CA
	// certificate of the chain, the root too) refuses a CA certificate
	// whose key usage extension does not set keyCertSign; x509 lets one
	// through whose extension sets none of the nine named bits. A chain
	// is good if every CA certificate in it passes.
	problem := ""
	for _, chain := range chains {
		p := caKeyUsageProblem(chain)
		if p == "" {
			problem = ""
			break
		}
		if problem == "" {
			problem = p
		}
	}
	if problem != "" {
		return Token{}, fmt.Errorf("%w: the signer certificate %q chains to %s", ErrInvalid, tok.Signer, problem)
	}
	tok.Chained = true
	return tok, nil
}

// keyCertSign is the key usage bit (RFC 5280 §4.2.1.3) that lets a CA's
// key sign certificates.
const keyCertSign = 5

// keyUsageBits reads c's key usage extension: its bits, and whether c has
// one. The bits are read from the extension: x509 keeps the nine RFC 5280
// names and drops any past them (a key usage setting none of the nine is
// 0 in x509.Certificate.KeyUsage, as no extension is).
func keyUsageBits(c *x509.Certificate) (bits asn1.BitString, has bool, err error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidKeyUsage) {
			continue
		}
		if rest, err := asn1.Unmarshal(e.Value, &bits); err != nil || len(rest) != 0 {
			return bits, true, errors.New("a key usage extension that is not a BIT STRING")
		}
		return bits, true, nil
	}
	return bits, false, nil
}

// caKeyUsageProblem says why a CA certificate of chain (the signer first,
// the root last) may not sign the certificate below it ("" when every one
// may): RFC 5280 §4.2.1.3 and OpenSSL (check_ca in crypto/x509/v3_purp.c:
// "keyUsage if present should allow cert signing") require a key usage
// extension, if a CA certificate has one, to set keyCertSign. Without the
// extension the key usage is not restricted. OpenSSL checks the root too.
func caKeyUsageProblem(chain []*x509.Certificate) string {
	for i, c := range chain {
		if i == 0 {
			continue
		}
		bits, has, err := keyUsageBits(c)
		if !has || err == nil && bits.At(keyCertSign) == 1 {
			continue
		}
		which := "the intermediate CA certificate"
		if i == len(chain)-1 {
			which = "the root certificate"
		}
		if err != nil {
			return fmt.Sprintf("%s %q, which has %v", which, c.Subject.String(), err)
		}
		var set []string
		for b := 0; b < bits.BitLength; b++ {
			if bits.At(b) == 0 {
				continue
			}
			set = append(set, keyUsageName(b))
		}
		sets := "it sets no bit"
		if len(set) > 0 {
			sets = "it sets " + strings.Join(set, ", ")
		}
		return fmt.Sprintf("%s %q, whose key usage lacks keyCertSign (%s): its key may not sign certificates "+
			"(RFC 5280 §4.2.1.3; OpenSSL refuses it too)", which, c.Subject.String(), sets)
	}
	return ""
}

// certSignAllowed is a pool of the token's certificates but the signer in
// which each one whose key usage extension lacks keyCertSign is a copy
// whose KeyUsage allows it, so that x509 builds the chain through it and
// caKeyUsageProblem can name it; ok is false when no certificate lacks it.
func certSignAllowed(certs []*x509.Certificate, signer *x509.Certificate) (pool *x509.CertPool, ok bool) {
	pool = x509.NewCertPool()
	for _, c := range certs {
		if c == signer {
			continue
		}
		if bits, has, err := keyUsageBits(c); has && err == nil && bits.At(keyCertSign) == 0 {
			cp := *c
			cp.KeyUsage |= x509.KeyUsageCertSign
			c, ok = &cp, true
		}
		pool.AddCert(c)
	}
	return pool, ok
}

// The extended key usage and key usage extensions' ids.
var (
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 15}
)

// timeStampingProblem says why c may not sign timestamp tokens ("" when it
// may): RFC 3161 §2.3 requires its extended key usage extension (one: x509
// refuses a certificate with an extension twice) to hold timeStamping and
// no other usage, and to be critical. OpenSSL's ts -verify refuses a
// certificate whose extension is not critical, or that has another usage
// it knows (it ignores those it does not know); custody refuses any other.
// Its key usage is checked too (keyUsageProblem).
func timeStampingProblem(c *x509.Certificate) string {
	critical := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			critical = e.Critical
		}
	}
	other := len(c.UnknownExtKeyUsage) > 0
	for _, u := range c.ExtKeyUsage {
		other = other || u != x509.ExtKeyUsageTimeStamping
	}
	switch {
	case !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageTimeStamping):
		return "lacks the timeStamping extended key usage"
	case other:
		return "has an extended key usage other than timeStamping (RFC 3161 §2.3: a timestamp authority's certificate has that one only)"
	case !critical:
		return "has the timeStamping extended key usage in an extension not marked critical (RFC 3161 §2.3 requires it critical; OpenSSL refuses it too)"
	}
	return keyUsageProblem(c)
}

// keyUsageNames are the key usage bits' names (RFC 5280 §4.2.1.3), by bit.
var keyUsageNames = []string{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}

// keyUsageProblem says why c's key usage extension does not fit a
// timestamp authority's certificate ("" when it does, or c has none, as
// RFC 5280 §4.2.1.12 and OpenSSL allow): for timeStamping the bits that
// may be set are digitalSignature and nonRepudiation, and OpenSSL's ts
// -verify (check_purpose_timestamp_sign) refuses a key usage that sets
// any other, or neither of them. The bits are read from the extension
// itself: x509 keeps the nine that RFC 5280 names and drops any past
// them, of which OpenSSL refuses those in the first two bytes; custody
// keyUsageName names key usage bit b as RFC 5280 does, or "bit b" past
// the named ones.
func keyUsageName(b int) string {
	if b < len(keyUsageNames) {
		return keyUsageNames[b]
	}
	return fmt.Sprintf("bit %d", b)
}

// refuses every one (OpenSSL reads no further than two bytes).
func keyUsageProblem(c *x509.Certificate) string {
	if bits, has, err := keyUsageBits(c); err != nil {
		return "has " + err.Error()
	} else if has {
		var other []string
		openssl := "" // OpenSSL reads the first 16 bits
		for i := 2; i < bits.BitLength; i++ {
			if bits.At(i) == 0 {
				continue
			}
			other = append(other, keyUsageName(i))
			if i < 16 {
				openssl = "; OpenSSL refuses it too"
			}
		}
		switch {
		case len(other) > 0:
			return "has a key usage other than digitalSignature and nonRepudiation: " + strings.Join(other, ", ") +
				" (RFC 5280 §4.2.1.12: a timestamp authority's key signs, nothing else" + openssl + ")"
		case bits.At(0) == 0 && bits.At(1) == 0:
			return "has a key usage extension setting neither digitalSignature nor nonRepudiation (RFC 5280 §4.2.1.12; OpenSSL refuses it too)"
		}
	}
	return ""
}

// ParseRoots reads a PEM bundle of root certificates. It refuses a bundle
// with no certificate in it, so a wrong file is not taken for "trust none".
func ParseRoots(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemData; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tsa: roots: certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("tsa: roots: no PEM CERTIFICATE in the bundle")
	}
	return pool, nil
}

// ReadRoots reads a PEM root bundle from a file (at most 4 MiB).
func ReadRoots(path string) (*x509.CertPool, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: roots: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<20+1))
	if err != nil {
		return nil, nil, fmt.Errorf("tsa: roots: %w", err)
	}
	if len(data) > 4<<20 {
		return nil, nil, fmt.Errorf("tsa: roots: %s is over 4 MiB", path)
	}
	pool, err := ParseRoots(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%s)", err, path)
	}
	return pool, data, nil
}
