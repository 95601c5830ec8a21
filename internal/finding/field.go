package finding

// Field names used in a finding's field and in a diff's policy.
const (
	FieldMessageID      = "message_id"
	FieldConversationID = "conversation_id"
	FieldTimestamp      = "timestamp"
	FieldContent        = "content"
	FieldSender         = "sender"
	FieldLegalHold      = "legal_hold"
	FieldAuditTrailID   = "audit_trail_id"
	// FieldTemplateHeaderMedia is the media of a WhatsApp template's
	// header (template.header.media: an image, video or document), by id.
	FieldTemplateHeaderMedia = "template_header_media"
	// FieldAttachments is a message's media attachments (photos,
	// documents, voice notes, stickers: normalizedMessage.content[]
	// .attachment), by id, as a set.
	FieldAttachments = "attachments"
)

// ComplianceFields are the fields a policy may require, in the order a
// message's findings are reported. Readers of exports keep a message's
// values in an array of this length, in this order.
var ComplianceFields = [...]string{FieldTimestamp, FieldContent, FieldSender, FieldLegalHold, FieldAuditTrailID, FieldTemplateHeaderMedia, FieldAttachments}
