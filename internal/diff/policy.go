package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/custodyhq/custody/internal/finding"
)

// Shape names, also the keys of Policy.Shapes and the values of Format.
const (
	ShapeGenesys = "genesys"
	ShapeReshape = "reshape"
	ShapeJSONL   = "jsonl"
)

// Supported comparison rules; the policy names them so that a reader of
// the policy file sees how values were compared, and cannot silently ask
// for something the ledger's capture does not support.
const (
	TimestampMillisecond = "millisecond"        // instants equal to the ms, any offset
	ContentSHA256NFC     = "sha256-nfc-lf-trim" // SHA-256 of NFC, CRLF→LF, trimmed text
	policyVersion        = 1
)

// Policy names the compliance fields an export must keep, where each shape
// keeps them and how they are compared. docs/policy.md documents the file.
type Policy struct {
	Version int `json:"version"`
	// Required lists the compliance fields (finding.ComplianceFields) whose absence
	// from an exported message is a field_stripped finding. A field that
	// is not required is still compared when present.
	Required []string `json:"required"`
	// Timestamp and Content name the comparison rules (only
	// TimestampMillisecond and ContentSHA256NFC exist).
	Timestamp string `json:"timestamp"`
	Content   string `json:"content"`
	// Shapes says where each shape keeps things: keys ShapeGenesys,
	// ShapeReshape, ShapeJSONL.
	Shapes map[string]ShapePolicy `json:"shapes"`
}

// ShapePolicy locates fields in one shape. A path is a dotted list of
// object keys ("fromUser.id"); a list of paths is tried in order and the
// first present, non-null value wins; an empty list means the shape does
// not keep the field at all.
type ShapePolicy struct {
	// Messages is the key of the top-level array of messages in a
	// document (genesys, reshape); unused for jsonl.
	Messages string `json:"messages,omitempty"`
	// MetadataSuffix marks companion metadata files (genesys).
	MetadataSuffix string `json:"metadata_suffix,omitempty"`
	// ConversationID: paths of the conversation id — in the document for
	// genesys and reshape (a top-level key), in each line for jsonl.
	ConversationID []string `json:"conversation_id"`
	// Fields maps message_id and each compliance field to its paths
	// inside one message object.
	Fields map[string][]string `json:"fields"`
}

// DefaultPolicy matches docs/genesys-api.md: the Recording API's
// messagingTranscript has no legal-hold or audit field; the customer
// reshape keeps only id, content and timestamp; JSON Lines are taken to
// carry custody's own names or their camelCase forms.
func DefaultPolicy() *Policy {
	return &Policy{
		Version:   policyVersion,
		Required:  slices.Clone(finding.ComplianceFields[:]),
		Timestamp: TimestampMillisecond,
		Content:   ContentSHA256NFC,
		Shapes: map[string]ShapePolicy{
			ShapeGenesys: {
				Messages:       "messagingTranscript",
				MetadataSuffix: "_metadata.json",
				ConversationID: []string{"conversationId"},
				Fields: map[string][]string{
					finding.FieldMessageID:    {"id"},
					finding.FieldTimestamp:    {"timestamp"},
					finding.FieldContent:      {"messageText"},
					finding.FieldSender:       {"from"},
					finding.FieldLegalHold:    {},
					finding.FieldAuditTrailID: {},
				},
			},
			ShapeReshape: {
				Messages:       "messages",
				ConversationID: []string{"conversationId", "conversation_id"},
				Fields: map[string][]string{
					finding.FieldMessageID:    {"id"},
					finding.FieldTimestamp:    {"timestamp"},
					finding.FieldContent:      {"content"},
					finding.FieldSender:       {"from", "sender"},
					finding.FieldLegalHold:    {"legal_hold", "legalHold"},
					finding.FieldAuditTrailID: {"audit_trail_id", "auditTrailId"},
				},
			},
			ShapeJSONL: {
				ConversationID: []string{"conversation_id", "conversationId"},
				Fields: map[string][]string{
					finding.FieldMessageID:    {"message_id", "messageId", "id"},
					finding.FieldTimestamp:    {"timestamp"},
					finding.FieldContent:      {"content", "text", "messageText", "textBody"},
					finding.FieldSender:       {"sender", "from", "fromAddress"},
					finding.FieldLegalHold:    {"legal_hold", "legalHold"},
					finding.FieldAuditTrailID: {"audit_trail_id", "auditTrailId", "audit_refs"},
				},
			},
		},
	}
}

// LoadPolicy reads a policy file (JSON; unknown keys are an error, so a
// typo cannot silently weaken the policy). Shapes or fields it leaves out
// keep DefaultPolicy's values.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("diff: load policy: %w", err)
	}
	defer f.Close()
	p, err := ParsePolicy(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("diff: load policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy reads a policy from r, over DefaultPolicy, and validates it.
func ParsePolicy(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	var in Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPolicy, err)
	}
	p := DefaultPolicy()
	if in.Version != 0 {
		p.Version = in.Version
	}
	if in.Required != nil {
		p.Required = in.Required
	}
	if in.Timestamp != "" {
		p.Timestamp = in.Timestamp
	}
	if in.Content != "" {
		p.Content = in.Content
	}
	for name, sp := range in.Shapes {
		def, ok := p.Shapes[name]
		if !ok {
			return nil, fmt.Errorf("%w: unknown shape %q (want %s, %s or %s)", ErrBadPolicy, name, ShapeGenesys, ShapeReshape, ShapeJSONL)
		}
		if sp.Messages != "" {
			def.Messages = sp.Messages
		}
		if sp.MetadataSuffix != "" {
			def.MetadataSuffix = sp.MetadataSuffix
		}
		if sp.ConversationID != nil {
			def.ConversationID = sp.ConversationID
		}
		fields := map[string][]string{}
		for k, v := range def.Fields {
			fields[k] = v
		}
		for k, v := range sp.Fields {
			fields[k] = v
		}
		def.Fields = fields
		p.Shapes[name] = def
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks that the policy is one this package can apply.
func (p *Policy) Validate() error {
	if p.Version != policyVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadPolicy, p.Version, policyVersion)
	}
	if p.Timestamp != TimestampMillisecond {
		return fmt.Errorf("%w: timestamp rule %q, want %q", ErrBadPolicy, p.Timestamp, TimestampMillisecond)
	}
	if p.Content != ContentSHA256NFC {
		return fmt.Errorf("%w: content rule %q, want %q", ErrBadPolicy, p.Content, ContentSHA256NFC)
	}
	for _, f := range p.Required {
		if !slices.Contains(finding.ComplianceFields[:], f) {
			return fmt.Errorf("%w: required field %q is not one of %s", ErrBadPolicy, f, strings.Join(finding.ComplianceFields[:], ", "))
		}
	}
	for _, name := range []string{ShapeGenesys, ShapeReshape, ShapeJSONL} {
		sp, ok := p.Shapes[name]
		if !ok {
			return fmt.Errorf("%w: shape %q missing", ErrBadPolicy, name)
		}
		if name != ShapeJSONL && sp.Messages == "" {
			return fmt.Errorf("%w: shape %q: messages key is empty", ErrBadPolicy, name)
		}
		for _, path := range sp.ConversationID {
			if err := checkPath(path); err != nil {
				return fmt.Errorf("%w: shape %q: conversation_id: %w", ErrBadPolicy, name, err)
			}
			if name != ShapeJSONL && strings.Contains(path, ".") {
				return fmt.Errorf("%w: shape %q: conversation_id path %q must be a top-level key", ErrBadPolicy, name, path)
			}
		}
		for field, paths := range sp.Fields {
			if field != finding.FieldMessageID && !slices.Contains(finding.ComplianceFields[:], field) {
				return fmt.Errorf("%w: shape %q: unknown field %q", ErrBadPolicy, name, field)
			}
			for _, path := range paths {
				if err := checkPath(path); err != nil {
					return fmt.Errorf("%w: shape %q: field %s: %w", ErrBadPolicy, name, field, err)
				}
			}
		}
		if len(sp.Fields[finding.FieldMessageID]) == 0 {
			return fmt.Errorf("%w: shape %q: message_id has no path: messages could not be matched", ErrBadPolicy, name)
		}
	}
	if p.Shapes[ShapeGenesys].Messages == p.Shapes[ShapeReshape].Messages {
		return fmt.Errorf("%w: genesys and reshape use the same messages key %q: shapes could not be told apart", ErrBadPolicy, p.Shapes[ShapeGenesys].Messages)
	}
	return nil
}

func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return fmt.Errorf("path %q has an empty segment", p)
		}
		for _, c := range seg {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(keyPunct, c) {
				return fmt.Errorf("path %q: character %q is not allowed in a key", p, c)
			}
		}
	}
	return nil
}

// keyPunct is the punctuation a key may hold besides letters and digits:
// what encoding/json accepts in a struct tag name, which messages are
// decoded with ('.' separates path segments).
const keyPunct = "!#$%&()*+-/:;<=>?@[]^_{|}~ "

// required reports whether the policy requires field.
func (p *Policy) required(field string) bool { return slices.Contains(p.Required, field) }
