package sim

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Conversation kinds: the media of a generated conversation.
const (
	KindWhatsApp     = "whatsapp"
	KindSMS          = "sms"
	KindWebMessaging = "webmessaging"
	KindVoice        = "voice"
)

var kinds = [...]string{KindWhatsApp, KindSMS, KindWebMessaging, KindVoice}

// Defaults of OrgConfig.
var (
	DefaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	DefaultEnd   = time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
)

const (
	defaultAgents = 24
	defaultQueues = 4
	// maxConvDuration bounds a conversation's lifetime; interval scans rely
	// on it (a conversation starting before t-maxConvDuration ended before t).
	maxConvDuration = 72 * time.Hour
	// DefaultAuditServiceName is the audit serviceName of deletion-protection
	// entries. The real one is UNKNOWN (the SDK's audit service enum has no
	// "Recording"; protection is a Quality feature): see OrgConfig.
	DefaultAuditServiceName = "Quality"
)

// What protection audit entries name as their entity (OrgConfig.AuditEntity).
const (
	// AuditEntityConversation: the conversation (entityType Conversation),
	// with its id in context too. The default.
	AuditEntityConversation = "conversation"
	// AuditEntityRecording: the conversation's recording (entityType
	// Recording, as the SDK's Quality audit enums file ApplyProtection),
	// the conversation named only in context (conversationId).
	AuditEntityRecording = "recording"
	// AuditEntityRecordingBare: the recording, the conversation named
	// nowhere in the entry (no context): nothing ties it to a
	// conversation but the recording's own metadata.
	AuditEntityRecordingBare = "recording-bare"
)

// AuditEntities are the values OrgConfig.AuditEntity takes.
var AuditEntities = []string{AuditEntityConversation, AuditEntityRecording, AuditEntityRecordingBare}

// OrgConfig describes the org to generate. Equal configs give identical orgs.
type OrgConfig struct {
	// Seed drives every generated value.
	Seed int64
	// Conversations is how many conversations the org holds.
	Conversations int
	// Start and End bound the conversations' start times (default
	// DefaultStart, DefaultEnd). Starts are spread evenly with jitter, so
	// conversation index order is start-time order.
	Start, End time.Time
	// LegalHoldShare is the share of conversations under recording deletion
	// protection (0 to 1), each with the audit entries that applied it.
	// A further quarter of that share of the others had a hold applied
	// and then revoked (RevokedHoldShare): not protected now, with the
	// audit entries of both.
	LegalHoldShare float64
	// OtherMediaShare is the share of conversations that are not WhatsApp:
	// SMS, web messaging and voice in equal parts.
	OtherMediaShare float64
	// Agents and Queues size the org (defaults 24 and 4).
	Agents, Queues int
	// MediaBaseURL prefixes attachment urls ("http://127.0.0.1:8080");
	// the server sets it to its own address when it builds the org.
	MediaBaseURL string
	// AuditServiceName is the serviceName of protection audit entries
	// (default DefaultAuditServiceName).
	AuditServiceName string
	// AuditEntity is what protection audit entries name as their entity:
	// AuditEntityConversation (default, also for ""), AuditEntityRecording
	// or AuditEntityRecordingBare. Which one Genesys writes is not
	// documented: the SDK files ApplyProtection under entity type
	// Recording, while custody matches entries to conversations.
	AuditEntity string
}

// header is what the org keeps per conversation: enough to list and filter
// without generating the conversation. 16 bytes each.
type header struct {
	startMs int64 // unix milliseconds
	durMs   int32
	kind    uint8
	hold    bool // protected when generated
	revoked bool // not protected, but was: applied, then revoked
}

// Org is a generated Genesys org. Conversations are generated on demand
// from (seed, index); the only per-conversation memory is a 16-byte header.
// Legal holds can change at run time (PUT deletionprotection); an Org is
// safe for concurrent use.
type Org struct {
	cfg     OrgConfig
	orgID   string
	idKey   uint64
	headers []header

	users       []genesys.DomainEntityRef // agents
	admins      []genesys.DomainEntityRef // who apply legal holds
	queues      []genesys.DomainEntityRef
	flows       []genesys.DomainEntityRef
	divisionID  string
	channels    []channel // one messaging integration per kind
	heldIndexes []int     // generated holds, ascending
	revokedIdx  []int     // generated holds applied then revoked, ascending

	cache convCache

	mu       sync.Mutex
	holds    map[int]bool                      // run-time overrides
	runAudit map[int][]genesys.AuditLogMessage // run-time audit entries
	auditSeq uint64
	// live seeds the ids of run-time audit entries: random per org, like
	// the server's live ids, so two processes with the same seed that
	// change the same hold never log the same audit id.
	live int64
}

// channel is a messaging integration: its id and the org's address on it.
type channel struct {
	id      string
	address string
	name    string
}

// NewOrg generates the org described by cfg.
func NewOrg(cfg OrgConfig) *Org {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.End.IsZero() || !cfg.End.After(cfg.Start) {
		cfg.End = cfg.Start.Add(DefaultEnd.Sub(DefaultStart))
	}
	cfg.Start, cfg.End = cfg.Start.UTC(), cfg.End.UTC()
	if cfg.Agents <= 0 {
		cfg.Agents = defaultAgents
	}
	if cfg.Queues <= 0 {
		cfg.Queues = defaultQueues
	}
	if cfg.Conversations < 0 {
		cfg.Conversations = 0
	}
	if cfg.AuditServiceName == "" {
		cfg.AuditServiceName = DefaultAuditServiceName
	}
	if cfg.AuditEntity == "" {
		cfg.AuditEntity = AuditEntityConversation
	}
	cfg.LegalHoldShare = clamp01(cfg.LegalHoldShare)
	cfg.OtherMediaShare = clamp01(cfg.OtherMediaShare)
	seed := cfg.Seed
	o := &Org{
		cfg:      cfg,
		orgID:    uuidOf(seed, tagOrg, 0),
		idKey:    hash(seed, tagConvID, 0xfeed),
		holds:    map[int]bool{},
		runAudit: map[int][]genesys.AuditLogMessage{},
		live:     liveSeed(),
	}
	o.divisionID = uuidOf(seed, tagOrg, 1)
	r := newRand(seed, tagOrg, 2)
	for i := range cfg.Agents {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		o.users = append(o.users, o.userRef(uuidOf(seed, tagOrg, 100, uint64(i)), first+" "+last))
	}
	for i, name := range []string{"Priya Raman (Legal)", "Tomás Ortega (Compliance)"} {
		o.admins = append(o.admins, o.userRef(uuidOf(seed, tagOrg, 200, uint64(i)), name))
	}
	for i := range cfg.Queues {
		id := uuidOf(seed, tagOrg, 300, uint64(i))
		o.queues = append(o.queues, genesys.DomainEntityRef{ID: id, Name: queueNames[i%len(queueNames)] + queueSuffix(i), SelfURI: "/api/v2/routing/queues/" + id})
	}
	for i, name := range []string{"WhatsApp Inbound Flow", "Messaging Triage Bot"} {
		id := uuidOf(seed, tagOrg, 400, uint64(i))
		o.flows = append(o.flows, genesys.DomainEntityRef{ID: id, Name: name, SelfURI: "/api/v2/flows/" + id})
	}
	for k, kind := range kinds {
		o.channels = append(o.channels, channel{
			id:      uuidOf(seed, tagOrg, 500, uint64(k)),
			address: phoneNumber(r),
			name:    "Custody Demo " + kind,
		})
	}
	o.channels[3].address = "+18005550100"

	n := cfg.Conversations
	o.headers = make([]header, n)
	startMs := cfg.Start.UnixMilli()
	span := float64(cfg.End.UnixMilli() - startMs)
	for i := range n {
		hr := newRand(seed, tagHeader, uint64(i))
		h := &o.headers[i]
		h.startMs = startMs + int64(span*(float64(i)+hr.Float64())/float64(n))
		k := 0
		if hr.Float64() < cfg.OtherMediaShare {
			k = 1 + hr.IntN(3)
		}
		h.kind = uint8(k)
		var d float64
		if kinds[k] == KindVoice {
			d = math.Exp(math.Log(300_000) + 0.7*hr.NormFloat64()) // median 5 min
			d = min(max(d, 30_000), 2*3600_000)
		} else {
			d = math.Exp(math.Log(900_000) + 1.4*hr.NormFloat64()) // median 15 min
			d = min(max(d, 60_000), float64(maxConvDuration.Milliseconds()))
		}
		h.durMs = int32(d)
		// Genesys allows at most MaxProtectedConversations protected
		// conversations per org: past them, a drawn hold is not applied
		// (the draw is still made, so other values do not move).
		h.hold = hr.Float64() < cfg.LegalHoldShare && len(o.heldIndexes) < MaxProtectedConversations
		if h.hold {
			o.heldIndexes = append(o.heldIndexes, i)
		} else if hr.Float64() < cfg.LegalHoldShare*RevokedHoldShare {
			// Drawn last, so no other value moves. A revoked hold is what
			// an export most easily misses: not held now, yet audited.
			h.revoked = true
			o.revokedIdx = append(o.revokedIdx, i)
		}
	}
	return o
}

// RevokedHoldShare is, as a share of OrgConfig.LegalHoldShare, how many
// of the conversations not protected had a generated hold applied and
// then revoked.
const RevokedHoldShare = 0.25

func clamp01(f float64) float64 {
	if math.IsNaN(f) || f < 0 {
		return 0
	}
	return min(f, 1)
}

func (o *Org) userRef(id, name string) genesys.DomainEntityRef {
	return genesys.DomainEntityRef{ID: id, Name: name, SelfURI: "/api/v2/users/" + id}
}

// Config returns the configuration the org was generated from, defaults
// filled in.
func (o *Org) Config() OrgConfig { return o.cfg }

// OrgID is the org's id (a UUID).
func (o *Org) OrgID() string { return o.orgID }

// Len is the number of conversations.
func (o *Org) Len() int { return len(o.headers) }

// Users are the org's agents.
func (o *Org) Users() []genesys.DomainEntityRef {
	return append([]genesys.DomainEntityRef(nil), o.users...)
}

// Queues are the org's routing queues.
func (o *Org) Queues() []genesys.DomainEntityRef {
	return append([]genesys.DomainEntityRef(nil), o.queues...)
}

// ConversationID is the id of conversation i (0 ≤ i < Len()).
func (o *Org) ConversationID(i int) string {
	return indexedUUID(hash(o.cfg.Seed, tagConvID, uint64(i)), o.idKey, i)
}

// Index returns the index of a conversation id.
func (o *Org) Index(id string) (int, bool) {
	i, ok := indexFromUUID(id, o.idKey)
	if !ok || i < 0 || i >= len(o.headers) || o.ConversationID(i) != id {
		return 0, false
	}
	return i, true
}

// Kind is the media kind of conversation i (KindWhatsApp, …).
func (o *Org) Kind(i int) string { return kinds[o.headers[i].kind] }

// MediaType and MessageType are the analytics mediaType and messageType of
// conversation i ("message"/"whatsapp", …; "voice"/"" for calls).
func (o *Org) MediaType(i int) (mediaType, messageType string) {
	k := o.Kind(i)
	if k == KindVoice {
		return "voice", ""
	}
	return "message", k
}

// Span returns the start and end of conversation i.
func (o *Org) Span(i int) (start, end time.Time) {
	h := o.headers[i]
	return time.UnixMilli(h.startMs).UTC(), time.UnixMilli(h.startMs + int64(h.durMs)).UTC()
}

// Overlapping returns the indexes, ascending, of the conversations whose
// lifetime [start, end] overlaps [from, to).
func (o *Org) Overlapping(from, to time.Time) (lo, hi int) {
	// Starts are ascending: every candidate has start in
	// [from - maxConvDuration, to).
	f, t := from.UnixMilli(), to.UnixMilli()
	lo = sort.Search(len(o.headers), func(i int) bool { return o.headers[i].startMs >= f-maxConvDuration.Milliseconds() })
	hi = sort.Search(len(o.headers), func(i int) bool { return o.headers[i].startMs >= t })
	return lo, hi
}

// overlaps reports whether conversation i overlaps [f, t) (unix ms).
func (o *Org) overlaps(i int, f, t int64) bool {
	h := o.headers[i]
	return h.startMs < t && h.startMs+int64(h.durMs) >= f
}

// LegalHold reports whether conversation i is currently protected.
func (o *Org) LegalHold(i int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.holdLocked(i)
}

func (o *Org) holdLocked(i int) bool {
	if v, ok := o.holds[i]; ok {
		return v
	}
	return o.headers[i].hold
}

// HeldIndexes returns the indexes of all currently protected conversations,
// ascending.
func (o *Org) HeldIndexes() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []int
	for _, i := range o.heldIndexes {
		if o.holdLocked(i) {
			out = append(out, i)
		}
	}
	for i, v := range o.holds {
		if v && !o.headers[i].hold {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

// withAudits returns the indexes of conversations with any audit entry,
// ascending.
func (o *Org) withAudits() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := append(append([]int(nil), o.heldIndexes...), o.revokedIdx...)
	for i := range o.runAudit {
		if !o.headers[i].hold && !o.headers[i].revoked {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

// SetLegalHold applies (protect) or revokes deletion protection on
// conversation i at time at, by user (nil: the org's first admin),
// recording an audit entry as Genesys does.
func (o *Org) SetLegalHold(i int, protect bool, at time.Time, by *genesys.DomainEntityRef, clientID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.holdLocked(i)
	o.holds[i] = protect
	if by == nil {
		by = &o.admins[0]
	}
	o.auditSeq++
	e := o.auditEntry(i, uuidOf(o.live, tagRuntime, o.auditSeq), at, *by, old, protect)
	if clientID != "" {
		e.Client = &genesys.EntityRef{ID: clientID}
	}
	o.runAudit[i] = append(o.runAudit[i], e)
}

// Audits returns the audit entries of conversation i, oldest first:
// generated ones, then those recorded at run time.
func (o *Org) Audits(i int) []genesys.AuditLogMessage {
	out := o.generatedAudits(i)
	o.mu.Lock()
	out = append(out, o.runAudit[i]...)
	o.mu.Unlock()
	return out
}

// generatedAudits: the entries that applied a generated legal hold. Some
// holds were applied, revoked and applied again; those of conversations
// not protected now (revoked) were applied and revoked.
func (o *Org) generatedAudits(i int) []genesys.AuditLogMessage {
	h := o.headers[i]
	if !h.hold && !h.revoked {
		return nil
	}
	r := newRand(o.cfg.Seed, tagAudits, uint64(i))
	_, end := o.Span(i)
	at := end.Add(time.Duration(3600+r.IntN(20*86400)) * time.Second).Add(time.Duration(r.IntN(1000)) * time.Millisecond)
	admin := o.admins[r.IntN(len(o.admins))]
	steps := []bool{true}
	switch {
	case h.revoked:
		steps = []bool{true, false}
	case r.Float64() < 0.15:
		steps = []bool{true, false, true}
	}
	var out []genesys.AuditLogMessage
	old := false
	for k, protect := range steps {
		out = append(out, o.auditEntry(i, uuidOf(o.cfg.Seed, tagAudits, uint64(i), uint64(k)), at, admin, old, protect))
		old = protect
		at = at.Add(time.Duration(600+r.IntN(5*86400)) * time.Second)
	}
	return out
}

// auditNamesRecording reports whether protection audit entries name the
// conversation's recording as their entity (OrgConfig.AuditEntity).
func (o *Org) auditNamesRecording() bool {
	return o.cfg.AuditEntity == AuditEntityRecording || o.cfg.AuditEntity == AuditEntityRecordingBare
}

func (o *Org) auditEntry(i int, id string, at time.Time, by genesys.DomainEntityRef, old, protect bool) genesys.AuditLogMessage {
	convID := o.ConversationID(i)
	action, verb := "ApplyProtection", "applied"
	if !protect {
		action, verb = "RevokeProtection", "revoked"
	}
	h := hash(o.cfg.Seed, tagAudits, hashString(id))
	e := genesys.AuditLogMessage{
		ID:            id,
		UserHomeOrgID: o.orgID,
		User:          &by,
		RemoteIP:      []string{fmt.Sprintf("10.%d.%d.%d", h>>8&0xff, h>>16&0xff, h>>24&0xff|1)},
		ServiceName:   o.cfg.AuditServiceName,
		Level:         "USER",
		EventDate:     ts(at),
		Message: &genesys.MessageInfo{
			LocalizableMessageCode: "recording." + action,
			Message:                fmt.Sprintf("Recording deletion protection %s on conversation %s", verb, convID),
		},
		Action:          action,
		Entity:          &genesys.DomainEntityRef{ID: convID, SelfURI: "/api/v2/conversations/" + convID},
		EntityType:      "Conversation",
		Status:          "SUCCESS",
		Application:     "Recording",
		PropertyChanges: []genesys.PropertyChange{{Property: "deletionProtected", OldValues: []string{fmt.Sprint(old)}, NewValues: []string{fmt.Sprint(protect)}}},
		Context:         map[string]string{"conversationId": convID},
	}
	if o.auditNamesRecording() {
		// The recording GET /api/v2/conversations/{id}/recordings serves.
		recID := uuidOf(o.cfg.Seed, tagRecording, uint64(i))
		e.Entity = &genesys.DomainEntityRef{ID: recID, SelfURI: "/api/v2/conversations/" + convID + "/recordings/" + recID}
		e.EntityType = "Recording"
		e.Message.Message = fmt.Sprintf("Recording deletion protection %s on recording %s", verb, recID)
		if o.cfg.AuditEntity == AuditEntityRecordingBare {
			e.Context = nil
		}
	}
	return e
}

// ts formats t the way Genesys does (genesys.TimeLayout: UTC,
// milliseconds). Hand-rolled: generation formats a few dozen timestamps per
// conversation and time.Format was a tenth of the serving cost.
func ts(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	if y < 0 || y > 9999 {
		return t.Format(genesys.TimeLayout)
	}
	var b [24]byte
	put := func(i, v, n int) {
		for k := i + n - 1; k >= i; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, s, 2)
	b[19] = '.'
	put(20, ms, 3)
	b[23] = 'Z'
	return string(b[:])
}

func queueSuffix(i int) string {
	if i < len(queueNames) {
		return ""
	}
	return fmt.Sprintf(" %d", i/len(queueNames)+1)
}
