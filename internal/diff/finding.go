package diff

import (
	"maps"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/finding"
)

// Finding is one difference between the export and the capture. Its
// kinds, and the fields it names, are package finding's.
type Finding struct {
	Kind           finding.Kind `json:"kind"`
	ConversationID string       `json:"conversation_id,omitempty"`
	MessageID      string       `json:"message_id,omitempty"`
	Field          string       `json:"field,omitempty"`
	Expected       string       `json:"expected,omitempty"`
	Got            string       `json:"got,omitempty"`
	File           string       `json:"file,omitempty"`
	Detail         string       `json:"detail,omitempty"`
	// Cause is the likely cause of a gap (conversation_absent,
	// missing_from_export, not_captured), when the diff can tell one.
	Cause finding.Cause `json:"cause,omitempty"`
	// Count, for format_lacks, is how many exported messages lack the
	// field (the finding stands for all of them).
	Count int `json:"count,omitempty"`
}

// Counts are finding counts by kind.
type Counts map[finding.Kind]int

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
	// export entirely, each a conversation_absent finding; their messages
	// (MessagesInAbsentConversations) are not reported one by one as
	// missing_from_export (see docs/diff.md).
	ConversationsAbsent           int `json:"conversations_absent"`
	MessagesInAbsentConversations int `json:"messages_in_absent_conversations"`
	// Counts are the findings by kind; PerConversation the same for each
	// conversation with findings ("" holds findings tied to no conversation),
	// in a fixed array each: a summary keeps one per conversation.
	Counts          Counts                    `json:"counts"`
	PerConversation map[string]finding.Counts `json:"per_conversation"`
	// FormatLacks is, for each required field the export's format keeps
	// nowhere, how many compared messages lack it: what its format_lacks
	// findings (one a shape) stand for, summed over shapes.
	FormatLacks map[string]int `json:"format_lacks,omitempty"`
	// ErasedEntries are the erasure entries (custody erase) of the
	// exported messages whose content and sender were not compared, its
	// erased findings, in ascending order.
	ErasedEntries []uint64 `json:"erased_entries,omitempty"`
}

// Findings reports whether any finding was made.
func (s *Summary) Findings() int { return s.Counts.Total() }

func (s *Summary) add(f Finding) {
	if s.Counts == nil {
		s.Counts = Counts{}
	}
	if s.PerConversation == nil {
		s.PerConversation = map[string]finding.Counts{}
	}
	s.Counts[f.Kind]++
	if _, known := finding.Lookup(f.Kind); known {
		c, seen := s.PerConversation[f.ConversationID]
		c.Add(f.Kind)
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
