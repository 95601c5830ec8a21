package diff

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kind names a finding. The names are stable: reports, scripts and the
// ground-truth manifests of the simulator's exports rely on them.
type Kind string

// Finding kinds. docs/diff.md says exactly when each is reported.
const (
	// FieldStripped: a field the policy requires is absent from the
	// exported message (Field names it).
	FieldStripped Kind = "field_stripped"
	// ValueAltered: a compared field (sender, legal_hold, audit_trail_id,
	// conversation_id) is present but differs from the capture, or a
	// timestamp is not a timestamp.
	ValueAltered Kind = "value_altered"
	// TimestampPrecisionLost: the exported timestamp carries less than
	// millisecond precision and equals the captured one cut to that precision.
	TimestampPrecisionLost Kind = "timestamp_precision_lost"
	// TimestampShifted: the exported timestamp is a different instant.
	TimestampShifted Kind = "timestamp_shifted"
	// ContentDiffers: the normalised text hashes differently.
	ContentDiffers Kind = "content_differs"
	// MissingFromExport: captured, in a conversation the export covers,
	// but not in the export.
	MissingFromExport Kind = "missing_from_export"
	// NotCaptured: in the export but never captured — a gap to refetch.
	NotCaptured Kind = "not_captured"
	// Duplicated: the same message appears again in the export.
	Duplicated Kind = "duplicated"
	// FileUnreadable: a file, or part of one, could not be read or parsed,
	// or its name is unsafe; Detail says why and where.
	FileUnreadable Kind = "file_unreadable"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{
	FieldStripped, ValueAltered, TimestampPrecisionLost, TimestampShifted,
	ContentDiffers, MissingFromExport, NotCaptured, Duplicated, FileUnreadable,
}

// Field names used in Finding.Field and in the policy.
const (
	FieldMessageID      = "message_id"
	FieldConversationID = "conversation_id"
	FieldTimestamp      = "timestamp"
	FieldContent        = "content"
	FieldSender         = "sender"
	FieldLegalHold      = "legal_hold"
	FieldAuditTrailID   = "audit_trail_id"
)

// ComplianceFields are the fields a policy may require, in the order a
// message's findings are reported.
var ComplianceFields = []string{FieldTimestamp, FieldContent, FieldSender, FieldLegalHold, FieldAuditTrailID}

// Finding is one difference between the export and the capture.
type Finding struct {
	Kind           Kind   `json:"kind"`
	ConversationID string `json:"conversation_id,omitempty"`
	MessageID      string `json:"message_id,omitempty"`
	Field          string `json:"field,omitempty"`
	Expected       string `json:"expected,omitempty"`
	Got            string `json:"got,omitempty"`
	File           string `json:"file,omitempty"`
	Detail         string `json:"detail,omitempty"`
}

// Counts are finding counts by kind.
type Counts map[Kind]int

// Total is the number of findings counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Summary is the outcome of a diff.
type Summary struct {
	// Source is the export's location as given.
	Source string `json:"source"`
	// Files is the number of files (objects) examined, including unreadable ones.
	Files int `json:"files"`
	// FilesUnreadable is the number of files with at least one file_unreadable finding.
	FilesUnreadable int `json:"files_unreadable"`
	// Messages is the number of messages read from the export.
	Messages int `json:"messages"`
	// Conversations is the number of conversations the export covers.
	Conversations int `json:"conversations"`
	// Captured is the number of captured messages the index holds.
	Captured int `json:"captured"`
	// ConversationsAbsent counts conversations captured but absent from the
	// export entirely; their messages (MessagesInAbsentConversations) are
	// not reported one by one as missing_from_export (see docs/diff.md).
	ConversationsAbsent           int `json:"conversations_absent"`
	MessagesInAbsentConversations int `json:"messages_in_absent_conversations"`
	// Counts are the findings by kind; PerConversation the same for each
	// conversation with findings ("" holds findings tied to no conversation).
	Counts          Counts                `json:"counts"`
	PerConversation map[string]KindCounts `json:"per_conversation"`
}

// KindCounts are finding counts by kind in a fixed array: a summary keeps
// one per conversation, so it is kept small. Its JSON form is an object
// of the non-zero counts, like Counts.
type KindCounts [numKinds]int32

const numKinds = 9 // len(Kinds)

var kindIndex = map[Kind]int{
	FieldStripped: 0, ValueAltered: 1, TimestampPrecisionLost: 2, TimestampShifted: 3,
	ContentDiffers: 4, MissingFromExport: 5, NotCaptured: 6, Duplicated: 7, FileUnreadable: 8,
}

// Get returns the count of kind k.
func (c KindCounts) Get(k Kind) int {
	i, ok := kindIndex[k]
	if !ok {
		return 0
	}
	return int(c[i])
}

// Total is the number of findings counted.
func (c KindCounts) Total() int {
	n := 0
	for _, v := range c {
		n += int(v)
	}
	return n
}

// Map returns the non-zero counts as Counts.
func (c KindCounts) Map() Counts {
	m := Counts{}
	for _, k := range Kinds {
		if n := c.Get(k); n > 0 {
			m[k] = n
		}
	}
	return m
}

// MarshalJSON writes the non-zero counts as an object.
func (c KindCounts) MarshalJSON() ([]byte, error) { return json.Marshal(c.Map()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (c *KindCounts) UnmarshalJSON(b []byte) error {
	var m Counts
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = KindCounts{}
	for k, n := range m {
		i, ok := kindIndex[k]
		if !ok {
			return fmt.Errorf("diff: unknown finding kind %q", k)
		}
		c[i] = int32(n)
	}
	return nil
}

// Findings reports whether any finding was made.
func (s *Summary) Findings() int { return s.Counts.Total() }

func (s *Summary) add(f Finding) {
	if s.Counts == nil {
		s.Counts = Counts{}
	}
	if s.PerConversation == nil {
		s.PerConversation = map[string]KindCounts{}
	}
	s.Counts[f.Kind]++
	if i, ok := kindIndex[f.Kind]; ok {
		c, seen := s.PerConversation[f.ConversationID]
		c[i]++
		key := f.ConversationID
		if !seen {
			key = strings.Clone(key) // not a slice of a long file name
		}
		s.PerConversation[key] = c
	}
}

// conversationIDs returns the conversations with findings, sorted.
func (s *Summary) conversationIDs() []string {
	return slices.Sorted(maps.Keys(s.PerConversation))
}
