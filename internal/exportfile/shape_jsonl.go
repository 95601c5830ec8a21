package exportfile

import (
	"path"
	"strings"

	"github.com/custodyhq/custody/internal/finding"
)

// ShapeJSONL is JSON Lines: one message object per line, each carrying
// its conversation id.
const ShapeJSONL = "jsonl"

type jsonlShape struct{}

func (jsonlShape) Name() string { return ShapeJSONL }

// Default: JSON Lines are taken to carry custody's own names or their
// camelCase forms, or the Conversation API's. Neither names a template's
// header media or a message's attachments in a place a path can reach
// (the Conversation API keeps both in an array, normalizedMessage
// .content[]), so none is assumed.
func (jsonlShape) Default() ShapePolicy {
	return ShapePolicy{
		ConversationID: []string{"conversation_id", "conversationId"},
		Fields: map[string][]string{
			finding.FieldMessageID:           {"message_id", "messageId", "id"},
			finding.FieldTimestamp:           {"timestamp"},
			finding.FieldContent:             {"content", "text", "messageText", "textBody"},
			finding.FieldSender:              {"sender", "from", "fromAddress"},
			finding.FieldLegalHold:           {"legal_hold", "legalHold"},
			finding.FieldAuditTrailID:        {"audit_trail_id", "auditTrailId", "audit_refs"},
			finding.FieldTemplateHeaderMedia: {},
			finding.FieldAttachments:         {},
		},
	}
}

func (jsonlShape) Lines() bool { return true }

// Detect: a name ending in .jsonl or .ndjson, or any name when forced.
func (jsonlShape) Detect(name string, _ *ShapePolicy, forced bool) Detection {
	ext := strings.ToLower(path.Ext(name))
	if forced || ext == ".jsonl" || ext == ".ndjson" {
		return DetectLines
	}
	return DetectNo
}

func (jsonlShape) NameConversation(string) string { return "" }
