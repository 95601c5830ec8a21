package leaf

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// Detail is the typed form of an entry's "detail" object: one Go type per
// entry kind (see the kinds table), written by EncodeDetail and read by
// DecodeDetail. The JSON member names and shapes are the ledger format:
// changing one changes the bytes of new leaves, so the types keep the
// exact members custody has always written (TestDetailBytes).
type Detail interface {
	// Kind is the entry kind the detail belongs to.
	Kind() string
	// EvidenceRefs lists the evidence objects the detail names, each
	// with what it is; the entry's own evidence_sha256 is not among them
	// (see Entry.EvidenceRefs).
	EvidenceRefs() []EvidenceRef
}

// EvidenceRef is one evidence object an entry names.
type EvidenceRef struct {
	// Role says what the object is: RoleResponse, RoleHold, RoleBulk, RoleAudit,
	// RoleMedia, RoleFindings, RoleFiles, or for a detail of an unknown
	// shape the member name that held it.
	Role string
	// SHA256 is the object's hash as written: 64 hex digits when the
	// entry is well formed (the reader parses and reports it).
	SHA256 string
}

// Evidence roles.
const (
	RoleResponse = "response" // the raw HTTP body of the entry's own request (evidence_sha256)
	RoleHold     = "hold"     // the deletion-protection (legal hold) response of a conversation
	RoleBulk     = "bulk"     // a bulk-messages response of a conversation
	RoleAudit    = "audit"    // an audit-trail page a conversation's audit references come from
	RoleMedia    = "media"    // a message's media attachment
	RoleFindings = "findings" // a part of a diff's findings (gzip of JSON Lines)
	RoleFiles    = "files"    // a part of a diff's export-file manifest
	RoleOpening  = "opening"  // a v3 message's salt and personal fields (Opening)
)

// EncodeDetail returns d's JSON, for Entry.Detail. Members are written in
// RFC 8785 order, so the leaf encoder usually only has to check them.
func EncodeDetail(d Detail) (json.RawMessage, error) {
	var b []byte
	var err error
	if m, ok := d.(*MessageDetail); ok && m != nil {
		b, err = appendMessageDetail(make([]byte, 0, 512), m) // json.Marshal's bytes, faster
	} else {
		b, err = json.Marshal(d)
	}
	if err != nil {
		return nil, fmt.Errorf("leaf: encode %s detail: %w", d.Kind(), err)
	}
	return b, nil
}

// DecodeDetail reads the detail of an entry of kind. For a kind of the
// table with a detail type it returns that type (a pointer: *MessageDetail
// and so on), decoded as encoding/json decodes but with member names
// matched exactly (unmarshalExact: "From" is not "from"), unknown members
// ignored, so details of older and newer custody read alike; an empty raw
// gives the zero detail. For any other kind it returns a *RawDetail.
func DecodeDetail(kind string, raw []byte) (Detail, error) {
	d, err := decodeDetail(kind, raw)
	if err != nil {
		return nil, fmt.Errorf("leaf: decode %s detail: %w", kind, err)
	}
	return d, nil
}

func decodeDetail(kind string, raw []byte) (Detail, error) {
	k, ok := LookupKind(kind)
	d := k.NewDetail()
	if !ok || d == nil {
		return rawDetail(kind, raw)
	}
	if len(raw) == 0 {
		return d, nil
	}
	if m, ok := d.(*MessageDetail); ok && m.decodeFast(raw, false) {
		return m, nil
	}
	if err := unmarshalExact(raw, d); err != nil {
		return nil, err
	}
	return d, nil
}

func rawDetail(kind string, raw []byte) (*RawDetail, error) {
	if len(raw) > 0 && !json.Valid(raw) {
		return nil, errors.New("not valid json")
	}
	return &RawDetail{kind: kind, Raw: raw}, nil
}

// EvidenceRefs lists every evidence object e names: its evidence_sha256
// (RoleResponse) and those of its detail. A detail that does not decode as
// its kind's type is searched as a RawDetail is, so that no reference is
// missed; only a detail that is not JSON at all is an error.
func (e *Entry) EvidenceRefs() ([]EvidenceRef, error) {
	var refs []EvidenceRef
	if !e.EvidenceSHA256.IsZero() {
		refs = append(refs, EvidenceRef{Role: RoleResponse, SHA256: e.EvidenceSHA256.String()})
	}
	if len(e.Detail) == 0 {
		return refs, nil
	}
	d, err := decodeDetail(e.Kind, e.Detail)
	if err != nil {
		d, err = rawDetail(e.Kind, e.Detail)
	}
	if err != nil {
		return refs, fmt.Errorf("leaf: evidence of entry %d: %s detail: %w", e.Seq, e.Kind, err)
	}
	return append(refs, d.EvidenceRefs()...), nil
}

// MessageDetail is a message entry's detail: what a diff compares (the
// content hash of the normalised text, the sender) and the message's
// other metadata as captured (export.MessageEntry writes it).
//
// A v3 detail (Salted) holds the personal fields (PersonalFields) only as
// salted commitments, with the evidence object of their opening; a v1
// detail holds them in clear. MarshalJSON writes the members of the
// detail's form only.
type MessageDetail struct {
	ContentSHA256     string     `json:"content_sha256"`
	DateDeleted       string     `json:"date_deleted,omitempty"`
	DateModified      string     `json:"date_modified,omitempty"`
	Direction         string     `json:"direction"`
	From              string     `json:"from"`
	Media             []MediaRef `json:"media,omitempty"`
	MessengerType     string     `json:"messenger_type"`
	ProviderMessageID string     `json:"provider_message_id,omitempty"`
	To                string     `json:"to"`

	// v3: commitments (64 hex) and the opening's evidence.
	ContentCommitment           string `json:"content_sha256_commitment,omitempty"`
	FromCommitment              string `json:"from_commitment,omitempty"`
	OpeningEvidence             string `json:"opening_evidence_sha256,omitempty"`
	ProviderMessageIDCommitment string `json:"provider_message_id_commitment,omitempty"`
	ToCommitment                string `json:"to_commitment,omitempty"`
}

// MarshalJSON writes a v1 detail exactly as custody always has, and a v3
// one with its commitments and none of the personal fields.
func (d MessageDetail) MarshalJSON() ([]byte, error) {
	if d.OpeningEvidence == "" {
		return json.Marshal(struct {
			ContentSHA256     string     `json:"content_sha256"`
			DateDeleted       string     `json:"date_deleted,omitempty"`
			DateModified      string     `json:"date_modified,omitempty"`
			Direction         string     `json:"direction"`
			From              string     `json:"from"`
			Media             []MediaRef `json:"media,omitempty"`
			MessengerType     string     `json:"messenger_type"`
			ProviderMessageID string     `json:"provider_message_id,omitempty"`
			To                string     `json:"to"`
		}{d.ContentSHA256, d.DateDeleted, d.DateModified, d.Direction, d.From, d.Media, d.MessengerType, d.ProviderMessageID, d.To})
	}
	return json.Marshal(struct {
		ContentCommitment           string     `json:"content_sha256_commitment"`
		DateDeleted                 string     `json:"date_deleted,omitempty"`
		DateModified                string     `json:"date_modified,omitempty"`
		Direction                   string     `json:"direction"`
		FromCommitment              string     `json:"from_commitment"`
		Media                       []MediaRef `json:"media,omitempty"`
		MessengerType               string     `json:"messenger_type"`
		OpeningEvidence             string     `json:"opening_evidence_sha256"`
		ProviderMessageIDCommitment string     `json:"provider_message_id_commitment"`
		ToCommitment                string     `json:"to_commitment"`
	}{d.ContentCommitment, d.DateDeleted, d.DateModified, d.Direction, d.FromCommitment, d.Media, d.MessengerType,
		d.OpeningEvidence, d.ProviderMessageIDCommitment, d.ToCommitment})
}

// MessageDetailMembers are the members of a message detail of format
// version v as MarshalJSON writes it: always, and when not empty. A
// detail derived from evidence has exactly these (verify --evidence
// reports any other).
func MessageDetailMembers(v int) (always, whenSet []string) {
	if v == FormatV3 {
		return []string{"content_sha256_commitment", "direction", "from_commitment", "messenger_type", "opening_evidence_sha256",
			"provider_message_id_commitment", "to_commitment"}, []string{"date_deleted", "date_modified", "media"}
	}
	return []string{"content_sha256", "direction", "from", "messenger_type", "to"},
		[]string{"date_deleted", "date_modified", "media", "provider_message_id"}
}

// IsMediaRefMember reports whether name is a member of a detail's media
// object (MediaRef).
func IsMediaRefMember(name string) bool { return mediaRefStrings[name] }

// MediaRef is a message's media attachment as captured: the attachment id,
// the SHA-256 of the downloaded bytes, and the evidence object holding
// them. An attachment that was not stored as good says so in Status (and
// why in Reason): MediaExpired or MediaRefused carry no bytes (no sha256,
// no evidence); MediaSHA256Mismatch keeps the bytes as served, with the
// digest the API stated in StatedSHA256. Reason, StatedSHA256 and Status
// are omitted when empty, so details written before them keep their bytes.
type MediaRef struct {
	Evidence     string `json:"evidence_sha256"`
	ID           string `json:"id"`
	Reason       string `json:"reason,omitempty"`
	SHA256       string `json:"sha256"`
	StatedSHA256 string `json:"stated_sha256,omitempty"`
	Status       string `json:"status,omitempty"`
}

// MediaRef.Status values; empty means downloaded and, when the API stated
// a sha256, matching it.
const (
	MediaExpired        = "expired"         // the url had expired (Genesys: 30 days after the message)
	MediaRefused        = "refused"         // the media host refused the url (4xx), or it was unusable
	MediaTooLarge       = "too_large"       // bigger than the download limit
	MediaSHA256Mismatch = "sha256_mismatch" // bytes kept, but they are not what the API stated
)

func (*MessageDetail) Kind() string { return KindMessage }

func (d *MessageDetail) EvidenceRefs() []EvidenceRef {
	var refs []EvidenceRef
	if d.OpeningEvidence != "" {
		refs = append(refs, EvidenceRef{Role: RoleOpening, SHA256: d.OpeningEvidence})
	}
	for _, m := range d.Media {
		if m.Status != "" && m.Evidence == "" {
			continue // not downloaded: Status says why
		}
		refs = append(refs, EvidenceRef{Role: RoleMedia, SHA256: m.Evidence})
	}
	return refs
}

// errDecline stops decodeFast's iteration: encoding/json decides.
var errDecline = errors.New("leaf: not for the fast path")

// decodeFast is unmarshalExact(raw, d) for the detail exports write: an
// object of strings. A diff reads the detail of every message the ledger
// holds, and encoding/json costs several times as much
// (BenchmarkDecodeMessageDetail). Member names are matched exactly; any
// other member, one in another case ("From", "content_ſha256") included,
// is unknown and skipped. It reports false, having maybe set part of d,
// for anything it is not sure of — media, a value that is not a string, a
// lone surrogate, any error — which unmarshalExact then decides;
// FuzzDecodeMessageDetail holds the two together. With views, a string
// without escapes is a view of raw (see view), not a copy: for callers
// that keep raw unchanged while they use d.
func (d *MessageDetail) decodeFast(raw []byte, views bool) bool {
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	var buf []byte
	end, err := jsonscan.Object(raw, i, func(key []byte, v int) (int, error) {
		if f := d.stringField(key); f != nil {
			if v >= len(raw) || raw[v] != '"' {
				return v, errDecline
			}
			end, esc, err := jsonscan.String(raw, v)
			if err != nil {
				return v, errDecline
			}
			s := raw[v+1 : end-1]
			if esc {
				if buf, end, err = jsonscan.AppendString(buf[:0], raw, v); err != nil {
					return v, errDecline
				}
				*f = string(buf)
			} else if views {
				*f = view(s)
			} else {
				*f = string(s)
			}
			return end, nil
		}
		if string(key) == "media" {
			return v, errDecline
		}
		return jsonscan.Skip(raw, v, maxDepth)
	})
	return err == nil && jsonscan.Space(raw, end) == len(raw)
}

// ConversationDetail is a conversation entry's detail: the legal hold and
// audit references as captured, with the evidence of the hold answer, of
// the audit-trail pages the references were drawn from and of the
// bulk-messages responses, and the messages the source no longer has.
type ConversationDetail struct {
	// AuditEvidenceSHA256 names the audit-trail pages AuditRefs were
	// drawn from ([] when the export had not loaded the audit trail yet);
	// nil (the member absent) in leaves written before custody recorded it.
	AuditEvidenceSHA256 []string `json:"audit_evidence_sha256,omitzero"`
	AuditRefs           []string `json:"audit_refs"`
	BulkEvidenceSHA256  []string `json:"bulk_evidence_sha256"`
	HoldEvidenceSHA256  string   `json:"hold_evidence_sha256"`
	LegalHold           bool     `json:"legal_hold"`
	Messages            int      `json:"messages"`
	MessagesGone        []string `json:"messages_gone"`
}

func (*ConversationDetail) Kind() string { return KindConversation }

func (d *ConversationDetail) EvidenceRefs() []EvidenceRef {
	var refs []EvidenceRef
	if d.HoldEvidenceSHA256 != "" {
		refs = append(refs, EvidenceRef{Role: RoleHold, SHA256: d.HoldEvidenceSHA256})
	}
	for _, s := range d.BulkEvidenceSHA256 {
		refs = append(refs, EvidenceRef{Role: RoleBulk, SHA256: s})
	}
	for _, s := range d.AuditEvidenceSHA256 {
		refs = append(refs, EvidenceRef{Role: RoleAudit, SHA256: s})
	}
	return refs
}

// Run events.
const (
	RunStart  = "start"
	RunResume = "resume"
	RunEnd    = "end"
)

// RunDetail is a run entry's detail. A run's first entry (Event RunStart,
// or RunResume when an interrupted run is taken up again) says who ran
// what, where; its last (RunEnd) says how it ended. Each writes only its
// own members.
type RunDetail struct {
	Event string `json:"event"`

	// RunStart and RunResume.
	RunKind     string          `json:"run_kind"`
	Operator    string          `json:"operator"`
	Host        string          `json:"host"`
	Tool        string          `json:"tool"`
	ToolVersion string          `json:"tool_version"`
	Scope       json.RawMessage `json:"scope"`    // export.Scope and its key
	Evidence    string          `json:"evidence"` // the evidence store's URL
	// APIURL and ClientIDs say where the run read from: the API's base URL
	// and the OAuth client ids (never a secret). Omitted when empty, so
	// details written before them keep their bytes.
	APIURL    string   `json:"api_url,omitempty"`
	ClientIDs []string `json:"client_ids,omitempty"`

	// RunEnd.
	Status     string          `json:"status"`
	Accounting json.RawMessage `json:"accounting"` // export.Accounting
}

func (*RunDetail) Kind() string { return KindRun }

func (*RunDetail) EvidenceRefs() []EvidenceRef { return nil }

// MarshalJSON writes the members of the detail's event, in RFC 8785 order.
func (d RunDetail) MarshalJSON() ([]byte, error) {
	if d.Event == RunEnd {
		return json.Marshal(struct {
			Accounting json.RawMessage `json:"accounting"`
			Event      string          `json:"event"`
			Status     string          `json:"status"`
		}{d.Accounting, d.Event, d.Status})
	}
	return json.Marshal(struct {
		APIURL      string          `json:"api_url,omitempty"`
		ClientIDs   []string        `json:"client_ids,omitempty"`
		Evidence    string          `json:"evidence"`
		Event       string          `json:"event"`
		Host        string          `json:"host"`
		Operator    string          `json:"operator"`
		RunKind     string          `json:"run_kind"`
		Scope       json.RawMessage `json:"scope"`
		Tool        string          `json:"tool"`
		ToolVersion string          `json:"tool_version"`
	}{d.APIURL, d.ClientIDs, d.Evidence, d.Event, d.Host, d.Operator, d.RunKind, d.Scope, d.Tool, d.ToolVersion})
}

// DiffDetail is a diff entry's detail: what was compared, under which
// policy, the hashes of the findings and of the export-file manifest and
// the evidence holding them, and the summary counts.
type DiffDetail struct {
	Conversations          int            `json:"conversations"`
	Counts                 map[string]int `json:"counts"` // findings by kind
	FilesEvidenceSHA256    EvidenceList   `json:"files_evidence_sha256"`
	FilesRead              int            `json:"files_read"`
	FilesSHA256            string         `json:"files_sha256"`
	FindingsEvidenceSHA256 EvidenceList   `json:"findings_evidence_sha256"`
	FindingsSHA256         string         `json:"findings_sha256"`
	Format                 string         `json:"format"`
	// Host, Operator and ToolVersion say who recorded the diff, on which
	// machine, with which custody: what a run entry says of an export
	// (RunDetail). Omitted when empty, so diffs recorded before them keep
	// their bytes.
	Host         string `json:"host,omitempty"`
	Messages     int    `json:"messages"`
	Operator     string `json:"operator,omitempty"`
	PolicySHA256 string `json:"policy_sha256"`
	Source       string `json:"source"`
	ToolVersion  string `json:"tool_version,omitempty"`
}

func (*DiffDetail) Kind() string { return KindDiff }

func (d *DiffDetail) EvidenceRefs() []EvidenceRef {
	var refs []EvidenceRef
	for _, s := range d.FindingsEvidenceSHA256 {
		refs = append(refs, EvidenceRef{Role: RoleFindings, SHA256: s})
	}
	for _, s := range d.FilesEvidenceSHA256 {
		refs = append(refs, EvidenceRef{Role: RoleFiles, SHA256: s})
	}
	return refs
}

// EvidenceList names evidence objects in order. It also reads the single
// string diffs recorded before findings were stored in parts.
type EvidenceList []string

// UnmarshalJSON reads a list of strings, or one string.
func (l *EvidenceList) UnmarshalJSON(b []byte) error {
	var one *string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = nil
		if one != nil {
			*l = EvidenceList{*one}
		}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// RefetchDetail is a refetch entry's detail: which diff's gap was
// re-fetched by which run, and the outcome.
type RefetchDetail struct {
	DiffRunID    string `json:"diff_run_id"`
	Finding      string `json:"finding"` // the diff finding kind
	Outcome      string `json:"outcome"`
	Reason       string `json:"reason"`
	RefetchRunID string `json:"refetch_run_id"`
}

func (*RefetchDetail) Kind() string { return KindRefetch }

func (*RefetchDetail) EvidenceRefs() []EvidenceRef { return nil }

// AuditDetail is an audit entry's detail: one page of audit-trail query
// results (the response itself is the entry's evidence).
type AuditDetail struct {
	Entries     int    `json:"entries"`
	Interval    string `json:"interval"`
	Page        int    `json:"page"`
	ServiceName string `json:"service_name"`
}

func (*AuditDetail) Kind() string { return KindAudit }

func (*AuditDetail) EvidenceRefs() []EvidenceRef { return nil }

// ListingDetail is a listing entry's detail: one page of an analytics
// job's conversation listing (the response is the entry's evidence).
type ListingDetail struct {
	Conversations int    `json:"conversations"`
	JobID         string `json:"job_id"`
	Page          int    `json:"page"`
}

func (*ListingDetail) Kind() string { return KindListing }

func (*ListingDetail) EvidenceRefs() []EvidenceRef { return nil }

// RawDetail is the detail of a kind without a detail type: kept as JSON.
type RawDetail struct {
	kind string
	Raw  json.RawMessage
}

func (d *RawDetail) Kind() string { return d.kind }

// MarshalJSON writes the raw JSON.
func (d *RawDetail) MarshalJSON() ([]byte, error) {
	if len(d.Raw) == 0 {
		return []byte("{}"), nil
	}
	return d.Raw, nil
}

// EvidenceRefs names, with no type to say which members are evidence, the
// string values of members whose name ends in "evidence_sha256", at any
// depth (the convention every custody detail follows). It reads the
// detail with encoding/json, as leniently as DecodeDetail accepts it.
func (d *RawDetail) EvidenceRefs() []EvidenceRef {
	var v any
	if json.Unmarshal(d.Raw, &v) != nil {
		return nil
	}
	var refs []EvidenceRef
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				walk(t[k], k)
			}
		case []any:
			for _, x := range t {
				walk(x, key)
			}
		case string:
			if strings.HasSuffix(key, "evidence_sha256") {
				refs = append(refs, EvidenceRef{Role: key, SHA256: t})
			}
		}
	}
	walk(v, "")
	return refs
}
