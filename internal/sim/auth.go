package sim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// token is an issued access token.
type token struct {
	expires time.Time
	revoked bool
	client  string // the OAuth client it was issued to
}

// Credentials are one OAuth client's id and secret.
type Credentials struct {
	ID, Secret string
}

type authState struct {
	mu     sync.Mutex
	tokens map[string]*token
	issued uint64
	calls  uint64 // POST /oauth/token requests, for oauth fault schedules
	// daily limit accounting, per client
	dayStart time.Time
	dayCount int
}

func secretOf(seed int64) string { return secretOfN(seed, 0) }

// secretOfN derives the secret of the seed's client n (0: the first).
func secretOfN(seed int64, n uint64) string {
	var b [32]byte
	for j := 0; j < 4; j++ {
		h := hash(seed, tagClient, 1+n*16, uint64(j))
		for k := 0; k < 8; k++ {
			b[8*j+k] = byte(h >> (8 * k))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenErr(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(genesys.TokenError{Error: code, Description: desc, ErrorDescription: desc})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// handleToken is POST /oauth/token: client credentials with Basic auth.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	const pattern = "POST /oauth/token"
	corr := s.correlationID()
	w.Header().Set(genesys.HeaderCorrelationID, corr)
	s.auth.mu.Lock()
	s.auth.calls++
	n := s.auth.calls
	s.auth.mu.Unlock()
	if f, ok := s.faults.oauth(n); ok {
		s.stats.count(pattern, false)
		s.stats.fault(pattern, f)
		tokenErr(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable (injected fault).")
		return
	}
	s.stats.count(pattern, false)
	if f, ok := s.faults.oauthEcho(n); ok && s.echoToken(w, r, pattern, f) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		ok = false
		for _, c := range s.Clients {
			if subtle.ConstantTimeCompare([]byte(id), []byte(c.ID)) == 1 &&
				subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) == 1 {
				ok = true
			}
		}
	}
	if !ok {
		s.stats.status(pattern, http.StatusUnauthorized)
		tokenErr(w, http.StatusUnauthorized, "invalid_client", "client not found or bad client credentials")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.stats.status(pattern, http.StatusBadRequest)
		tokenErr(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		s.stats.status(pattern, http.StatusBadRequest)
		tokenErr(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+strconv.Quote(gt)+" is not supported; use client_credentials")
		return
	}
	s.auth.mu.Lock()
	s.auth.issued++
	tok := tokenString(s.live, s.auth.issued)
	s.auth.tokens[tok] = &token{expires: s.now().Add(s.opts.TokenTTL), client: id}
	s.auth.mu.Unlock()
	s.stats.status(pattern, http.StatusOK)
	b, _ := json.Marshal(genesys.TokenResponse{AccessToken: tok, TokenType: "bearer", ExpiresIn: int(s.opts.TokenTTL / time.Second)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func tokenString(seed int64, n uint64) string {
	var b [48]byte
	for j := 0; j < 6; j++ {
		h := hash(seed, tagToken, n, uint64(j))
		for k := 0; k < 8; k++ {
			b[8*j+k] = byte(h >> (8 * k))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// bearer returns the request's token, and the client it was issued to,
// if it is valid now.
func (s *Server) bearer(r *http.Request) (tok, client string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return "", "", false
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	t, ok := s.auth.tokens[tok]
	if !ok || t.revoked || !s.now().Before(t.expires) {
		return tok, "", false
	}
	return tok, t.client, true
}

// revoke invalidates the token r presents, if any.
func (s *Server) revoke(r *http.Request) {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.auth.mu.Lock()
	if t, ok := s.auth.tokens[tok]; ok {
		t.revoked = true
	}
	s.auth.mu.Unlock()
}

// IssuedTokens returns every access token issued so far, for tests that
// check none of them leaked.
func (s *Server) IssuedTokens() []string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	out := make([]string, 0, len(s.auth.tokens))
	for t := range s.auth.tokens {
		out = append(out, t)
	}
	return out
}

// RevokeTokens invalidates every token issued so far, as an admin
// revoking the OAuth client's sessions would.
func (s *Server) RevokeTokens() {
	s.auth.mu.Lock()
	for _, t := range s.auth.tokens {
		t.revoked = true
	}
	s.auth.mu.Unlock()
}

// daily counts one request against the daily limit; it reports whether the
// limit is exceeded.
func (s *Server) daily() bool {
	if s.opts.DailyLimit <= 0 {
		return false
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	now := s.now()
	if s.auth.dayStart.IsZero() || now.Sub(s.auth.dayStart) >= 24*time.Hour {
		s.auth.dayStart, s.auth.dayCount = now, 0
	}
	s.auth.dayCount++
	return s.auth.dayCount > s.opts.DailyLimit
}
