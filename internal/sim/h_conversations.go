package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// conv finds a conversation for a conversation endpoint, writing the 404
// when it is unknown or deleted upstream (404 fault).
func (s *Server) conv(w *resp, id string) (*ConvData, bool) {
	i, ok := s.Org.Index(id)
	if !ok || s.faults.goneConversation(i, id) {
		w.notFound("conversation")
		return nil, false
	}
	return s.Org.cached(i), true
}

// messageConv is conv for the messaging endpoints: voice conversations
// have no message conversation.
func (s *Server) messageConv(w *resp, id string) (*ConvData, bool) {
	c, ok := s.conv(w, id)
	if ok && c.Kind == KindVoice {
		w.notFound("message conversation")
		return nil, false
	}
	return c, ok
}

// APIMessage is a message of ConvData.Messages as the API serves it
// today: content only in normalizedMessage. Genesys removed textBody,
// media and stickers on 2026-03-31 (and with them the useNormalizedMessage
// parameter, which the simulator ignores like any unknown query
// parameter); the org keeps them for the recording exports, which carry
// the text. Attachment urls are the org's unsigned ones: the server's
// handlers sign them (Server.ServedMessage).
func APIMessage(m genesys.MessageData) genesys.MessageData {
	m.TextBody = ""
	m.Media = nil
	return m
}

// ServedMessage is APIMessage with every attachment url — a template's
// header media included — pre-signed for the media listener, valid until
// the message's time plus MediaURLTTL, or MediaURLLife after it is served
// if that comes first; without their sha256 or size with
// Options.MediaNoSHA256 or MediaNoSize.
func (s *Server) ServedMessage(m genesys.MessageData) genesys.MessageData {
	m = APIMessage(m)
	n := m.NormalizedMessage
	if n == nil || len(n.Content) == 0 {
		return m
	}
	expires := int64(neverExpires)
	if s.opts.MediaURLTTL > 0 {
		if t, err := time.Parse(time.RFC3339Nano, m.Timestamp); err == nil {
			expires = t.Add(s.opts.MediaURLTTL).Unix()
		}
	}
	var signedAt int64 // 0: no X-Sim-Date, the url fixed per message
	if s.opts.MediaURLPerRequest || s.opts.MediaURLLife > 0 {
		now := s.now()
		signedAt = now.UnixNano()
		if s.opts.MediaURLLife > 0 {
			expires = min(expires, now.Add(s.opts.MediaURLLife).Unix())
		}
	}
	nm := *n
	nm.Content = append([]genesys.MessageContent(nil), n.Content...)
	for k := range nm.Content {
		if a := nm.Content[k].Attachment; a != nil && (a.URL != "" || s.opts.MediaNoSHA256 || s.opts.MediaNoSize) {
			signed := *a
			if a.URL != "" {
				signed.URL = s.sign(a.URL, a.ID, expires, signedAt)
			}
			if s.opts.MediaNoSHA256 {
				signed.Sha256 = ""
			}
			if s.opts.MediaNoSize {
				signed.ContentSizeBytes = 0
			}
			nm.Content[k].Attachment = &signed
		}
		if t := nm.Content[k].Template; t != nil && t.Header != nil && t.Header.Media != nil && (t.Header.Media.URL != "" || s.opts.MediaNoSHA256 || s.opts.MediaNoSize) {
			// Copies down to the media: the org's message stays unsigned.
			tc, hc, signed := *t, *t.Header, *t.Header.Media
			if signed.URL != "" {
				signed.URL = s.sign(signed.URL, signed.ID, expires, signedAt)
			}
			if s.opts.MediaNoSHA256 {
				signed.Sha256 = ""
			}
			if s.opts.MediaNoSize {
				signed.ContentSizeBytes = 0
			}
			hc.Media, tc.Header = &signed, &hc
			nm.Content[k].Template = &tc
		}
	}
	m.NormalizedMessage = &nm
	return m
}

// sign is SignMediaURL for a served message: "" for an attachment
// Options.MediaURLWithheld names.
func (s *Server) sign(rawURL, id string, expires, signedAt int64) string {
	if s.opts.MediaURLWithheld != nil && s.opts.MediaURLWithheld(id) {
		return ""
	}
	return s.SignMediaURL(rawURL, id, expires, signedAt)
}

// getMessageConversation is GET /api/v2/conversations/messages/{conversationId}.
func (s *Server) getMessageConversation(w *resp, r *http.Request) {
	if c, ok := s.messageConv(w, r.PathValue("conversationId")); ok {
		w.json(http.StatusOK, c.MessageConversation)
	}
}

// getMessage is GET /api/v2/conversations/messages/{conversationId}/messages/{messageId}.
func (s *Server) getMessage(w *resp, r *http.Request) {
	c, ok := s.messageConv(w, r.PathValue("conversationId"))
	if !ok {
		return
	}
	id := r.PathValue("messageId")
	m, ok := c.Message(id)
	if !ok || s.faults.goneMessage(id) {
		w.notFound("message")
		return
	}
	w.json(http.StatusOK, s.ServedMessage(*m))
}

// bulkMessages is POST /api/v2/conversations/messages/{conversationId}/messages/bulk:
// a JSON array of message ids (at most 1,000) → the messages found, in
// request order; unknown ids are left out.
func (s *Server) bulkMessages(w *resp, r *http.Request) {
	var ids []string
	if !w.decode(r, &ids) {
		return
	}
	if len(ids) > genesys.MaxBulkMessageIDs {
		w.badRequest("At most %d message ids may be requested at once; got %d.", genesys.MaxBulkMessageIDs, len(ids))
		return
	}
	c, ok := s.messageConv(w, r.PathValue("conversationId"))
	if !ok {
		return
	}
	out := genesys.TextMessageListing{Entities: make([]genesys.MessageData, 0, len(ids))}
	for _, id := range ids {
		m, ok := c.Message(id)
		if !ok || s.faults.goneMessage(id) {
			continue
		}
		out.Entities = append(out.Entities, s.ServedMessage(*m))
	}
	w.json(http.StatusOK, out)
}

// getConversation is GET /api/v2/conversations/{conversationId}.
func (s *Server) getConversation(w *resp, r *http.Request) {
	if c, ok := s.conv(w, r.PathValue("conversationId")); ok {
		w.json(http.StatusOK, c.Conversation)
	}
}

// MediaRoute is the media listener's route; its urls carry the
// pre-signature as the query parameters MediaExpiresParam (unix seconds)
// and MediaSignatureParam (hex HMAC-SHA256 of the id and the expiry under
// a key derived from the seed, so responses stay reproducible).
const (
	MediaRoute          = "GET /sim/media/{id}"
	MediaExpiresParam   = "X-Sim-Expires"
	MediaSignatureParam = "X-Sim-Signature"
	// MediaDateParam is when the url was signed (unix nanoseconds), present
	// only with Options.MediaURLPerRequest.
	MediaDateParam = "X-Sim-Date"
	// neverExpires is X-Sim-Expires when MediaURLTTL is zero (9999-12-31).
	neverExpires = 253402300799
)

// The answers of the media listener to an url past its expiry
// (Options.MediaExpiredAnswer). Genesys documents none of them: the
// attachments' storage host may be S3 itself, or CloudFront before it,
// and an object removed after the 30 days is refused like a lapsed url.
const (
	// MediaExpiredRequest: 403 AccessDenied "Request has expired", S3's
	// answer to a pre-signed url past X-Amz-Expires (the default).
	MediaExpiredRequest = "request-expired"
	// MediaExpiredAccessDenied: 403 AccessDenied "Access Denied", S3's
	// answer for an object that is gone, to a signer without ListBucket.
	MediaExpiredAccessDenied = "access-denied"
	// MediaExpiredNoSuchKey: 404 NoSuchKey, S3's answer for an object
	// that is gone, to a signer with ListBucket.
	MediaExpiredNoSuchKey = "no-such-key"
	// MediaExpiredCloudFront: 403 AccessDenied "Access denied",
	// CloudFront's answer to a signed url past its Expires.
	MediaExpiredCloudFront = "cloudfront"
	// MediaExpiredEmpty: 403 with no body (a HEAD-like or proxied answer).
	MediaExpiredEmpty = "empty-403"
	// MediaExpiredGone: 410 with no body.
	MediaExpiredGone = "gone"
	// MediaExpiredToken: 400 ExpiredToken "The provided token has
	// expired.", S3's answer to a pre-signed url signed with temporary
	// (role, STS) credentials that have expired since.
	MediaExpiredToken = "expired-token"
)

// MediaExpiredAnswers are the values Options.MediaExpiredAnswer takes.
var MediaExpiredAnswers = []string{MediaExpiredRequest, MediaExpiredAccessDenied, MediaExpiredNoSuchKey, MediaExpiredCloudFront, MediaExpiredEmpty, MediaExpiredGone, MediaExpiredToken}

// mediaSignature is the signature of attachment id valid until expires,
// signed at signedAt (0: not part of the url).
func (s *Server) mediaSignature(id string, expires, signedAt int64) string {
	var key [8]byte
	binary.LittleEndian.PutUint64(key[:], uint64(s.seed))
	mac := hmac.New(sha256.New, append([]byte("custody-sim-media\x00"), key[:]...))
	mac.Write([]byte(id + "\n" + strconv.FormatInt(expires, 10)))
	if signedAt != 0 {
		mac.Write([]byte("\n" + strconv.FormatInt(signedAt, 10)))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// SignMediaURL pre-signs rawURL, the url of attachment id, until expires
// (unix seconds), as the messages API hands it out; signedAt, when not 0,
// is carried as X-Sim-Date and signed too.
func (s *Server) SignMediaURL(rawURL, id string, expires, signedAt int64) string {
	q := url.Values{MediaExpiresParam: {strconv.FormatInt(expires, 10)}, MediaSignatureParam: {s.mediaSignature(id, expires, signedAt)}}
	if signedAt != 0 {
		q.Set(MediaDateParam, strconv.FormatInt(signedAt, 10))
	}
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + q.Encode()
}

// handleMedia is GET /sim/media/{id}: attachment bytes behind a pre-signed
// url, as Genesys hands them out on a storage host (no bearer token, no
// rate limit). Like S3 it answers 400 to a request that also carries an
// Authorization header (a client leaking its token to another host), 403
// with an XML error body to a missing or wrong signature, to an expired
// url as Options.MediaExpiredAnswer says (403 "Request has expired" by
// default), and 404 to an unknown id.
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	const pattern = MediaRoute
	s.stats.count(pattern, false)
	corr := s.correlationID()
	w.Header().Set(genesys.HeaderCorrelationID, corr)
	id := r.PathValue("id")
	q := r.URL.Query()
	fail := func(status int, code, msg string) {
		s.stats.status(pattern, status)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>\n", code, msg, corr)
	}
	if r.Header.Get("Authorization") != "" {
		fail(http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed; only the X-Sim-Signature query parameter or the Authorization header should be specified")
		return
	}
	expires, err := strconv.ParseInt(q.Get(MediaExpiresParam), 10, 64)
	sig := q.Get(MediaSignatureParam)
	if err != nil || sig == "" {
		fail(http.StatusForbidden, "AccessDenied", "Query-string authentication requires the X-Sim-Signature and X-Sim-Expires parameters")
		return
	}
	var signedAt int64
	if d := q.Get(MediaDateParam); d != "" {
		if signedAt, err = strconv.ParseInt(d, 10, 64); err != nil || signedAt == 0 {
			fail(http.StatusForbidden, "AccessDenied", "X-Sim-Date is not a signing time")
			return
		}
	}
	if !hmac.Equal([]byte(sig), []byte(s.mediaSignature(id, expires, signedAt))) {
		fail(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	if !s.now().Before(time.Unix(expires, 0)) {
		switch s.opts.MediaExpiredAnswer {
		case MediaExpiredAccessDenied:
			fail(http.StatusForbidden, "AccessDenied", "Access Denied")
		case MediaExpiredNoSuchKey:
			fail(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		case MediaExpiredCloudFront:
			fail(http.StatusForbidden, "AccessDenied", "Access denied")
		case MediaExpiredEmpty:
			s.stats.status(pattern, http.StatusForbidden)
			w.WriteHeader(http.StatusForbidden)
		case MediaExpiredGone:
			s.stats.status(pattern, http.StatusGone)
			w.WriteHeader(http.StatusGone)
		case MediaExpiredToken:
			fail(http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
		default:
			fail(http.StatusForbidden, "AccessDenied", "Request has expired")
		}
		return
	}
	b, mime, ok := s.Org.Media(id)
	if !ok {
		s.stats.status(pattern, http.StatusNotFound)
		writeErrorTo(w, http.StatusNotFound, genesys.CodeNotFound, "The requested media could not be found.", corr)
		return
	}
	if s.serveShort(id) {
		b = b[:len(b)/2]
	}
	s.stats.status(pattern, http.StatusOK)
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// serveShort tells whether this download of attachment id is served cut
// short (Options.MediaShort), counting it.
func (s *Server) serveShort(id string) bool {
	if s.opts.MediaShort <= 0 {
		return false
	}
	s.shortMu.Lock()
	defer s.shortMu.Unlock()
	if s.shortN == nil {
		s.shortN = map[string]int{}
	}
	if s.shortN[id] >= s.opts.MediaShort {
		return false
	}
	s.shortN[id]++
	return true
}
