package derive

import (
	"bytes"
	"strconv"
	"unsafe"

	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
	"github.com/custodyhq/custody/internal/leaf"
)

// decodeMessageFast is json.Unmarshal of a message object into
// genesys.MessageData for the usual message, in one pass of jsonscan
// instead of encoding/json's validation pass and its reflective decode
// (issue 16, "parse once": most of DecodeMessage's time). It declines
// (ok false) whatever it is not sure to read exactly as encoding/json
// does — a member name that is one of the type's only without regard to
// case, or not ASCII, a member named twice, null, a number that is
// not a plain integer (or, for a Location's coordinates, a float64), a
// string jsonscan refuses (invalid UTF-8, a lone surrogate), media,
// metadata — and encoding/json, the reference, decides. Quick replies,
// list pickers, locations and events it reads (issue 16: they were a
// fortieth of verify --evidence's messages, each nearly ten times the
// cost of the others through encoding/json). Templates
// (contentType Notification) it reads, header media and all: export
// downloads that media, verify derives its ids.
// FuzzDecodeMessageFast holds every answer it gives to json.Unmarshal's.
func decodeMessageFast(raw []byte) (*genesys.MessageData, bool) {
	md, _, ok := decodeMessageWith(fastDec{b: raw, useArena: true})
	return md, ok
}

// decodeMessageHashed is decodeMessageFast and leaf.CanonicalSHA256 in one
// scan: the canonical form is written (leaf.CanonicalWriter) as the
// message is read, each string scanned once for both. ok false when
// either would decline; the caller then asks both (DecodeMessage).
// FuzzDecodeMessageHashed holds its answers to theirs.
func decodeMessageHashed(raw []byte) (*genesys.MessageData, hashchain.Hash, bool) {
	w := leaf.NewCanonicalWriter(raw)
	defer w.Release()
	return decodeMessageWith(fastDec{b: raw, w: w, useArena: true})
}

// decodeMessageWith is decodeMessageFast on d; with a writer, it also
// returns the SHA-256 of the message's canonical form.
func decodeMessageWith(d fastDec) (*genesys.MessageData, hashchain.Hash, bool) {
	md, end, ok := d.message(jsonscan.Space(d.b, 0))
	if !ok || jsonscan.Space(d.b, end) != len(d.b) {
		return nil, hashchain.Hash{}, false
	}
	sum, ok := d.sum(end)
	if !ok {
		return nil, hashchain.Hash{}, false
	}
	return md, sum, true
}

// decodeMessageAt is decodeMessageHashed of the message that starts at
// in[0] and ends where its object does (in goes on past it: a bulk
// body's other messages): the message, its payload hash and the index
// past it. The message's strings are views of in where in holds them as
// they are (no escapes): in must not change while they are used, and
// stays alive with them (issue 16: copying them was a tenth of
// decoding a message). It answers exactly as decodeMessageHashed(in[:end])
// does (FuzzDecodeMessagesIn), and whatever it answers is one JSON value
// that jsonscan.Skip passes over to end.
func decodeMessageAt(in []byte) (*genesys.MessageData, hashchain.Hash, int, bool) {
	w := leaf.NewCanonicalWriter(in)
	defer w.Release()
	d := fastDec{b: in, w: w, views: true}
	md, end, ok := d.message(0)
	if !ok {
		return nil, hashchain.Hash{}, end, false
	}
	return md, w.SumValue(), end, true
}

// message reads the message object at i; ok false when it declines.
func (d *fastDec) message(i int) (*genesys.MessageData, int, bool) {
	d.blk = new(messageBlock)
	md := &d.blk.md
	end, err := d.object(i, messageFields, func(f int, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &md.ID)
		case 1:
			return d.str(v, &md.Name)
		case 2:
			return d.str(v, &md.ProviderMessageID)
		case 3:
			return d.str(v, &md.Timestamp)
		case 4:
			return d.str(v, &md.FromAddress)
		case 5:
			return d.str(v, &md.ToAddress)
		case 6:
			return d.str(v, &md.Direction)
		case 7:
			return d.str(v, &md.MessengerType)
		case 8:
			return d.str(v, &md.TextBody)
		case 9:
			return d.str(v, &md.Status)
		case 10:
			return v, errDecline // media: deprecated, rare
		case 11:
			md.NormalizedMessage = d.newNormalized()
			return d.normalized(v, md.NormalizedMessage)
		case 12:
			md.NormalizedReceipts = []genesys.NormalizedMessage{}
			return d.array(v, func(e int) (int, error) {
				md.NormalizedReceipts = append(md.NormalizedReceipts, genesys.NormalizedMessage{})
				return d.normalized(e, &md.NormalizedReceipts[len(md.NormalizedReceipts)-1])
			})
		case 13:
			md.CreatedBy = &genesys.UserRef{}
			return d.object(v, userFields, func(f, v int) (int, error) {
				switch f {
				case 0:
					return d.str(v, &md.CreatedBy.ID)
				case 1:
					return d.str(v, &md.CreatedBy.Name)
				default:
					return d.str(v, &md.CreatedBy.SelfURI)
				}
			})
		case 14:
			return d.str(v, &md.ConversationID)
		default:
			return d.str(v, &md.SelfURI)
		}
	})
	return md, end, err == nil
}

// fieldSet is the member names of a type, in the order of the switch
// that reads them (a name's index is its case): a leaf.Keys, which finds
// a member's name by its first byte and length (a comparison with one
// name, mostly), and which the canonical writer orders by (issue 16).
type fieldSet = leaf.Keys

func fields(names ...string) *fieldSet { return leaf.NewKeys(names...) }

// The member names of each type.
var (
	messageFields = fields("id", "name", "providerMessageId", "timestamp", "fromAddress", "toAddress", "direction",
		"messengerType", "textBody", "status", "media", "normalizedMessage", "normalizedReceipts", "createdBy",
		"conversationId", "selfUri")
	userFields       = fields("id", "name", "selfUri")
	normalizedFields = fields("id", "channel", "type", "text", "content", "events", "status", "reasons",
		"originatingEntity", "isFinalReceipt", "direction", "metadata")
	channelFields    = fields("id", "platform", "type", "messageId", "to", "from", "time", "dateModified", "dateDeleted")
	recipientFields  = fields("id", "idType", "nickname", "firstName", "lastName")
	contentFields    = fields("contentType", "attachment", "text", "quickReply", "buttonResponse", "listPicker", "location", "reactions", "template")
	attachmentFields = fields("id", "mediaType", "url", "mime", "text", "sha256", "filename", "contentSizeBytes")
	textFields       = fields("body", "type")
	buttonFields     = fields("originatingMessageId", "type", "text", "payload")
	reactionFields   = fields("reactionType", "count")
	reasonFields     = fields("code", "message")
	templateFields   = fields("id", "language", "header", "body", "buttons", "footer")
	headerFields     = fields("type", "text", "media", "parameters")
	bodyFields       = fields("text", "parameters")
	footerFields     = fields("text")
	paramFields      = fields("name", "text")

	templateButtonFields = fields("type", "text", "index", "phoneNumber", "url", "payload", "parameters")

	quickReplyFields   = fields("text", "payload", "image", "action")
	listPickerFields   = fields("id", "sections", "replyMessage", "receivedMessage")
	sectionFields      = fields("title", "multipleSelection", "items")
	listItemFields     = fields("id", "title", "subtitle", "imageUrl")
	replyMessageFields = fields("title", "subtitle", "imageUrl", "header", "buttonLabel")
	locationFields     = fields("url", "address", "text", "latitude", "longitude")
	eventFields        = fields("eventType", "typing", "presence")
	typingFields       = fields("type", "duration")
	presenceFields     = fields("type")
)

// fastMaxDepth bounds the unknown members skipped (encoding/json allows
// 10,000 levels; deeper than this declines, and it decides).
const fastMaxDepth = 64

type fastDec struct {
	b []byte
	// w, when set, writes the canonical form of what is read: every value
	// goes through it, read or skipped.
	w *leaf.CanonicalWriter
	// arena, when useArena, holds the bytes of every string decoded, in
	// one allocation a message instead of one a string (a message has
	// about thirty): see keep. Not for conversation objects, whose few
	// strings are kept long after the body.
	arena    []byte
	useArena bool
	// views: a string b holds as it is (no escapes) is a view of b, not
	// a copy (decodeMessageAt's caller keeps b as long as the message);
	// the others are copies of their own.
	views bool
	// blk, for a message, holds the message and the parts nearly every
	// message has, in one allocation instead of six (issue 16).
	blk *messageBlock
}

// messageBlock is a message and the values its usual parts point to
// (the first normalized message, its channel, the channel's two
// recipients, the first content), each handed out once by the new
// methods below; a second of a kind (normalized receipts) gets an
// allocation of its own. They live exactly as long as the message does.
type messageBlock struct {
	md                  genesys.MessageData
	nm                  genesys.NormalizedMessage
	ch                  genesys.MessagingChannel
	rc                  [2]genesys.Recipient
	content             [1]genesys.MessageContent
	nmUsed, chUsed      bool
	rcUsed, contentUsed int
}

func (d *fastDec) newNormalized() *genesys.NormalizedMessage {
	if d.blk == nil || d.blk.nmUsed {
		return &genesys.NormalizedMessage{}
	}
	d.blk.nmUsed = true
	return &d.blk.nm
}

func (d *fastDec) newChannel() *genesys.MessagingChannel {
	if d.blk == nil || d.blk.chUsed {
		return &genesys.MessagingChannel{}
	}
	d.blk.chUsed = true
	return &d.blk.ch
}

func (d *fastDec) newRecipient() *genesys.Recipient {
	if d.blk == nil || d.blk.rcUsed == len(d.blk.rc) {
		return &genesys.Recipient{}
	}
	d.blk.rcUsed++
	return &d.blk.rc[d.blk.rcUsed-1]
}

// newContent is an empty, non-nil content list (what encoding/json makes
// of []) with room for one content in the block: a second is appended
// into a new array, as append does.
func (d *fastDec) newContent() []genesys.MessageContent {
	if d.blk == nil || d.blk.contentUsed == 1 {
		return []genesys.MessageContent{}
	}
	d.blk.contentUsed = 1
	return d.blk.content[:0:1]
}

// sum is the SHA-256 of the canonical form of the value read up to end,
// when d has a writer (zero when not); ok false when the writer declines.
func (d *fastDec) sum(end int) (hashchain.Hash, bool) {
	if d.w == nil {
		return hashchain.Hash{}, true
	}
	return d.w.Sum(end)
}

// keep returns v as a string whose bytes are in d.arena. The arena is
// allocated once with room for the whole message (no decoded string is
// longer than its JSON form, and the strings do not overlap in it), is
// only appended to, and never grows: a string made from it never sees
// its bytes change. With views, a view of d.b (view true) is returned as
// it is, and any other string is a copy of its own (they are rare:
// strings with escapes, decoded into a buffer the next one reuses).
func (d *fastDec) keep(v []byte, view bool) string {
	if len(v) == 0 {
		return ""
	}
	if d.views {
		if view {
			return unsafe.String(unsafe.SliceData(v), len(v))
		}
		return string(v)
	}
	if !d.useArena {
		return string(v)
	}
	if d.arena == nil {
		d.arena = make([]byte, 0, len(d.b))
	}
	if cap(d.arena)-len(d.arena) < len(v) {
		return string(v) // cannot happen (see above); a copy of its own if it did
	}
	start := len(d.arena)
	d.arena = append(d.arena, v...)
	return unsafe.String(&d.arena[start], len(v))
}

// object reads the object at v: each member whose name is exactly one of
// fs's names is passed to field with the name's index; any other member is
// skipped, unless its name could match one of names the way
// encoding/json matches (without regard to case, or through Unicode case
// folding), when it declines. A name met twice declines too, and so does
// null for a named member (it leaves the field as it was): with a
// writer, field's readers decline it, each reading only its own type.
func (d *fastDec) object(v int, fs *fieldSet, field func(f, v int) (int, error)) (int, error) {
	if v >= len(d.b) || d.b[v] != '{' {
		return v, errDecline
	}
	if d.w != nil {
		return d.w.ObjectKeys(v, fs, field, func(key []byte, v int) (int, error) {
			if folds(fs, key) {
				return v, errDecline
			}
			return d.w.Value(v)
		})
	}
	var seen uint64
	return jsonscan.Object(d.b, v, func(key []byte, v int) (int, error) {
		if f := fs.Index(key); f >= 0 {
			if seen&(1<<f) != 0 {
				return v, errDecline
			}
			seen |= 1 << f
			if v < len(d.b) && d.b[v] == 'n' {
				return v, errDecline // null: leaves the field as it was
			}
			return field(f, v)
		}
		if folds(fs, key) {
			return v, errDecline
		}
		return jsonscan.Skip(d.b, v, fastMaxDepth)
	})
}

// folds reports whether a key that is none of fs's names could still be
// read as one by encoding/json, which matches names without regard to
// case (and, beyond ASCII, through Unicode case folding).
func folds(fs *fieldSet, key []byte) bool {
	for _, c := range key {
		if c >= 0x80 {
			return true
		}
	}
	for _, n := range fs.Names() {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// array reads the array at v, elem reading each element; it declines
// anything else (null included).
func (d *fastDec) array(v int, elem func(e int) (int, error)) (int, error) {
	if v >= len(d.b) || d.b[v] != '[' {
		return v, errDecline
	}
	if d.w != nil {
		return d.w.Array(v, elem)
	}
	return jsonscan.Array(d.b, v, elem)
}

// str reads the string at v into s; anything else declines.
func (d *fastDec) str(v int, s *string) (int, error) {
	if v >= len(d.b) || d.b[v] != '"' {
		return v, errDecline
	}
	if d.w != nil {
		val, view, end, err := d.w.StringView(v)
		if err != nil {
			return v, errDecline
		}
		*s = d.keep(val, view)
		return end, nil
	}
	end, escaped, err := jsonscan.String(d.b, v)
	if err != nil {
		return v, errDecline
	}
	if !escaped {
		*s = d.keep(d.b[v+1:end-1], true)
		return end, nil
	}
	out, end, err := jsonscan.AppendString(nil, d.b, v)
	if err != nil {
		return v, errDecline
	}
	*s = d.keep(out, false)
	return end, nil
}

// boolean reads true or false at v.
func (d *fastDec) boolean(v int, p *bool) (int, error) {
	end, err := jsonscan.Literal(d.b, v)
	if err != nil || d.b[v] == 'n' {
		return v, errDecline
	}
	if d.w != nil {
		if _, err := d.w.Value(v); err != nil {
			return v, errDecline
		}
	}
	*p = d.b[v] == 't'
	return end, nil
}

// integer reads a JSON number that strconv.ParseInt takes whole (what
// encoding/json accepts for an int); anything else declines.
func (d *fastDec) integer(v int, p *int) (int, error) {
	end, err := jsonscan.Number(d.b, v)
	if err != nil {
		return v, errDecline
	}
	n, err := strconv.ParseInt(string(d.b[v:end]), 10, strconv.IntSize)
	if err != nil {
		return v, errDecline
	}
	if d.w != nil {
		if _, err := d.w.Value(v); err != nil {
			return v, errDecline
		}
	}
	*p = int(n)
	return end, nil
}

// float reads a JSON number as encoding/json reads it into a float64
// (strconv.ParseFloat of its text); one beyond the double range declines.
// With a writer, the number is written in RFC 8785 form by the writer's
// own number path, which is the reference's formatter.
func (d *fastDec) float(v int, p *float64) (int, error) {
	end, err := jsonscan.Number(d.b, v)
	if err != nil {
		return v, errDecline
	}
	x, err := strconv.ParseFloat(string(d.b[v:end]), 64)
	if err != nil {
		return v, errDecline
	}
	if d.w != nil {
		if _, err := d.w.Value(v); err != nil {
			return v, errDecline
		}
	}
	*p = x
	return end, nil
}

func (d *fastDec) normalized(v int, n *genesys.NormalizedMessage) (int, error) {
	return d.object(v, normalizedFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &n.ID)
		case 1:
			n.Channel = d.newChannel()
			return d.channel(v, n.Channel)
		case 2:
			return d.str(v, &n.Type)
		case 3:
			return d.str(v, &n.Text)
		case 4:
			n.Content = d.newContent()
			return d.array(v, func(e int) (int, error) {
				n.Content = append(n.Content, genesys.MessageContent{})
				return d.content(e, &n.Content[len(n.Content)-1])
			})
		case 5:
			n.Events = []genesys.MessageEvent{}
			return d.array(v, func(e int) (int, error) {
				n.Events = append(n.Events, genesys.MessageEvent{})
				return d.event(e, &n.Events[len(n.Events)-1])
			})
		case 6:
			return d.str(v, &n.Status)
		case 7:
			n.Reasons = []genesys.Reason{}
			return d.array(v, func(e int) (int, error) {
				n.Reasons = append(n.Reasons, genesys.Reason{})
				r := &n.Reasons[len(n.Reasons)-1]
				return d.object(e, reasonFields, func(f, v int) (int, error) {
					if f == 0 {
						return d.str(v, &r.Code)
					}
					return d.str(v, &r.Message)
				})
			})
		case 8:
			return d.str(v, &n.OriginatingEntity)
		case 9:
			return d.boolean(v, &n.IsFinalReceipt)
		case 10:
			return d.str(v, &n.Direction)
		default:
			return v, errDecline // metadata: a map, rare
		}
	})
}

func (d *fastDec) channel(v int, c *genesys.MessagingChannel) (int, error) {
	return d.object(v, channelFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &c.ID)
		case 1:
			return d.str(v, &c.Platform)
		case 2:
			return d.str(v, &c.Type)
		case 3:
			return d.str(v, &c.MessageID)
		case 4:
			c.To = d.newRecipient()
			return d.recipient(v, c.To)
		case 5:
			c.From = d.newRecipient()
			return d.recipient(v, c.From)
		case 6:
			return d.str(v, &c.Time)
		case 7:
			return d.str(v, &c.DateModified)
		default:
			return d.str(v, &c.DateDeleted)
		}
	})
}

func (d *fastDec) recipient(v int, r *genesys.Recipient) (int, error) {
	return d.object(v, recipientFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &r.ID)
		case 1:
			return d.str(v, &r.IDType)
		case 2:
			return d.str(v, &r.Nickname)
		case 3:
			return d.str(v, &r.FirstName)
		default:
			return d.str(v, &r.LastName)
		}
	})
}

func (d *fastDec) content(v int, c *genesys.MessageContent) (int, error) {
	return d.object(v, contentFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &c.ContentType)
		case 1:
			c.Attachment = &genesys.ContentAttachment{}
			return d.attachment(v, c.Attachment)
		case 2:
			c.Text = &genesys.ContentText{}
			t := c.Text
			return d.object(v, textFields, func(f, v int) (int, error) {
				if f == 0 {
					return d.str(v, &t.Body)
				}
				return d.str(v, &t.Type)
			})
		case 4:
			c.ButtonResponse = &genesys.ContentButtonResponse{}
			r := c.ButtonResponse
			return d.object(v, buttonFields, func(f, v int) (int, error) {
				switch f {
				case 0:
					return d.str(v, &r.OriginatingMessageID)
				case 1:
					return d.str(v, &r.Type)
				case 2:
					return d.str(v, &r.Text)
				default:
					return d.str(v, &r.Payload)
				}
			})
		case 7:
			c.Reactions = []genesys.ContentReaction{}
			return d.array(v, func(e int) (int, error) {
				c.Reactions = append(c.Reactions, genesys.ContentReaction{})
				r := &c.Reactions[len(c.Reactions)-1]
				return d.object(e, reactionFields, func(f, v int) (int, error) {
					if f == 0 {
						return d.str(v, &r.ReactionType)
					}
					return d.integer(v, &r.Count)
				})
			})
		case 8:
			c.Template = &genesys.NotificationTemplate{}
			return d.template(v, c.Template)
		case 3:
			c.QuickReply = &genesys.ContentQuickReply{}
			q := c.QuickReply
			return d.object(v, quickReplyFields, func(f, v int) (int, error) {
				switch f {
				case 0:
					return d.str(v, &q.Text)
				case 1:
					return d.str(v, &q.Payload)
				case 2:
					return d.str(v, &q.Image)
				default:
					return d.str(v, &q.Action)
				}
			})
		case 5:
			c.ListPicker = &genesys.ContentListPicker{}
			return d.listPicker(v, c.ListPicker)
		default:
			c.Location = &genesys.ContentLocation{}
			l := c.Location
			return d.object(v, locationFields, func(f, v int) (int, error) {
				switch f {
				case 0:
					return d.str(v, &l.URL)
				case 1:
					return d.str(v, &l.Address)
				case 2:
					return d.str(v, &l.Text)
				case 3:
					return d.float(v, &l.Latitude)
				default:
					return d.float(v, &l.Longitude)
				}
			})
		}
	})
}

// listPicker reads a WhatsApp list message (contentType ListPicker).
func (d *fastDec) listPicker(v int, lp *genesys.ContentListPicker) (int, error) {
	return d.object(v, listPickerFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &lp.ID)
		case 1:
			lp.Sections = []genesys.ListPickerSection{}
			return d.array(v, func(e int) (int, error) {
				lp.Sections = append(lp.Sections, genesys.ListPickerSection{})
				sec := &lp.Sections[len(lp.Sections)-1]
				return d.object(e, sectionFields, func(f, v int) (int, error) {
					switch f {
					case 0:
						return d.str(v, &sec.Title)
					case 1:
						return d.boolean(v, &sec.MultipleSelection)
					default:
						sec.Items = []genesys.ListPickerItem{}
						return d.array(v, func(e int) (int, error) {
							sec.Items = append(sec.Items, genesys.ListPickerItem{})
							it := &sec.Items[len(sec.Items)-1]
							return d.object(e, listItemFields, func(f, v int) (int, error) {
								switch f {
								case 0:
									return d.str(v, &it.ID)
								case 1:
									return d.str(v, &it.Title)
								case 2:
									return d.str(v, &it.Subtitle)
								default:
									return d.str(v, &it.ImageURL)
								}
							})
						})
					}
				})
			})
		case 2:
			lp.ReplyMessage = &genesys.ReceivedReplyMessage{}
			return d.replyMessage(v, lp.ReplyMessage)
		default:
			lp.ReceivedMessage = &genesys.ReceivedReplyMessage{}
			return d.replyMessage(v, lp.ReceivedMessage)
		}
	})
}

func (d *fastDec) replyMessage(v int, r *genesys.ReceivedReplyMessage) (int, error) {
	return d.object(v, replyMessageFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &r.Title)
		case 1:
			return d.str(v, &r.Subtitle)
		case 2:
			return d.str(v, &r.ImageURL)
		case 3:
			return d.str(v, &r.Header)
		default:
			return d.str(v, &r.ButtonLabel)
		}
	})
}

// event reads a message event (normalizedMessage.events[]).
func (d *fastDec) event(v int, ev *genesys.MessageEvent) (int, error) {
	return d.object(v, eventFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &ev.EventType)
		case 1:
			ev.Typing = &genesys.TypingEvent{}
			t := ev.Typing
			return d.object(v, typingFields, func(f, v int) (int, error) {
				if f == 0 {
					return d.str(v, &t.Type)
				}
				return d.integer(v, &t.Duration)
			})
		default:
			ev.Presence = &genesys.PresenceEvent{}
			p := ev.Presence
			return d.object(v, presenceFields, func(_, v int) (int, error) {
				return d.str(v, &p.Type)
			})
		}
	})
}

func (d *fastDec) attachment(v int, a *genesys.ContentAttachment) (int, error) {
	return d.object(v, attachmentFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &a.ID)
		case 1:
			return d.str(v, &a.MediaType)
		case 2:
			return d.str(v, &a.URL)
		case 3:
			return d.str(v, &a.Mime)
		case 4:
			return d.str(v, &a.Text)
		case 5:
			return d.str(v, &a.Sha256)
		case 6:
			return d.str(v, &a.Filename)
		default:
			return d.integer(v, &a.ContentSizeBytes)
		}
	})
}

// template reads a WhatsApp template (contentType Notification), its
// header media among it: what export downloads of it must be what
// encoding/json reads.
func (d *fastDec) template(v int, t *genesys.NotificationTemplate) (int, error) {
	return d.object(v, templateFields, func(f, v int) (int, error) {
		switch f {
		case 0:
			return d.str(v, &t.ID)
		case 1:
			return d.str(v, &t.Language)
		case 2:
			t.Header = &genesys.TemplateHeader{}
			h := t.Header
			return d.object(v, headerFields, func(f, v int) (int, error) {
				switch f {
				case 0:
					return d.str(v, &h.Type)
				case 1:
					return d.str(v, &h.Text)
				case 2:
					h.Media = &genesys.ContentAttachment{}
					return d.attachment(v, h.Media)
				default:
					return d.params(v, &h.Parameters)
				}
			})
		case 3:
			t.Body = &genesys.TemplateBody{}
			b := t.Body
			return d.object(v, bodyFields, func(f, v int) (int, error) {
				if f == 0 {
					return d.str(v, &b.Text)
				}
				return d.params(v, &b.Parameters)
			})
		case 4:
			t.Buttons = []genesys.TemplateButton{}
			return d.array(v, func(e int) (int, error) {
				t.Buttons = append(t.Buttons, genesys.TemplateButton{})
				b := &t.Buttons[len(t.Buttons)-1]
				return d.object(e, templateButtonFields, func(f, v int) (int, error) {
					switch f {
					case 0:
						return d.str(v, &b.Type)
					case 1:
						return d.str(v, &b.Text)
					case 2:
						return d.integer(v, &b.Index)
					case 3:
						return d.str(v, &b.PhoneNumber)
					case 4:
						return d.str(v, &b.URL)
					case 5:
						return d.str(v, &b.Payload)
					default:
						return d.params(v, &b.Parameters)
					}
				})
			})
		default:
			t.Footer = &genesys.TemplateFooter{}
			ft := t.Footer
			return d.object(v, footerFields, func(_, v int) (int, error) {
				return d.str(v, &ft.Text)
			})
		}
	})
}

// params reads a template's parameters into *ps.
func (d *fastDec) params(v int, ps *[]genesys.TemplateParameter) (int, error) {
	*ps = []genesys.TemplateParameter{}
	return d.array(v, func(e int) (int, error) {
		*ps = append(*ps, genesys.TemplateParameter{})
		p := &(*ps)[len(*ps)-1]
		return d.object(e, paramFields, func(f, v int) (int, error) {
			if f == 0 {
				return d.str(v, &p.Name)
			}
			return d.str(v, &p.Text)
		})
	})
}
