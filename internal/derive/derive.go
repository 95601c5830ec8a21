// Package derive is the one mapping from the Genesys API objects custody
// keeps as evidence to the ledger fields it takes from them: one function
// per entry kind (Message, Conversation, Audit, Listing), with the small
// readers of evidence bodies they need (MessagesIn, Held, AuditRefs,
// ConversationMessageIDs).
//
// internal/export builds its entries through these functions, and
// internal/verify (verify --evidence) calls the same functions on the
// evidence and compares the result with each leaf, so what a leaf field
// means — "legal_hold is whether the deletion-protection response named the
// conversation" — is written once. It sits in the pure core, beside leaf
// and genesys, which it joins: no I/O, so verify can import it without
// importing a verb.
package derive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/leaf"
)

// Message returns the fields a message entry takes from evidence:
//
//   - message_id: md.id, and payload_sha256: hashchain.PayloadHash of the
//     message's JSON object exactly as it sits in the response body (an
//     element of a bulk response's "entities", or a single-message body);
//   - conversation_id: the conversation the message was captured under
//     (whose conversation object lists the message id);
//   - compliance.original_timestamp: md.timestamp, byte for byte;
//   - compliance.legal_hold: held (Held on the conversation's
//     deletion-protection response) and compliance.audit_refs: auditRefs
//     (AuditRefs on the audit-trail pages the conversation names);
//   - detail: content_sha256 = genesys.ContentHash(genesys.MessageText(md)),
//     from/to = fromAddress/toAddress, direction, messenger_type,
//     provider_message_id, date_modified/date_deleted from
//     normalizedMessage.channel, and media as downloaded.
//
// With a seal, the detail is of format v3: the personal fields
// (leaf.PersonalFields) as commitments under the seal's salt, and the
// seal's opening evidence (see Opening); without one, v1 (the fields in
// clear), which verify uses for leaves written before v3.
//
// The entry has only those members (Kind, ConversationID, MessageID,
// PayloadSHA256, Compliance, Detail); the caller adds who recorded it and
// from which request.
func Message(convID string, md *genesys.MessageData, payload hashchain.Hash, held bool, auditRefs []string, media []leaf.MediaRef, seal *Seal) (leaf.Entry, error) {
	return MessageFrom(convID, md, MessageDetail(md, media), payload, held, auditRefs, seal)
}

// MessageFrom is Message with d = MessageDetail(md, media) computed by
// the caller, who must not use d after (its personal fields are replaced
// by their commitments): verify --evidence needs the detail's values for
// the opening's check first, and computed them twice, content hash and
// all.
func MessageFrom(convID string, md *genesys.MessageData, d *leaf.MessageDetail, payload hashchain.Hash, held bool, auditRefs []string, seal *Seal) (leaf.Entry, error) {
	if seal != nil {
		d.SetCommitments(openingOf(md.ID, d, seal.Salt), seal.Opening)
	}
	detail, err := leaf.EncodeDetail(d)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("derive: message %s: %w", md.ID, err)
	}
	if auditRefs == nil {
		auditRefs = []string{}
	}
	return leaf.Entry{
		Kind: leaf.KindMessage, ConversationID: convID, MessageID: md.ID, PayloadSHA256: payload,
		Compliance: &leaf.Compliance{LegalHold: &held, AuditRefs: auditRefs, OriginalTimestamp: md.Timestamp},
		Detail:     detail,
	}, nil
}

// Seal is what makes a message entry v3: the message's random salt and
// the evidence object of its opening (Opening(md, Salt).Encode()).
type Seal struct {
	Salt    [leaf.SaltSize]byte
	Opening hashchain.Hash
}

// Opening returns the opening of md's personal fields under salt: the
// values MessageDetail takes from md, in clear, with the salt. Export
// stores its Encode() as evidence; verify re-derives it.
func Opening(md *genesys.MessageData, salt [leaf.SaltSize]byte) *leaf.Opening {
	return openingOf(md.ID, MessageDetail(md, nil), salt)
}

// openingOf is Opening from the message's detail (Message has it already:
// the content hash is not computed again).
func openingOf(id string, d *leaf.MessageDetail, salt [leaf.SaltSize]byte) *leaf.Opening {
	return &leaf.Opening{MessageID: id, Salt: salt, Fields: map[string]string{
		"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": d.ProviderMessageID, "to": d.To,
	}}
}

// MessageDetail is the detail part of Message, v1 (no seal).
func MessageDetail(md *genesys.MessageData, media []leaf.MediaRef) *leaf.MessageDetail {
	d := new(leaf.MessageDetail)
	MessageDetailInto(d, md, media)
	return d
}

// MessageDetailInto is MessageDetail written into d (all of it), for a
// caller that keeps the detail on its stack: verify --evidence derives
// one a message.
func MessageDetailInto(d *leaf.MessageDetail, md *genesys.MessageData, media []leaf.MediaRef) {
	*d = leaf.MessageDetail{
		ContentSHA256:     genesys.ContentHash(genesys.MessageText(md)),
		From:              md.FromAddress,
		To:                md.ToAddress,
		Direction:         md.Direction,
		MessengerType:     md.MessengerType,
		ProviderMessageID: md.ProviderMessageID,
		Media:             media,
	}
	if n := md.NormalizedMessage; n != nil && n.Channel != nil {
		d.DateModified, d.DateDeleted = n.Channel.DateModified, n.Channel.DateDeleted
	}
}

// Media returns the media of md that custody downloads, in the order of
// a message detail's media: the attachments of normalizedMessage.content[]
// that have a url, in content order, then the header media of its
// templates (content[].template.header.media, WhatsApp's image, video or
// document header) that have a url, in content order.
func Media(md *genesys.MessageData) []*genesys.ContentAttachment {
	n := md.NormalizedMessage
	if n == nil {
		return nil
	}
	var out []*genesys.ContentAttachment
	for _, c := range n.Content {
		if a := c.Attachment; a != nil && a.URL != "" {
			out = append(out, a)
		}
	}
	for _, c := range n.Content {
		if a := headerMedia(c); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// headerMedia is c's template header media when it has a url, else nil.
func headerMedia(c genesys.MessageContent) *genesys.ContentAttachment {
	if t := c.Template; t != nil && t.Header != nil && t.Header.Media != nil && t.Header.Media.URL != "" {
		return t.Header.Media
	}
	return nil
}

// Attachments lists the ids of the attachments of md that custody
// downloads (those with a URL), in order: the ids of a message detail's
// media when the export fetched media, before its template header media
// (HeaderMedia).
func Attachments(md *genesys.MessageData) []string {
	var ids []string
	if n := md.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			if a := c.Attachment; a != nil && a.URL != "" {
				ids = append(ids, a.ID)
			}
		}
	}
	return ids
}

// HeaderMedia lists the ids of the template header media of md that
// custody downloads (those with a URL), in content order: the ids of a
// message detail's media after Attachments.
func HeaderMedia(md *genesys.MessageData) []string {
	var ids []string
	if n := md.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			if a := headerMedia(c); a != nil {
				ids = append(ids, a.ID)
			}
		}
	}
	return ids
}

// MediaWithoutURL returns the attachments of md that have no url, in
// content order, then those of its templates' header media that have
// none (Genesys's model makes url optional): what Media leaves out, and
// export asks of the Recordings service, recording them in a message
// detail's media after Media's.
func MediaWithoutURL(md *genesys.MessageData) []*genesys.ContentAttachment {
	n := md.NormalizedMessage
	if n == nil {
		return nil
	}
	var out []*genesys.ContentAttachment
	for _, c := range n.Content {
		if a := c.Attachment; a != nil && a.URL == "" {
			out = append(out, a)
		}
	}
	for _, c := range n.Content {
		if t := c.Template; t != nil && t.Header != nil && t.Header.Media != nil && t.Header.Media.URL == "" {
			out = append(out, t.Header.Media)
		}
	}
	return out
}

// WithoutURL lists the ids of MediaWithoutURL(md): the ids of a message
// detail's media after HeaderMedia.
func WithoutURL(md *genesys.MessageData) []string {
	var ids []string
	for _, a := range MediaWithoutURL(md) {
		ids = append(ids, a.ID)
	}
	return ids
}

// MediaMatch reports whether ids, the ids of a message detail's media in
// order, are the media md gives: Attachments(md), HeaderMedia(md), then
// WithoutURL(md), as export records them; or without WithoutURL(md), as
// it recorded them before it asked the Recordings service for media
// named without a url; or Attachments(md) alone, as it recorded them
// before it downloaded template header media (a ledger captured then
// keeps verifying). Nothing else: not some of them, not another order.
func MediaMatch(md *genesys.MessageData, ids []string) bool {
	att := Attachments(md)
	if len(ids) < len(att) || !slices.Equal(ids[:len(att)], att) {
		return false
	}
	rest := ids[len(att):]
	if len(rest) == 0 {
		return true
	}
	hm := HeaderMedia(md)
	if len(rest) < len(hm) || !slices.Equal(rest[:len(hm)], hm) {
		return false
	}
	rest = rest[len(hm):]
	return len(rest) == 0 || slices.Equal(rest, WithoutURL(md))
}

// ConversationFacts are what a conversation entry takes from evidence.
type ConversationFacts struct {
	ID       string         // the conversation object's id
	Payload  hashchain.Hash // PayloadHash of the conversation body
	Messages int            // distinct message ids its participants list
	Held     bool           // Held on the deletion-protection response
	// AuditRefs are AuditRefs over the pages named by AuditEvidence.
	AuditRefs []string
}

// Conversation returns the fields a conversation entry takes from
// evidence: conversation_id (the object's id), payload_sha256 (of the
// whole GET body), and in the detail legal_hold, audit_refs and messages
// (the distinct message ids of the conversation object: those captured
// plus those gone). The detail's evidence lists (hold, bulk, audit) and
// messages_gone are given by the caller: they say where the facts came
// from rather than being facts of one object.
func Conversation(f ConversationFacts, holdEvidence hashchain.Hash, bulkEvidence, auditEvidence, gone []string) (leaf.Entry, error) {
	detail, err := leaf.EncodeDetail(&leaf.ConversationDetail{
		LegalHold: f.Held, HoldEvidenceSHA256: holdEvidence.String(), AuditRefs: nonNil(f.AuditRefs),
		AuditEvidenceSHA256: nonNil(auditEvidence),
		Messages:            f.Messages, MessagesGone: nonNil(gone), BulkEvidenceSHA256: nonNil(bulkEvidence),
	})
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("derive: conversation %s: %w", f.ID, err)
	}
	return leaf.Entry{Kind: leaf.KindConversation, ConversationID: f.ID, PayloadSHA256: f.Payload, Detail: detail}, nil
}

// ReadConversation reads a GET /api/v2/conversations/messages/{id} body:
// the facts of ConversationFacts it holds (not Held or AuditRefs), and the
// message ids its participants list, distinct, in order.
func ReadConversation(body []byte) (ConversationFacts, []string, error) {
	if full, payload, ok := readConversationHashed(body); ok {
		ids := ConversationMessageIDs(&full)
		return ConversationFacts{ID: full.ID, Payload: payload, Messages: len(ids)}, ids, nil
	}
	full, ok := readConversationFast(body)
	if !ok {
		// Only the members read here are decoded: the object's id and its
		// participants' message ids (encoding/json skips the rest).
		var mc conversationRefs
		if err := json.Unmarshal(body, &mc); err != nil {
			return ConversationFacts{}, nil, fmt.Errorf("derive: conversation: %w", err)
		}
		full = mc.conversation()
	}
	payload, err := PayloadHash(body)
	if err != nil {
		return ConversationFacts{}, nil, fmt.Errorf("derive: conversation %s: %w", full.ID, err)
	}
	// The same rule as the export's, on the object as decoded here.
	ids := ConversationMessageIDs(&full)
	return ConversationFacts{ID: full.ID, Payload: payload, Messages: len(ids)}, ids, nil
}

// conversationRefs is what ReadConversation decodes of a conversation.
type conversationRefs struct {
	ID           string `json:"id"`
	Participants []struct {
		Messages []struct {
			MessageID string `json:"messageId"`
		} `json:"messages"`
	} `json:"participants"`
}

// conversation is the object as decoded, with only those members.
func (mc *conversationRefs) conversation() genesys.MessageConversation {
	full := genesys.MessageConversation{ID: mc.ID, Participants: make([]genesys.MessageMediaParticipant, len(mc.Participants))}
	for i, p := range mc.Participants {
		for _, m := range p.Messages {
			full.Participants[i].Messages = append(full.Participants[i].Messages, genesys.MessageDetails{MessageID: m.MessageID})
		}
	}
	return full
}

// ConversationMessageIDs returns the distinct message ids the
// conversation's participants list, in order of appearance.
func ConversationMessageIDs(mc *genesys.MessageConversation) []string {
	var ids []string
	seen := map[string]bool{}
	for _, p := range mc.Participants {
		for _, m := range p.Messages {
			if !seen[m.MessageID] {
				seen[m.MessageID] = true
				ids = append(ids, m.MessageID)
			}
		}
	}
	return ids
}

// DecodeMessage reads one message object (raw, exactly as it sits in the
// response body) and its payload hash.
func DecodeMessage(raw []byte) (*genesys.MessageData, hashchain.Hash, error) {
	if md, payload, ok := decodeMessageHashed(raw); ok {
		return md, payload, nil
	}
	md, ok := decodeMessageFast(raw)
	if !ok {
		md = &genesys.MessageData{}
		if err := json.Unmarshal(raw, md); err != nil {
			return nil, hashchain.Hash{}, fmt.Errorf("derive: message: %w", err)
		}
	}
	payload, err := PayloadHash(raw)
	if err != nil {
		return nil, hashchain.Hash{}, fmt.Errorf("derive: message %s: %w", md.ID, err)
	}
	return md, payload, nil
}

// ReadMessage is DecodeMessage for a reader that needs the message alone,
// not its payload hash (the diff's ledger index, reading a capture's
// attachments from its evidence): no canonical form is computed.
func ReadMessage(raw []byte) (*genesys.MessageData, error) {
	if md, ok := decodeMessageFast(raw); ok {
		return md, nil
	}
	md := &genesys.MessageData{}
	if err := json.Unmarshal(raw, md); err != nil {
		return nil, fmt.Errorf("derive: message: %w", err)
	}
	return md, nil
}

// PayloadHash is hashchain.PayloadHash (SHA-256 of the RFC 8785 form),
// computed through leaf.CanonicalDetail: its fast path for objects of
// strings, booleans, numbers, arrays and objects — what messages are —
// is held byte for byte and refusal for refusal to
// hashchain.Canonicalize by FuzzCanonicalDetail, and is several times
// faster. Every message is canonicalised once at capture and once more
// by each verify --evidence.
func PayloadHash(raw []byte) (hashchain.Hash, error) {
	return leaf.CanonicalSHA256(raw) // CanonicalDetail's form, hashed, in pooled buffers
}

// MessagesIn returns the message objects of a response body, raw, in
// order: the "entities" of a bulk-messages response (a
// genesys.TextMessageListing), or the body itself when it is a single
// message (GET …/messages/{id}, which export uses for a message the bulk
// call left out).
func MessagesIn(body []byte) ([]json.RawMessage, error) {
	if list, ok := messagesFast(body); ok {
		return list, nil
	}
	var top struct {
		Entities json.RawMessage `json:"entities"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("derive: messages: %w", err)
	}
	if top.Entities == nil {
		return []json.RawMessage{body}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(top.Entities, &list); err != nil {
		return nil, fmt.Errorf("derive: messages: entities: %w", err)
	}
	return list, nil
}

// messagesFast is MessagesIn for the usual body: an object whose one
// member spelt exactly "entities" is an array. It only splits the array
// (verify reads every bulk body again, and encoding/json's two passes
// cost as much as decoding the messages); anything else — a key that is
// "entities" only without regard to case (encoding/json's matching), a
// repeated one, any syntax error — it declines, and encoding/json, the
// reference, decides.
func messagesFast(body []byte) ([]json.RawMessage, bool) {
	list := []json.RawMessage{}
	ok := eachEntity(body, func(e int) (int, error) {
		end, err := jsonscan.Skip(body, e, entitiesMaxDepth)
		if err == nil {
			list = append(list, body[e:end:end])
		}
		return end, err
	})
	if !ok {
		return nil, false
	}
	return list, true
}

// entitiesMaxDepth is how deep the fast splits pass over nesting.
const entitiesMaxDepth = 256

// eachEntity calls elem with the index of each element of body's
// "entities" array, in order, and reports whether body is the usual bulk
// body messagesFast describes (false: encoding/json decides). elem
// returns the index past its element.
func eachEntity(body []byte, elem func(e int) (int, error)) bool {
	i := jsonscan.Space(body, 0)
	found := false
	end, err := jsonscan.Object(body, i, func(key []byte, v int) (int, error) {
		if !bytes.EqualFold(key, []byte("entities")) {
			return jsonscan.Skip(body, v, entitiesMaxDepth)
		}
		if found || string(key) != "entities" || v >= len(body) || body[v] != '[' {
			return v, errDecline
		}
		found = true
		return jsonscan.Array(body, v, elem)
	})
	return err == nil && found && jsonscan.Space(body, end) == len(body)
}

// Decoded is one message of a body as DecodeMessagesIn gives it: its
// object as it sits in the body, and DecodeMessage's answer on it.
type Decoded struct {
	Raw     []byte
	MD      *genesys.MessageData
	Payload hashchain.Hash
	Err     error
}

// DecodeMessagesIn is MessagesIn and DecodeMessage of each message it
// returns, in one scan of the usual bulk body: where MessagesIn's split
// passes over each message (jsonscan.Skip) for DecodeMessage to read it
// again, the fast decoder reads each message where it sits and the split
// goes on from where it stopped (issue 16: the split was a twenty-fifth
// of verify --evidence). A message the decoder declines is passed over
// as MessagesIn does and given to DecodeMessage; a body it cannot split
// so goes to MessagesIn itself. Its error and its messages are
// MessagesIn's and DecodeMessage's, exactly: FuzzDecodeMessagesIn.
//
// Unlike DecodeMessage's, the messages' strings are views of body
// where it holds them as they are (most of them): body must not change
// while the messages are used, and a message kept keeps all of body
// alive (verify's cache of decoded bodies counts the body in what each
// costs).
func DecodeMessagesIn(body []byte) ([]Decoded, error) {
	if out, ok := decodeMessagesFast(body); ok {
		return out, nil
	}
	list, err := MessagesIn(body)
	if err != nil {
		return nil, err
	}
	out := make([]Decoded, len(list))
	for i, raw := range list {
		out[i].Raw = raw
		out[i].MD, out[i].Payload, out[i].Err = DecodeMessage(raw)
	}
	return out, nil
}

// decodeMessagesFast is messagesFast with each message decoded as it is
// met: what messagesFast accepts, it accepts, with the same messages.
// A message the decoder answers is one JSON value that ends where Skip
// would end it (within Skip's depth: the decoder's is less).
func decodeMessagesFast(body []byte) ([]Decoded, bool) {
	out := []Decoded{}
	ok := eachEntity(body, func(e int) (int, error) {
		if md, sum, end, ok := decodeMessageAt(body[e:]); ok {
			end += e
			out = append(out, Decoded{Raw: body[e:end:end], MD: md, Payload: sum})
			return end, nil
		}
		end, err := jsonscan.Skip(body, e, entitiesMaxDepth)
		if err != nil {
			return end, err
		}
		raw := body[e:end:end]
		md, sum, derr := DecodeMessage(raw)
		out = append(out, Decoded{Raw: raw, MD: md, Payload: sum, Err: derr})
		return end, nil
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// errDecline stops a fast path: encoding/json decides.
var errDecline = errors.New("derive: not for the fast path")

// Held reports whether the deletion-protection response (POST
// /api/v2/recordings/deletionprotection: the list of protected
// conversations among those asked about) names conversation convID.
func Held(protected []genesys.EntityRef, convID string) bool {
	return slices.ContainsFunc(protected, func(r genesys.EntityRef) bool { return r.ID == convID })
}

// ReadHold reads a deletion-protection response body into the set of
// protected conversation ids.
func ReadHold(body []byte) (map[string]bool, error) {
	var refs []genesys.EntityRef
	if err := json.Unmarshal(body, &refs); err != nil {
		return nil, fmt.Errorf("derive: deletion protection: %w", err)
	}
	set := make(map[string]bool, len(refs))
	for _, r := range refs {
		set[r.ID] = true
	}
	return set, nil
}

// AuditIndex maps conversation ids to the audit-trail record ids that
// concern them, across the pages of one audit query.
type AuditIndex map[string][]string

// Add indexes one page of audit query results: each record concerns the
// ids AuditSubjects names.
func (x AuditIndex) Add(page *genesys.AuditQueryExecutionResults) {
	for _, m := range page.Entities {
		for _, id := range AuditSubjects(m) {
			x[id] = append(x[id], m.ID)
		}
	}
}

// Refs returns AuditRefs of convID once every page is added: the ids
// sorted, never nil.
func (x AuditIndex) Refs(convID string) []string {
	r := slices.Clone(x[convID])
	slices.Sort(r)
	return nonNil(r)
}

// ReadAuditPage reads one page of audit query results.
func ReadAuditPage(body []byte) (*genesys.AuditQueryExecutionResults, error) {
	var p genesys.AuditQueryExecutionResults
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("derive: audit page: %w", err)
	}
	return &p, nil
}

// AuditSubjects returns the ids an audit record names, any of which may
// be a conversation's: its entity's id; each entityChanges[].entityId
// other than that; and each value of its context (the model's
// map[string]string "additional context") not already among them, by
// value whatever its key, since Genesys documents no key. An entry about
// a recording (the SDK's Quality audit entries list ApplyProtection among
// their actions and Recording, never Conversation, among their entity
// types) names the recording as its entity, and may name its
// conversation only in context.
func AuditSubjects(m genesys.AuditLogMessage) []string {
	var ids []string
	if m.Entity != nil && m.Entity.ID != "" {
		ids = append(ids, m.Entity.ID)
	}
	for _, c := range m.EntityChanges {
		if c.EntityID != "" && (m.Entity == nil || c.EntityID != m.Entity.ID) {
			ids = append(ids, c.EntityID)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Context)) {
		if v := m.Context[k]; v != "" && !slices.Contains(ids, v) {
			ids = append(ids, v)
		}
	}
	return ids
}

// Audit returns the detail field an audit entry takes from its evidence
// (one page of results): entries, the number of records on the page.
func Audit(page *genesys.AuditQueryExecutionResults) int { return len(page.Entities) }

// Listing returns the detail field a listing entry takes from its
// evidence (one page of an analytics job's results): conversations, the
// number listed.
func Listing(body []byte) (int, error) {
	if n, ok := listingFast(body); ok {
		return n, nil
	}
	var p struct {
		Conversations []json.RawMessage `json:"conversations"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, fmt.Errorf("derive: listing page: %w", err)
	}
	return len(p.Conversations), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
