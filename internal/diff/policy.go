package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
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
	// Shapes says where each shape keeps things, by shape name
	// (exportfile.Shapes).
	Shapes map[string]exportfile.ShapePolicy `json:"shapes"`
}

// DefaultPolicy requires every compliance field and keeps each shape's
// defaults (exportfile.DefaultShapes: the Recording API's
// messagingTranscript has no legal-hold or audit field; the customer
// reshape keeps only id, content and timestamp; JSON Lines are taken to
// carry custody's own names or their camelCase forms).
func DefaultPolicy() *Policy {
	return &Policy{
		Version:   policyVersion,
		Required:  slices.Clone(finding.ComplianceFields[:]),
		Timestamp: TimestampMillisecond,
		Content:   ContentSHA256NFC,
		Shapes:    exportfile.DefaultShapes(),
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
			names := exportfile.Shapes()
			return nil, fmt.Errorf("%w: unknown shape %q (want %s or %s)", ErrBadPolicy, name,
				strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
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
	if err := exportfile.ValidateShapes(p.Shapes); err != nil {
		return fmt.Errorf("%w: %w", ErrBadPolicy, err)
	}
	return nil
}

// required reports whether the policy requires field.
func (p *Policy) required(field string) bool { return slices.Contains(p.Required, field) }
