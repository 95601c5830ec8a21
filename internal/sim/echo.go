package sim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/genesys"
)

// HeaderEchoAuthorization is the response header in which echo faults
// send back the request's Authorization header.
const HeaderEchoAuthorization = "X-Echo-Authorization"

// quoteRequest spells a request the way a careless server's error message
// would: method, path and query, and every header, credentials included.
func quoteRequest(r *http.Request) string {
	var b strings.Builder
	b.WriteString("request ")
	b.WriteString(r.Method + " " + r.URL.RequestURI())
	b.WriteString(" with headers")
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		sep := ", "
		if i == 0 {
			sep = " "
		}
		b.WriteString(sep + k + ": " + strings.Join(r.Header[k], "; "))
	}
	return b.String()
}

// echoAPI applies an echo fault to an API request that presented tok: the
// response headers send the token back (as the correlation id, and the
// whole Authorization header in X-Echo-Authorization). It reports whether
// it answered; with Status 200 it did not, and the handler serves the
// request with those headers.
func (s *Server) echoAPI(w http.ResponseWriter, r *http.Request, pattern, tok string, f FaultRule) bool {
	s.stats.fault(pattern, f)
	h := w.Header()
	h.Set(HeaderEchoAuthorization, r.Header.Get("Authorization"))
	h.Set(genesys.HeaderCorrelationID, tok)
	if f.Status == http.StatusOK {
		return false
	}
	code := genesys.CodeBadRequest
	if f.Status >= 500 {
		code = "internal.server.error"
	}
	s.finish(w, pattern, f.Status, errorBody(f.Status, code,
		"The server could not process the "+quoteRequest(r)+" (injected fault).", tok))
	return true
}

// echoToken applies an oauthecho fault to a token request: the Basic
// credentials are sent back in headers and, unless Status is 200, quoted
// (encoded and decoded) in an OAuth error. It reports whether it answered.
func (s *Server) echoToken(w http.ResponseWriter, r *http.Request, pattern string, f FaultRule) bool {
	s.stats.fault(pattern, f)
	auth := r.Header.Get("Authorization")
	_, basic, _ := strings.Cut(auth, " ")
	h := w.Header()
	h.Set(HeaderEchoAuthorization, auth)
	h.Set(genesys.HeaderCorrelationID, basic)
	if f.Status == http.StatusOK {
		return false
	}
	id, secret, _ := r.BasicAuth()
	code := "invalid_request"
	if f.Status >= 500 {
		code = "server_error"
	}
	s.stats.status(pattern, f.Status)
	tokenErr(w, f.Status, code, "could not process the "+quoteRequest(r)+" for client "+strconv.Quote(id+":"+secret)+" (injected fault)")
	return true
}
