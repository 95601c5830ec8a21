package sim

import (
	"net/http"
	"strconv"

	"github.com/custodyhq/custody/internal/genesys"
)

func (s *Server) protectionIDs(w *resp, r *http.Request) ([]string, bool) {
	var body genesys.DeletionProtectionQuery
	if !w.decode(r, &body) {
		return nil, false
	}
	if body.ConversationIDs == nil {
		w.badRequest("conversationIds is required")
		return nil, false
	}
	if len(body.ConversationIDs) > genesys.MaxDeletionProtectionIDs {
		w.badRequest("At most %d conversation ids may be given at once; got %d.", genesys.MaxDeletionProtectionIDs, len(body.ConversationIDs))
		return nil, false
	}
	return body.ConversationIDs, true
}

// queryProtection is POST /api/v2/recordings/deletionprotection: which of
// the given conversations are protected. Unknown ids are not protected.
func (s *Server) queryProtection(w *resp, r *http.Request) {
	ids, ok := s.protectionIDs(w, r)
	if !ok {
		return
	}
	out := []genesys.EntityRef{}
	for _, id := range ids {
		if i, ok := s.Org.Index(id); ok && s.Org.LegalHold(i) {
			out = append(out, genesys.EntityRef{ID: id, SelfURI: "/api/v2/conversations/" + id})
		}
	}
	w.json(http.StatusOK, out)
}

// setProtection is PUT /api/v2/recordings/deletionprotection?protect=…:
// applies (protect=true, the default) or revokes protection, recording an
// audit entry per conversation. Unknown ids are ignored. Applying it past
// MaxProtectedConversations protected conversations in the org is a 400
// and changes nothing (Genesys documents the limit, not its error).
func (s *Server) setProtection(w *resp, r *http.Request) {
	protect := true
	if v := r.URL.Query().Get("protect"); v != "" {
		var err error
		if protect, err = strconv.ParseBool(v); err != nil {
			w.badRequest("protect must be true or false, not %q", v)
			return
		}
	}
	ids, ok := s.protectionIDs(w, r)
	if !ok {
		return
	}
	var idx []int
	for _, id := range ids {
		if i, ok := s.Org.Index(id); ok {
			idx = append(idx, i)
		}
	}
	s.holdMu.Lock() // the count and the changes, as one step
	defer s.holdMu.Unlock()
	if protect {
		n, seen := len(s.Org.HeldIndexes()), map[int]bool{}
		for _, i := range idx {
			if !seen[i] && !s.Org.LegalHold(i) {
				n++
			}
			seen[i] = true
		}
		if n > MaxProtectedConversations {
			w.badRequest("At most %d conversations can be protected from deletion per organization; this request would make %d.", MaxProtectedConversations, n)
			return
		}
	}
	now := s.now()
	for _, i := range idx {
		s.Org.SetLegalHold(i, protect, now, nil, s.ClientID)
	}
	w.noContent(http.StatusNoContent)
}
