package report

import "fmt"

// StatusNotDownloaded is the status of an attachment (or template header
// media) a message names whose bytes the ledger does not hold because no
// download was tried: captured with --media=false, or, for header media,
// before custody downloaded it; or served by the API without a url
// (Attachment.NoURL), and not asked of the Recordings service. Its sha256 is the
// API's stated one.
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
			// The message itself says why when it gives no url: no url
			// to download from; an export with --media asks the
			// Recordings service for it (since 4b4008c), and records
			// what that gives, or why not.
			reason := fmt.Sprintf("%s %s (%q, %s) named by the message, never downloaded: captured with --media=false (or, header media, before custody downloaded it); the API stated sha256 %s; an export with --media re-captures it while its url works (30 days after the message)",
				what, a.ID, a.Name, a.Type, cmpOr(a.SHA256, "(none)"))
			if a.NoURL {
				reason = fmt.Sprintf("%s %s (%q, %s) named by the message without a url (the messages API served none), never downloaded: captured with --media=false, or by a custody that did not ask the Recordings service for such media; the API stated sha256 %s; an export with --media asks the Recordings service for it",
					what, a.ID, a.Name, a.Type, cmpOr(a.SHA256, "(none)"))
			}
			out = append(out, Exception{Kind: KindMediaNotCaptured, ConversationID: conv.ID, MessageID: m.ID, Reason: reason})
		}
	}
	return out
}

// notHeldCount counts the attachments never downloaded (StatusNotDownloaded)
// by what the certificate says of them: how many are template header
// media, and how many of each the API served without a url.
type notHeldCount struct {
	n, header          int // all of them; template header media
	noURL, noURLHeader int // served without a url; template header media
}

// count adds the attachments of conv's messages never downloaded.
func (c *notHeldCount) count(conv *Conversation) {
	for _, m := range conv.Messages {
		for _, a := range m.Attachments {
			if a.Status != StatusNotDownloaded {
				continue
			}
			c.n++
			if a.TemplateHeader {
				c.header++
			}
			if a.NoURL {
				c.noURL++
				if a.TemplateHeader {
					c.noURLHeader++
				}
			}
		}
	}
}

func (c *notHeldCount) add(o notHeldCount) {
	c.n, c.header, c.noURL, c.noURLHeader = c.n+o.n, c.header+o.header, c.noURL+o.noURL, c.noURLHeader+o.noURLHeader
}

// why is the certificate's reason for them: notHeldWhy when the API gave
// every one a url (the sentence reports have always had), else the two
// causes counted apart, as the evidence tells them.
func (c *notHeldCount) why() string {
	if c.noURL == 0 {
		return notHeldWhy(c.n, c.header)
	}
	served := "served by the API without a url and never asked of the Recordings service"
	if c.noURL == c.n {
		return served
	}
	n, header := c.n-c.noURL, c.header-c.noURLHeader
	off := notHeldWhat(n, header) + " captured with --media=false"
	switch header {
	case 0:
	case n:
		off += ", or before custody downloaded template header media"
	default:
		off += " (the template header media so, or before custody downloaded it)"
	}
	return off + "; " + notHeldWhat(c.noURL, c.noURLHeader) + " " + served
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

// notHeldWhy is why no download was tried, as far as the ledger tells,
// for attachments the API gave a url: an attachment is downloaded unless
// the capture ran with --media=false; template header media may also
// have been captured before custody downloaded header media. The
// certificate says no more than that.
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
