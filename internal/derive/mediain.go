package derive

import (
	"bytes"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// MessageMedia is what one message of a response body names of its
// media: its attachments' ids (genesys.AttachmentIDs, in content order)
// and its template header media's id (genesys.TemplateHeaderMedia's; ""
// for none).
type MessageMedia struct {
	ID          string
	Attachments []string
	HeaderMedia string
}

// MediaIn returns the media of the messages of a response body (those
// MessagesIn gives), in order: what the diff's ledger index compares of
// a capture, read from its evidence (reconcile). A message that does not
// decode (ReadMessage) names nothing and is left out.
//
// Most bodies are read in one pass of jsonscan that follows only the
// members the media lie on (mediaInFast); anything unusual on that path
// — a member named twice, null, a name that is one of them only without
// regard to case, or not ASCII, a value of another type — or an id given
// to two messages of the body, and the reference (MessagesIn, then
// ReadMessage of each message) reads it instead. The one pass does not
// check the members off that path, which the reference's decoder does:
// of a message whose other members do not decode it still names the
// media, where the reference leaves the message out. That cannot matter
// to the index, which asks only for messages the ledger captured from
// that very body — each one decoded then — and reads only bodies whose
// hash it checked; FuzzMediaIn holds the two equal on every message the
// reference decodes.
func MediaIn(body []byte) ([]MessageMedia, error) {
	if out, ok := mediaInFast(body); ok {
		return out, nil
	}
	all, decoded, err := mediaInRef(body)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for k, m := range all {
		if decoded[k] {
			out = append(out, m)
		}
	}
	return out, nil
}

// mediaInRef is MediaIn's reference: every message of body (MessagesIn),
// and whether it decoded (ReadMessage); one that did not names nothing.
func mediaInRef(body []byte) ([]MessageMedia, []bool, error) {
	raws, err := MessagesIn(body)
	if err != nil {
		return nil, nil, err
	}
	out := make([]MessageMedia, len(raws))
	decoded := make([]bool, len(raws))
	for k, raw := range raws {
		md, err := ReadMessage(raw)
		if err != nil {
			continue
		}
		decoded[k] = true
		out[k] = MessageMedia{ID: md.ID, Attachments: genesys.AttachmentIDs(md)}
		if a := genesys.TemplateHeaderMedia(md); a != nil {
			out[k].HeaderMedia = a.ID
		}
	}
	return out, decoded, nil
}

// The members mediaInFast follows, level by level.
var (
	mediaMessageFields    = fields("id", "normalizedMessage")
	mediaNormalizedFields = fields("content")
	mediaContentFields    = fields("attachment", "template")
	mediaTemplateFields   = fields("header")
	mediaHeaderFields     = fields("media")
	mediaAttachmentFields = fields("id")
)

// mediaInFast is MediaIn for the usual body: an object whose one member
// spelt exactly "entities" (as messagesFast reads it) is an array of
// message objects with distinct ids. ok false: the reference decides.
func mediaInFast(body []byte) (out []MessageMedia, ok bool) {
	d := fastDec{b: body}
	found := false
	end, err := jsonscan.Object(body, jsonscan.Space(body, 0), func(key []byte, v int) (int, error) {
		if !bytes.EqualFold(key, []byte("entities")) {
			return jsonscan.Skip(body, v, fastMaxDepth)
		}
		if found || string(key) != "entities" {
			return v, errDecline
		}
		found = true
		out = []MessageMedia{}
		return d.array(v, func(e int) (int, error) {
			var m MessageMedia
			end, err := d.messageMedia(e, &m)
			out = append(out, m)
			return end, err
		})
	})
	if err != nil || !found || jsonscan.Space(body, end) != len(body) || repeatsID(out) {
		return nil, false
	}
	return out, true
}

// messageMedia reads the message object at v into m: its id, and the
// media of normalizedMessage.content[] — each attachment's id, and the
// first template header media's.
func (d *fastDec) messageMedia(v int, m *MessageMedia) (int, error) {
	header := false // the first template with header media is the one
	return d.object(v, mediaMessageFields, func(f, v int) (int, error) {
		if f == 0 {
			return d.str(v, &m.ID)
		}
		return d.object(v, mediaNormalizedFields, func(_, v int) (int, error) {
			return d.array(v, func(e int) (int, error) {
				return d.object(e, mediaContentFields, func(f, v int) (int, error) {
					if f == 0 {
						var id string
						end, err := d.object(v, mediaAttachmentFields, func(_, v int) (int, error) { return d.str(v, &id) })
						m.Attachments = append(m.Attachments, id)
						return end, err
					}
					return d.object(v, mediaTemplateFields, func(_, v int) (int, error) {
						return d.object(v, mediaHeaderFields, func(_, v int) (int, error) {
							var id string
							end, err := d.object(v, mediaAttachmentFields, func(_, v int) (int, error) { return d.str(v, &id) })
							if !header {
								header, m.HeaderMedia = true, id
							}
							return end, err
						})
					})
				})
			})
		})
	})
}

// repeatsID reports whether two messages of ms have the same id. Of
// such messages the index takes the first the reference decodes, which
// the one pass cannot tell: the reference reads the body.
func repeatsID(ms []MessageMedia) bool {
	if len(ms) > 32 {
		seen := make(map[string]struct{}, len(ms))
		for _, m := range ms {
			if _, ok := seen[m.ID]; ok {
				return true
			}
			seen[m.ID] = struct{}{}
		}
		return false
	}
	for i := range ms {
		for j := range i {
			if ms[i].ID == ms[j].ID {
				return true
			}
		}
	}
	return false
}
