package report

import "fmt"

// StatusNotDownloaded is the status of an attachment (or template header
// media) a message names whose bytes the ledger does not hold because no
// download was tried: captured with --media=false, or, for header media,
// before custody downloaded it. Its sha256 is the API's stated one.
const StatusNotDownloaded = "not downloaded (the API's stated sha256)"

// KindMediaNotCaptured is section 7's kind for such an attachment: the
// message is a true copy, the attachment's bytes are not held.
const KindMediaNotCaptured = "media_not_captured"

// notHeldExceptions are section 7's rows for the attachments conv's
// messages name and the ledger holds no bytes of, no download tried.
func notHeldExceptions(conv *Conversation) []Exception {
	var out []Exception
	for _, m := range conv.Messages {
		for _, a := range m.Attachments {
			if a.Status != StatusNotDownloaded {
				continue
			}
			what := "attachment"
			if a.TemplateHeader {
				what = "template header media"
			}
			out = append(out, Exception{Kind: KindMediaNotCaptured, ConversationID: conv.ID, MessageID: m.ID,
				Reason: fmt.Sprintf("%s %s (%q, %s) named by the message, never downloaded: captured with --media=false (or, header media, before custody downloaded it); the API stated sha256 %s; an export with --media re-captures it while its url works (30 days after the message)",
					what, a.ID, a.Name, a.Type, cmpOr(a.SHA256, "(none)"))})
		}
	}
	return out
}

// notHeldWhat names the n attachments never downloaded, header of them
// template header media, for the certificate.
func notHeldWhat(n, header int) string {
	switch header {
	case 0:
		return plural(n, "attachment", "attachments")
	case n:
		return plural(n, "template header media item", "template header media items")
	}
	return fmt.Sprintf("%s (%d of them template header media)", plural(n, "attachment", "attachments"), header)
}

// notHeldWhy is why no download was tried, as far as the ledger tells:
// an attachment is downloaded unless the capture ran with --media=false;
// template header media may also have been captured before custody
// downloaded header media. The certificate says no more than that.
func notHeldWhy(n, header int) string {
	switch header {
	case 0:
		return "captured with --media=false"
	case n:
		return "captured with --media=false, or before custody downloaded template header media"
	}
	return "attachments captured with --media=false; template header media so, or captured before custody downloaded it"
}

// A message's statuses when its sender deleted or edited it at the
// source before custody captured it (the ledger's detail.date_deleted,
// date_modified): what the transcript shows is what the API returned
// then — no text, or the edited text — not the message as sent.
const (
	StatusDeletedAtSource = "deleted_at_source"
	StatusEditedAtSource  = "edited_at_source"
)
