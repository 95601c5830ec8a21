package sim

import (
	"net/http"
	"strconv"

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
// the text.
func APIMessage(m genesys.MessageData) genesys.MessageData {
	m.TextBody = ""
	m.Media = nil
	return m
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
	w.json(http.StatusOK, APIMessage(*m))
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
		out.Entities = append(out.Entities, APIMessage(*m))
	}
	w.json(http.StatusOK, out)
}

// getConversation is GET /api/v2/conversations/{conversationId}.
func (s *Server) getConversation(w *resp, r *http.Request) {
	if c, ok := s.conv(w, r.PathValue("conversationId")); ok {
		w.json(http.StatusOK, c.Conversation)
	}
}

// handleMedia is GET /sim/media/{id}: attachment bytes, standing in for
// the pre-signed download URLs Genesys hands out (no auth, no rate limit).
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	const pattern = "GET /sim/media/{id}"
	s.stats.count(pattern, false)
	corr := s.correlationID()
	w.Header().Set(genesys.HeaderCorrelationID, corr)
	b, mime, ok := s.Org.Media(r.PathValue("id"))
	if !ok {
		s.stats.status(pattern, http.StatusNotFound)
		writeErrorTo(w, http.StatusNotFound, genesys.CodeNotFound, "The requested media could not be found.", corr)
		return
	}
	s.stats.status(pattern, http.StatusOK)
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}
