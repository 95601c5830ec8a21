package derive

import (
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/leaf"
)

// The member names ReadConversation decodes, by level.
var (
	conversationFields = fields("id", "participants")
	participantFields  = fields("messages")
	messageRefFields   = fields("messageId")
)

// readConversationFast is ReadConversation's json.Unmarshal into
// conversationRefs (the object's id and its participants' message ids),
// in one pass of jsonscan instead of encoding/json's validation pass and
// reflective decode: verify --evidence reads every conversation object of
// a matter (issue 16). Like decodeMessageFast it declines (ok false)
// whatever it is not sure to read exactly as encoding/json does — a member
// name that matches one of these only without regard to case, or not
// ASCII, a name met twice, null, a value of another type — and
// encoding/json decides. FuzzReadConversationFast holds every answer it
// gives to json.Unmarshal's.
func readConversationFast(body []byte) (genesys.MessageConversation, bool) {
	mc, _, ok := readConversationWith(fastDec{b: body})
	return mc, ok
}

// readConversationHashed is readConversationFast and leaf.CanonicalSHA256
// in one scan (as decodeMessageHashed is for a message). ok false when
// either would decline. FuzzReadConversationHashed holds it to both.
func readConversationHashed(body []byte) (genesys.MessageConversation, hashchain.Hash, bool) {
	w := leaf.NewCanonicalWriter(body)
	defer w.Release()
	return readConversationWith(fastDec{b: body, w: w})
}

// readConversationWith is readConversationFast on d; with a writer, it
// also returns the SHA-256 of the object's canonical form.
func readConversationWith(d fastDec) (genesys.MessageConversation, hashchain.Hash, bool) {
	body := d.b
	var mc genesys.MessageConversation
	end, err := d.object(jsonscan.Space(body, 0), conversationFields, func(f, v int) (int, error) {
		if f == 0 {
			return d.str(v, &mc.ID)
		}
		mc.Participants = []genesys.MessageMediaParticipant{}
		return d.array(v, func(e int) (int, error) {
			mc.Participants = append(mc.Participants, genesys.MessageMediaParticipant{})
			p := &mc.Participants[len(mc.Participants)-1]
			return d.object(e, participantFields, func(_, v int) (int, error) {
				return d.array(v, func(e int) (int, error) {
					var m genesys.MessageDetails
					end, err := d.object(e, messageRefFields, func(_, v int) (int, error) {
						return d.str(v, &m.MessageID)
					})
					p.Messages = append(p.Messages, m)
					return end, err
				})
			})
		})
	})
	if err != nil || jsonscan.Space(body, end) != len(body) {
		return genesys.MessageConversation{}, hashchain.Hash{}, false
	}
	sum, ok := d.sum(end)
	if !ok {
		return genesys.MessageConversation{}, hashchain.Hash{}, false
	}
	return mc, sum, true
}
