package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// transcriber reads one conversation's transcript from the ledger and
// the evidence; it keeps nothing between conversations but the last
// messages body (a bulk response serves many messages).
type transcriber struct {
	l     *ledger.Ledger
	store evidence.Store
	loc   *time.Location
	diff  *diffFacts
	// proofs writes the proof file of a message and returns its name, or
	// "" when it gets none.
	proofs func(c *convState, e *leaf.Entry) (string, error)
	show   func(conv string, at time.Time) bool // messages to show; nil for all
	// erasure says what was erased: never read, nor shown, from its
	// evidence (which is gone).
	erasure *erasure.State
	// bad are the objects verification found altered or missing
	// (section 6), by address: an attachment among them is shown so,
	// never as downloaded. Read-only, shared by every worker.
	bad     map[hashchain.Hash]badObject
	bodySum hashchain.Hash
	body    map[string]*genesys.MessageData
	bodyErr error
}

// StatusAltered is the status of a message whose evidence object (the
// response body the ledger names) does not hash to its address: altered
// or damaged since capture. Its content is not shown.
const StatusAltered = "evidence_altered"

// StatusMissing is the status of a message whose response body is not in
// the evidence store (and was not erased): nothing of it can be shown.
// An attachment whose object is missing has it as its status too.
const StatusMissing = "evidence_missing"

// badObject is an evidence object verification found altered (its
// stored bytes hash to actual, or could not be re-hashed: detail) or
// missing.
type badObject struct {
	missing bool
	actual  hashchain.Hash
	detail  string
}

// kind is the exception kind and status of what depends on it.
func (b badObject) kind() string {
	if b.missing {
		return StatusMissing
	}
	return StatusAltered
}

// says is what verification found of the object at sum, in words.
func (b badObject) says(sum hashchain.Hash) string {
	switch {
	case b.missing:
		return fmt.Sprintf("evidence %s is missing from the store", sum)
	case b.actual.IsZero():
		return fmt.Sprintf("evidence %s could not be re-hashed: %s", sum, b.detail)
	}
	return fmt.Sprintf("evidence %s was altered: the stored bytes hash to %s", sum, b.actual)
}

// get reads the evidence object at sum and checks that it is what its
// address says: a report never shows content from an object that does
// not hash to it. A mismatch is an error matching evidence.ErrCorrupt.
func (t *transcriber) get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	return evidence.GetChecked(ctx, t.store, sum)
}

// alteredText is what a transcript says in place of content read from an
// object that does not hash to its address (err, from get).
func alteredText(what string, err error) string {
	return err.Error() + "; " + what + " not shown"
}

// conversation reads c's transcript.
func (t *transcriber) conversation(ctx context.Context, c *convState) (*Conversation, error) {
	// Messages is [] for a conversation captured without any (report.json
	// says an array).
	out := &Conversation{ID: c.id, Held: c.held, Seq: c.seq, LeafHash: c.leafHash.String(), Gone: c.gone, Messages: []*Message{}}
	if out.Gone == nil {
		out.Gone = []string{}
	}
	if r, ok := t.erasure.ConversationRecord(c.id); ok {
		out.Erased = erasureOf(r)
		out.Participants = []Participant{} // its conversation body is erased
	} else {
		var err error
		if out.Participants, out.ParticipantsError, out.participantsAltered, out.participantsMissing, err = t.participants(ctx, c); err != nil {
			return nil, err
		}
	}
	latest := map[string]int{} // message id → index in out.Messages
	err := t.l.EntriesAt(ctx, c.msgSeqs, func(e leaf.Entry) error {
		if t.show != nil {
			var at time.Time
			if e.Compliance != nil {
				at, _, _ = genesys.ParseTimestamp(e.Compliance.OriginalTimestamp)
			}
			if !t.show(c.id, at) {
				return nil
			}
		}
		m, err := t.message(ctx, c, &e)
		if err != nil {
			return err
		}
		if i, ok := latest[e.MessageID]; ok {
			out.Messages[i] = m // a later capture supersedes
			return nil
		}
		latest[e.MessageID] = len(out.Messages)
		out.Messages = append(out.Messages, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.Messages, func(a, b *Message) int {
		return cmp.Or(strings.Compare(a.TimeUTC, b.TimeUTC), strings.Compare(a.ID, b.ID))
	})
	for _, m := range out.Messages {
		// Erasure is not a finding about the export: it is the custodian's
		// own recorded act, stated in section 7.
		// Nor is evidence altered since capture: it is counted apart.
		if slices.ContainsFunc(m.Status, func(s string) bool {
			return s != "captured" && s != "erased" && s != "body_erased" && s != StatusAltered && s != StatusMissing
		}) {
			out.Findings++
		}
		if m.Altered {
			out.EvidenceAltered++
		}
		if m.Missing {
			out.EvidenceMissing++
		}
	}
	return out, nil
}

// evidenceExceptions are section 7's rows for the evidence conv's
// transcript read that does not hash to its address or is missing: its
// conversation object, then each message read from such a response body,
// each with what the ledger holds for it (the entry that stands for it,
// and the address it names). The other objects its records depend on
// (openings, attachments, hold answers, …) are verification's to find:
// readLedger lists them.
func evidenceExceptions(c *convState, conv *Conversation) []Exception {
	var out []Exception
	if conv.participantsAltered || conv.participantsMissing {
		out = append(out, Exception{Kind: map[bool]string{false: StatusAltered, true: StatusMissing}[conv.participantsMissing], ConversationID: conv.ID,
			Reason: fmt.Sprintf("the ledger holds the conversation entry at seq %d (leaf hash %s), which names this object: %s", conv.Seq, conv.LeafHash, conv.ParticipantsError),
			Ledger: &ExceptionLedger{Seq: conv.Seq, LeafHash: conv.LeafHash, EvidenceSHA256: c.evidence.String()}})
	}
	for _, m := range conv.Messages {
		if !m.Altered && !m.Missing {
			continue
		}
		out = append(out, Exception{Kind: map[bool]string{false: StatusAltered, true: StatusMissing}[m.Missing], ConversationID: conv.ID, MessageID: m.ID,
			Reason: fmt.Sprintf("the ledger holds the message entry at seq %d (leaf hash %s, payload_sha256 %s), which names this object: %s", m.Seq, m.LeafHash, m.PayloadSHA256, m.Error),
			Ledger: &ExceptionLedger{Seq: m.Seq, LeafHash: m.LeafHash, PayloadSHA256: m.PayloadSHA256, EvidenceSHA256: m.evidence.String()}})
	}
	return out
}

// participants reads the conversation object kept as evidence. An object
// that cannot be read or decoded is said (unreadable: why), not shown as
// no participants; one that does not hash to its address is said too
// (altered), and nothing of it shown, and so is one not in the store
// (missing); the error is ctx's end, which stops the report.
func (t *transcriber) participants(ctx context.Context, c *convState) (ps []Participant, unreadable string, altered, missing bool, err error) {
	ps = []Participant{}
	if c.evidence.IsZero() {
		return ps, "", false, false, nil
	}
	if _, gone := t.erasure.Object(c.evidence); gone {
		return ps, "", false, false, nil
	}
	b, err := t.get(ctx, c.evidence)
	if errors.Is(err, evidence.ErrCorrupt) {
		return ps, alteredText("its participants are", err), true, false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", false, false, ctx.Err()
		}
		if errors.Is(err, fs.ErrNotExist) {
			return ps, "evidence unreadable: the conversation object is missing from the evidence store, and no erasure deleted it (" + err.Error() + ")", false, true, nil
		}
		return ps, "evidence unreadable: " + err.Error(), false, false, nil
	}
	var mc genesys.MessageConversation
	if err := json.Unmarshal(b, &mc); err != nil {
		return ps, "evidence unreadable: " + err.Error(), false, false, nil
	}
	for _, p := range mc.Participants {
		q := Participant{Purpose: p.Purpose, Name: p.Name}
		if p.User != nil && q.Name == "" {
			q.Name = p.User.Name
		}
		switch {
		case p.FromAddress != nil && p.Purpose == "customer":
			q.Address = cmp.Or(p.FromAddress.AddressNormalized, p.FromAddress.AddressRaw, p.FromAddress.AddressDisplayable)
		case p.ToAddress != nil:
			q.Address = cmp.Or(p.ToAddress.AddressNormalized, p.ToAddress.AddressRaw, p.ToAddress.AddressDisplayable)
		}
		q.Address = cmp.Or(q.Address, p.Address)
		ps = append(ps, q)
	}
	return ps, "", false, false, nil
}

// messageBody returns the messages of the response body sum, by id,
// each decoded once for all the entries that name it.
func (t *transcriber) messageBody(ctx context.Context, sum hashchain.Hash) (map[string]*genesys.MessageData, error) {
	if sum == t.bodySum && (t.body != nil || t.bodyErr != nil) {
		return t.body, t.bodyErr
	}
	t.bodySum, t.body, t.bodyErr = sum, nil, nil
	b, err := t.get(ctx, sum)
	if err != nil {
		t.bodyErr = err
		return nil, err
	}
	list, err := derive.MessagesIn(b)
	if err != nil {
		t.bodyErr = err
		return nil, err
	}
	t.body = make(map[string]*genesys.MessageData, len(list))
	for _, raw := range list {
		var lm shownMessage
		if json.Unmarshal(raw, &lm) == nil {
			t.body[lm.ID] = &genesys.MessageData{ID: lm.ID, Timestamp: lm.Timestamp, FromAddress: lm.FromAddress, ToAddress: lm.ToAddress,
				Direction: lm.Direction, TextBody: lm.TextBody, CreatedBy: lm.CreatedBy, NormalizedMessage: lm.NormalizedMessage}
		}
	}
	return t.body, nil
}

// shownMessage is the part of genesys.MessageData (same members) a
// transcript shows: decoding only it skips the receipts and media lists
// a report never reads, which cost as much as the rest of a message.
type shownMessage struct {
	ID                string                     `json:"id"`
	Timestamp         string                     `json:"timestamp"`
	FromAddress       string                     `json:"fromAddress"`
	ToAddress         string                     `json:"toAddress"`
	Direction         string                     `json:"direction"`
	TextBody          string                     `json:"textBody"`
	CreatedBy         *genesys.UserRef           `json:"createdBy"`
	NormalizedMessage *genesys.NormalizedMessage `json:"normalizedMessage"`
}

// message reads one message entry's message from its evidence.
func (t *transcriber) message(ctx context.Context, c *convState, e *leaf.Entry) (*Message, error) {
	m := &Message{ID: e.MessageID, Seq: e.Seq, LeafHash: e.LeafHash.String(), PayloadSHA256: e.PayloadSHA256.String(),
		Attachments: []Attachment{}, Status: []string{"captured"}, evidence: e.EvidenceSHA256}
	if e.Compliance != nil {
		m.TimeUTC = e.Compliance.OriginalTimestamp
	}
	if st := t.diff.statusOf(c.id, e.MessageID); len(st) > 0 {
		m.Status = st
	}
	if t.proofs != nil {
		var err error
		if m.Proof, err = t.proofs(c, e); err != nil {
			return nil, err
		}
	}
	// Erased: only the ledger's facts (seq, hashes, time) are shown.
	if r, ok := t.erasure.MessageRecord(c.id, e.MessageID); ok {
		m.Status, m.Erased = []string{"erased"}, erasureOf(r)
		return m, nil
	}
	r, collateral := t.erasure.Collateral(c.id, e.MessageID)
	if seq, gone := t.erasure.Object(e.EvidenceSHA256); gone && !collateral {
		// Its body is gone though no entry names it collateral (an older
		// erasure): say the same thing.
		r, collateral = t.erasure.Record(seq), true
	}
	if collateral {
		m.BodyErased = erasureOf(r)
		m.Status = append(slices.DeleteFunc(m.Status, func(s string) bool { return s == "captured" }), "body_erased")
		return m, nil
	}
	var media []leaf.MediaRef
	if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
		md := d.(*leaf.MessageDetail)
		media = md.Media
		// Deleted or edited by its sender at the source before capture:
		// the ledger's facts, marked, so an empty or edited text does
		// not read as the message as sent.
		m.DateDeleted, m.DateModified = md.DateDeleted, md.DateModified
		if m.DateDeleted != "" {
			m.Status = append(m.Status, StatusDeletedAtSource)
		}
		if m.DateModified != "" {
			m.Status = append(m.Status, StatusEditedAtSource)
		}
	}
	body, err := t.messageBody(ctx, e.EvidenceSHA256)
	if errors.Is(err, evidence.ErrCorrupt) {
		// Nothing of the object is shown: not its text, sender,
		// recipient nor attachments. Only the ledger's facts remain.
		m.Status = append(slices.DeleteFunc(m.Status, func(s string) bool { return s == "captured" }), StatusAltered)
		m.Altered, m.Error = true, alteredText("its text, sender, recipient and attachments are", err)
		return m, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // a Ctrl-C, not evidence that cannot be read
		}
		m.Error = "evidence unreadable: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			// Not in the store, and not erased (checked above): nothing of
			// it can be shown, as of an altered one.
			m.Status = append(slices.DeleteFunc(m.Status, func(s string) bool { return s == "captured" }), StatusMissing)
			m.Missing = true
			m.Error = "evidence unreadable: its response body is missing from the evidence store, and no erasure deleted it (" + err.Error() + "); its text, sender, recipient and attachments are not shown"
		}
		return m, nil
	}
	// The response body hashes to its address (get); that the message
	// object in it hashes to the leaf's payload_sha256 is verification's
	// to check (verify --evidence re-derives every message), and section
	// 6 says whether it held.
	md, ok := body[e.MessageID]
	if !ok {
		m.Error = "the evidence holds no such message"
		return m, nil
	}
	m.From, m.To, m.Direction = md.FromAddress, md.ToAddress, md.Direction
	m.Text = genesys.MessageText(md)
	m.Sender = sender(md)
	if ts, _, err := genesys.ParseTimestamp(md.Timestamp); err == nil {
		m.TimeUTC = genesys.FormatMillis(ts)
		m.TimeLocal = ts.In(t.loc).Format("2006-01-02 15:04:05.000 MST")
	}
	byID := map[string]leaf.MediaRef{}
	for _, r := range media {
		byID[r.ID] = r
	}
	if n := md.NormalizedMessage; n != nil {
		for _, ct := range n.Content {
			a := ct.Attachment
			if a == nil {
				continue
			}
			m.Attachments = append(m.Attachments, t.attachment(a, byID, false))
		}
		// A template's header media (WhatsApp's image, video or document
		// header) is media of its message after the attachments
		// (derive.Media), shown as the detail records it, labelled as the
		// template's header. A detail without it — captured before export
		// downloaded header media, or by an export that fetched no media
		// — shows it not downloaded, with the API's stated sha256: the
		// message names media the ledger does not hold (section 7). So
		// does header media served without a url, which derive.Media
		// leaves out (nothing to download) but the message still names.
		for _, ct := range n.Content {
			if tp := ct.Template; tp != nil && tp.Header != nil && tp.Header.Media != nil {
				m.Attachments = append(m.Attachments, t.attachment(tp.Header.Media, byID, true))
			}
		}
	}
	return m, nil
}

// attachment is how a transcript shows a, an attachment (or, header,
// template header media) of a message whose detail records the media
// byID: as recorded there, else not downloaded with the API's stated
// sha256, and NoURL when the message gives it no url — the evidence's
// own reason that no download was tried, not --media=false.
func (t *transcriber) attachment(a *genesys.ContentAttachment, byID map[string]leaf.MediaRef, header bool) Attachment {
	at := Attachment{ID: a.ID, Name: a.Filename, Type: cmp.Or(a.Mime, a.MediaType), SHA256: a.Sha256, Status: StatusNotDownloaded, TemplateHeader: header}
	if r, ok := byID[a.ID]; ok {
		at.SHA256, at.Status = cmp.Or(r.SHA256, a.Sha256), t.mediaStatus(r)
		at.NotChecked = at.Status == "downloaded" && unchecked(r)
	} else {
		at.NoURL = a.URL == ""
	}
	return at
}

// mediaStatus is an attachment's status as its message's capture records
// it ("downloaded" when it kept the bytes), unless verification found
// the object holding them altered or missing: then that (StatusAltered,
// StatusMissing), never "downloaded".
func (t *transcriber) mediaStatus(r leaf.MediaRef) string {
	if h, err := hashchain.ParseHash(r.Evidence); err == nil {
		if b, ok := t.bad[h]; ok {
			return b.kind()
		}
	}
	return cmp.Or(r.Status, "downloaded")
}

// SenderName is the name part of m.Sender (what sender wrote before the
// address), and SenderAddress the address: the page sets each in its own
// isolate, so a bidi control in a name the sender chose (a WhatsApp
// nickname) cannot reorder the address that identifies them.
func (m *Message) SenderName() string {
	name, _ := m.senderParts()
	return name
}

// SenderAddress is the address part of m.Sender: see SenderName.
func (m *Message) SenderAddress() string {
	_, addr := m.senderParts()
	return addr
}

// senderParts splits m.Sender as sender built it: name, then " <from>"
// when the message has a from address (m.From), or the address alone.
func (m *Message) senderParts() (name, addr string) {
	if m.From == "" {
		return m.Sender, ""
	}
	if m.Sender == m.From {
		return "", m.From
	}
	if n, ok := strings.CutSuffix(m.Sender, " <"+m.From+">"); ok {
		return n, m.From
	}
	return m.Sender, ""
}

// sender names who sent md: a name where the message gives one, and how
// (bot, agent), with the address.
func sender(md *genesys.MessageData) string {
	var name, who string
	if n := md.NormalizedMessage; n != nil {
		if ch := n.Channel; ch != nil && ch.From != nil {
			name = cmp.Or(ch.From.Nickname, strings.TrimSpace(ch.From.FirstName+" "+ch.From.LastName))
		}
		who = n.OriginatingEntity
	}
	if name == "" && md.CreatedBy != nil {
		name = md.CreatedBy.Name
	}
	s := name
	if who != "" {
		s = strings.TrimSpace(s + " (" + strings.ToLower(who) + ")")
	}
	if md.FromAddress != "" {
		if s == "" {
			return md.FromAddress
		}
		s += " <" + md.FromAddress + ">"
	}
	return s
}
