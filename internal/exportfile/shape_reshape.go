package exportfile

import (
	"path"
	"strings"

	"github.com/custodyhq/custody/internal/finding"
)

// ShapeReshape is a customer pipeline's reshape of the Recording export:
// per conversation a file {conversationId}.json holding
// {"channel":"whatsapp","messages":[…]}.
const ShapeReshape = "reshape"

type reshapeShape struct{}

func (reshapeShape) Name() string { return ShapeReshape }

// Default: the reshape keeps only id, content and timestamp; the other
// names are what such pipelines are taken to use. It keeps no media at
// all: no template header media, no attachments.
func (reshapeShape) Default() ShapePolicy {
	return ShapePolicy{
		Messages:       "messages",
		ConversationID: []string{"conversationId", "conversation_id"},
		Fields: map[string][]string{
			finding.FieldMessageID:           {"id"},
			finding.FieldTimestamp:           {"timestamp"},
			finding.FieldContent:             {"content"},
			finding.FieldSender:              {"from", "sender"},
			finding.FieldLegalHold:           {"legal_hold", "legalHold"},
			finding.FieldAuditTrailID:        {"audit_trail_id", "auditTrailId"},
			finding.FieldTemplateHeaderMedia: {},
			finding.FieldAttachments:         {},
		},
	}
}

func (reshapeShape) Lines() bool { return false }

func (reshapeShape) Detect(string, *ShapePolicy, bool) Detection { return DetectDocument }

// NameConversation: a reshape file is named after its conversation.
func (reshapeShape) NameConversation(name string) string { return fileStem(name) }

func fileStem(name string) string { return strings.TrimSuffix(path.Base(name), path.Ext(name)) }
