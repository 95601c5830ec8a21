package tsasim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/digitorus/timestamp"
)

// Fault is what the authority does wrong, on purpose.
type Fault string

// The faults. A closed set: Faults lists them.
const (
	FaultNone         Fault = ""
	FaultDown         Fault = "down"             // 503 to every request
	FaultSlow         Fault = "slow"             // answers after Options.SlowDelay
	FaultBadSignature Fault = "bad-signature"    // one byte of the CMS signature flipped
	FaultWrongImprint Fault = "wrong-imprint"    // a token for another imprint
	FaultNoEKU        Fault = "no-eku"           // signed by a certificate without timeStamping
	FaultEKUNotCrit   Fault = "eku-not-critical" // signed by a certificate whose timeStamping usage is not critical
	FaultEKUNotOnly   Fault = "eku-not-only"     // signed by a certificate with another usage beside timeStamping
	FaultKUNotOnly    Fault = "ku-not-only"      // signed by a certificate whose key usage has keyEncipherment beside digitalSignature
	FaultCANoCertSign Fault = "ca-no-certsign"   // signed by a certificate of an intermediate CA whose key usage extension sets no bit, so not keyCertSign
	FaultUntrusted    Fault = "untrusted"        // signed by a certificate of another CA
)

// Faults is every fault, in the order the help lists them.
var Faults = []Fault{FaultDown, FaultSlow, FaultBadSignature, FaultWrongImprint, FaultNoEKU, FaultEKUNotCrit, FaultEKUNotOnly, FaultKUNotOnly, FaultCANoCertSign, FaultUntrusted}

// ParseFault reads a fault name ("" and "none" are no fault).
func ParseFault(s string) (Fault, error) {
	if s == "" || s == "none" {
		return FaultNone, nil
	}
	for _, f := range Faults {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Faults))
	for i, f := range Faults {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown fault %q (want none, %s)", s, strings.Join(names, ", "))
}

// Options configure a Server.
type Options struct {
	Addr      string           // listen address; "127.0.0.1:0" when empty
	Fault     Fault            // the initial fault
	SlowDelay time.Duration    // FaultSlow's delay; 5 s when 0
	Now       func() time.Time // the token clock; time.Now when nil
	// CertLifetime is how long the test CA's certificates stay valid
	// from Start (they are valid from an hour before); 10 years when 0.
	// A test sets a few seconds to have tokens whose certificates have
	// expired since they were issued.
	CertLifetime time.Duration
}

// Server is a running test TSA.
type Server struct {
	URL     string // POST timestamp queries here
	RootPEM []byte // the test CA's root certificate, PEM

	root            *x509.Certificate
	signer          *x509.Certificate // the TSA certificate (critical timeStamping EKU)
	noEKU           *x509.Certificate // same CA, no EKU
	ekuNotCrit      *x509.Certificate // same CA, the timeStamping EKU not critical
	ekuNotOnly      *x509.Certificate // same CA, a critical EKU of timeStamping and another usage
	kuNotOnly       *x509.Certificate // same CA, the EKU, and a key usage of digitalSignature and keyEncipherment
	underNoCertSign *x509.Certificate // the EKU, issued by noCertSign
	noCertSign      *x509.Certificate // an intermediate CA of the root whose key usage extension sets no bit
	untrusted       *x509.Certificate // another CA's, with the EKU
	key             crypto.Signer     // one key serves every certificate
	now             func() time.Time
	slow            time.Duration
	lifetime        time.Duration

	mu    sync.Mutex
	fault Fault
	count int

	srv *http.Server
	ln  net.Listener
}

// Start makes the test CA and serves on opts.Addr until Close.
func Start(opts Options) (*Server, error) {
	s := &Server{now: opts.Now, slow: opts.SlowDelay, fault: opts.Fault, lifetime: opts.CertLifetime}
	if s.now == nil {
		s.now = time.Now
	}
	if s.slow == 0 {
		s.slow = 5 * time.Second
	}
	if s.lifetime == 0 {
		s.lifetime = 10 * 365 * 24 * time.Hour
	}
	if err := s.makeCA(); err != nil {
		return nil, fmt.Errorf("tsasim: %w", err)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tsasim: %w", err)
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String() + "/"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.serveTimestamp)
	mux.HandleFunc("GET /root.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(s.RootPEM)
	})
	mux.HandleFunc("POST /sim/fault", s.serveFault)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops the server gracefully.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// SetFault changes the fault from the next request on.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// Count is the number of timestamp queries answered with a token.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// serveFault sets the fault: POST /sim/fault with the fault's name as the
// body ("none" clears it), so a script can take the TSA down and up.
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 64))
	f, err := ParseFault(strings.TrimSpace(string(b)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.SetFault(f)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveTimestamp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	switch fault {
	case FaultDown:
		http.Error(w, "test TSA is down", http.StatusServiceUnavailable)
		return
	case FaultSlow:
		select {
		case <-time.After(s.slow):
		case <-r.Context().Done():
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil || req.HashAlgorithm != crypto.SHA256 {
		resp, _ := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadRequest)
		writeReply(w, resp)
		return
	}
	hashed := req.HashedMessage
	if fault == FaultWrongImprint {
		hashed = append([]byte(nil), hashed...)
		hashed[0] ^= 0xff
	}
	cert, chain := s.signer, []*x509.Certificate(nil)
	switch fault {
	case FaultNoEKU:
		cert = s.noEKU
	case FaultEKUNotCrit:
		cert = s.ekuNotCrit
	case FaultEKUNotOnly:
		cert = s.ekuNotOnly
	case FaultKUNotOnly:
		cert = s.kuNotOnly
	case FaultCANoCertSign:
		cert, chain = s.underNoCertSign, []*x509.Certificate{s.noCertSign}
	case FaultUntrusted:
		cert = s.untrusted
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     crypto.SHA256,
		HashedMessage:     hashed,
		Time:              s.now().UTC().Truncate(time.Millisecond),
		Accuracy:          time.Second,
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2, 1}, // a test policy
		AddTSACertificate: req.Certificates,
	}
	if req.Certificates {
		// The token carries the intermediate too, as a verifier needs it.
		ts.Certificates = chain
	}
	resp, err := ts.CreateResponseWithOpts(cert, s.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if fault == FaultBadSignature {
		// The signature is the last bytes of the response (the
		// SignerInfo's signature value ends it, no unsigned attributes).
		resp[len(resp)-2] ^= 0x01
	}
	s.mu.Lock()
	s.count++
	s.mu.Unlock()
	writeReply(w, resp)
}

func writeReply(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(b)
}

var (
	oidEKU          = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidOtherUsage   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36} // documentSigning (RFC 9336), which OpenSSL 3 ignores
)

// ekuExtension is an extended key usage extension of usages.
func ekuExtension(critical bool, usages ...asn1.ObjectIdentifier) ([]pkix.Extension, error) {
	v, err := asn1.Marshal(usages)
	if err != nil {
		return nil, err
	}
	return []pkix.Extension{{Id: oidEKU, Critical: critical, Value: v}}, nil
}

// makeCA makes the test roots and the signer certificates.
func (s *Server) makeCA() error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	s.key = tsaKey
	now := s.now().UTC()
	nb, na := now.Add(-time.Hour), now.Add(s.lifetime)
	root, err := selfSigned("custody test TSA root", rootKey, nb, na)
	if err != nil {
		return err
	}
	other, err := selfSigned("custody test TSA other root (untrusted)", otherKey, nb, na)
	if err != nil {
		return err
	}
	// RFC 3161 §2.3: the only EKU, timeStamping, and critical (OpenSSL
	// refuses a TSA certificate whose EKU is not). x509 writes the EKU
	// non-critical, so it goes in as an extra extension.
	eku, err := ekuExtension(true, oidTimeStamping)
	if err != nil {
		return err
	}
	// Its key usage is digitalSignature alone (RFC 5280 §4.2.1.12 allows
	// nonRepudiation too; OpenSSL refuses any other).
	sign := x509.KeyUsageDigitalSignature
	if s.signer, err = issue("custody test TSA", tsaKey, root, rootKey, sign, eku, nb, na); err != nil {
		return err
	}
	if s.noEKU, err = issue("custody test TSA without timeStamping", tsaKey, root, rootKey, sign, nil, nb, na); err != nil {
		return err
	}
	notCrit, err := ekuExtension(false, oidTimeStamping)
	if err != nil {
		return err
	}
	if s.ekuNotCrit, err = issue("custody test TSA with timeStamping not critical", tsaKey, root, rootKey, sign, notCrit, nb, na); err != nil {
		return err
	}
	notOnly, err := ekuExtension(true, oidTimeStamping, oidOtherUsage)
	if err != nil {
		return err
	}
	if s.ekuNotOnly, err = issue("custody test TSA with another usage", tsaKey, root, rootKey, sign, notOnly, nb, na); err != nil {
		return err
	}
	if s.kuNotOnly, err = issue("custody test TSA with a key usage beside signing", tsaKey, root, rootKey, sign|x509.KeyUsageKeyEncipherment, eku, nb, na); err != nil {
		return err
	}
	// An intermediate CA whose key usage extension is there but empty:
	// x509 reads it as no key usage at all, and lets the CA sign; OpenSSL
	// refuses a CA whose key usage lacks keyCertSign (and an empty one).
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if s.noCertSign, err = issueCA("custody test TSA intermediate without keyCertSign", interKey, root, rootKey, emptyKeyUsage, nb, na); err != nil {
		return err
	}
	if s.underNoCertSign, err = issue("custody test TSA under an intermediate without keyCertSign", tsaKey, s.noCertSign, interKey, sign, eku, nb, na); err != nil {
		return err
	}
	if s.untrusted, err = issue("custody test TSA of another CA", tsaKey, other, otherKey, sign, eku, nb, na); err != nil {
		return err
	}
	s.root = root
	s.RootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	return nil
}

// emptyKeyUsage is a key usage extension setting no bit (critical, as
// RFC 5280 §4.2.1.3 says a CA's should be): an empty BIT STRING.
var emptyKeyUsage = pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: []byte{0x03, 0x01, 0x00}}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

func selfSigned(cn string, key *ecdsa.PrivateKey, nb, na time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn, Organization: []string{"custody test"}},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// issueCA is an intermediate CA certificate of parent with the extension
// ext (x509 writes no key usage of its own).
func issueCA(cn string, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ext pkix.Extension, nb, na time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn, Organization: []string{"custody test"}},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{ext},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func issue(cn string, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ku x509.KeyUsage, ext []pkix.Extension, nb, na time.Time) (*x509.Certificate, error) {
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: cn, Organization: []string{"custody test"}},
		NotBefore: nb, NotAfter: na, BasicConstraintsValid: true,
		KeyUsage: ku, ExtraExtensions: ext,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("no certificate")
	}
	return c, nil
}
