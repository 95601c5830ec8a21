package exportfile

import (
	"strings"

	"github.com/custodyhq/custody/internal/finding"
)

// ShapeGenesys is a Recording as the Genesys S3 layout stores it: per
// conversation a folder {orgId}/year=…/month=…/day=…/hour=…/conversation_id={id}/
// holding {recordingId}.json, a JSON object whose messagingTranscript
// array holds the messages, and beside it {recordingId}_metadata.json.
const ShapeGenesys = "genesys"

type genesysShape struct{}

func (genesysShape) Name() string { return ShapeGenesys }

// Default follows docs/genesys-api.md: the Recording API's
// messagingTranscript (RecordingMessagingMessage) has no legal-hold or
// audit field; it gives a WhatsApp template's header media in
// notificationTemplate (model Recordingnotificationtemplate), and a
// message's attachments in messageMediaAttachments (model
// Messagemediaattachment) and its stickers in messageStickerAttachments
// (model Messagestickerattachment), both read, as one set
// (attachmentsValue).
func (genesysShape) Default() ShapePolicy {
	return ShapePolicy{
		Messages:       "messagingTranscript",
		MetadataSuffix: "_metadata.json",
		ConversationID: []string{"conversationId"},
		Fields: map[string][]string{
			finding.FieldMessageID:           {"id"},
			finding.FieldTimestamp:           {"timestamp"},
			finding.FieldContent:             {"messageText"},
			finding.FieldSender:              {"from"},
			finding.FieldLegalHold:           {},
			finding.FieldAuditTrailID:        {},
			finding.FieldTemplateHeaderMedia: {"notificationTemplate.header.media.id"},
			finding.FieldAttachments:         {"messageMediaAttachments", "messageStickerAttachments"},
		},
	}
}

func (genesysShape) Lines() bool { return false }

// Detect: a name ending in the metadata suffix is a recording's metadata;
// anything else may be a recording.
func (genesysShape) Detect(name string, sp *ShapePolicy, _ bool) Detection {
	if sp.MetadataSuffix != "" && strings.HasSuffix(name, sp.MetadataSuffix) {
		return DetectMetadata
	}
	return DetectDocument
}

// NameConversation: the layout names conversations by folder
// (conversation_id=…, read for every shape), not by file.
func (genesysShape) NameConversation(string) string { return "" }
