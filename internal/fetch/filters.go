package fetch

import (
	"time"

	"github.com/custodyhq/custody/internal/genesys"
)

// Dimension values of the WhatsApp segment filter.
const (
	MediaTypeMessage    = "message"
	MessageTypeWhatsApp = "whatsapp"
)

// MessageTypes are the values the analytics messageType dimension takes:
// model Message's type enum in the Platform API (apple … whatsapp, and
// unknown), the messaging platform of a message conversation. A filter
// on any other value matches nothing, so the commands that take one
// refuse it rather than run an empty capture.
var MessageTypes = []string{"apple", "facebook", "instagram", "kakao", "line", "open", "sms", "telegram", "twitter", "webmessaging", "whatsapp", "unknown"}

// WhatsAppSegmentFilter returns segmentFilters selecting message
// conversations of one messaging type: one "and" filter with the dimension
// predicates mediaType matches "message" and messageType matches
// messageType ("whatsapp" when empty; other types such as "sms" or
// "webmessaging" for the other digital channels).
func WhatsAppSegmentFilter(messageType string) []genesys.Filter {
	if messageType == "" {
		messageType = MessageTypeWhatsApp
	}
	return []genesys.Filter{{
		Type: "and",
		Predicates: []genesys.Predicate{
			{Type: "dimension", Dimension: "mediaType", Operator: "matches", Value: MediaTypeMessage},
			{Type: "dimension", Dimension: "messageType", Operator: "matches", Value: messageType},
		},
	}}
}

// Interval spells [start, end) as an analytics or audit interval:
// ISO-8601 instants in UTC with milliseconds, separated by "/".
func Interval(start, end time.Time) string {
	return start.UTC().Format(genesys.TimeLayout) + "/" + end.UTC().Format(genesys.TimeLayout)
}
