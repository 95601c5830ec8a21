package report

import (
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// KindMediaNotChecked is section 7's kind for an attachment custody
// downloaded and keeps whose bytes were checked against nothing: the API
// stated neither its sha256 nor its size (both optional in the model),
// so the capture recorded it kept with the reason "not checked"
// (docs/ledger-format.md, detail.media). Its bytes are what the storage
// host served, and may well be it, but nothing Genesys stated says so:
// an auditor must not read its sha256 as a checked one.
const KindMediaNotChecked = "media_not_checked"

// notCheckedMark begins the reason an export records for such an
// attachment (export's mediaUnchecked, kept in the leaf's detail).
const notCheckedMark = "not checked:"

// unchecked reports whether r records bytes kept that nothing stated was
// checked against (KindMediaNotChecked).
func unchecked(r leaf.MediaRef) bool {
	return r.Status == "" && r.Evidence != "" && strings.HasPrefix(r.Reason, notCheckedMark)
}

// notCheckedExceptions are section 7's rows for the attachments conv's
// messages show kept whose bytes nothing stated was checked against.
func notCheckedExceptions(conv *Conversation) []Exception {
	var out []Exception
	for _, m := range conv.Messages {
		for _, a := range m.Attachments {
			if !a.NotChecked {
				continue
			}
			what := "attachment"
			if a.TemplateHeader {
				what = "template header media"
			}
			out = append(out, Exception{Kind: KindMediaNotChecked, ConversationID: conv.ID, MessageID: m.ID,
				Reason: fmt.Sprintf("%s %s (%q, %s) downloaded and kept as the storage host served it (sha256 %s), checked against nothing: the API stated neither a sha256 nor a size (contentSizeBytes) for it, so nothing Genesys stated says these bytes are the attachment sent",
					what, a.ID, a.Name, a.Type, a.SHA256)})
		}
	}
	return out
}

// notCheckedCount counts the attachments conv's messages show kept and
// not checked (section 1).
func notCheckedCount(conv *Conversation) int {
	n := 0
	for _, m := range conv.Messages {
		for _, a := range m.Attachments {
			if a.NotChecked {
				n++
			}
		}
	}
	return n
}
