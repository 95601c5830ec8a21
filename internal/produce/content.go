package produce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
)

// A message's content comes from the evidence — the raw API responses the
// ledger names — through internal/derive and internal/genesys, never
// from the leaf's detail: the leaf says which object, and the object
// (whose payload hash the leaf holds) says what was written.

// person is one participant of a produced conversation.
type person struct {
	id      string // the RSMF participant id
	display string
	address string // WhatsApp number or channel address, when known
	role    string // customer, business, agent, bot
	userID  string
}

// message is one produced message: its ledger facts and its content.
type message struct {
	*msgEntry
	raw         []byte // the message object exactly as in the evidence
	md          *genesys.MessageData
	text        string
	from, to    *person
	deleted     bool
	attachments []attachment
	missing     []string // media not stored, "id: status"
	receipts    []receipt
	// earlier are the earlier captures produced beside it, oldest first
	// (scan.earlierOf); proof and ctrl are this capture's proof file and
	// DAT control number once produced.
	earlier []*message
	proof   string
	ctrl    string
}

type attachment struct {
	id, filename, mime string
	size               int64
	// data are its bytes when the conversation holds them, else spill
	// keeps them (heldLimit).
	data     []byte
	spill    *spill
	sha256   string
	evidence string
}

// reader reads the attachment's bytes; from a spill, checked again as
// they are read back.
func (a *attachment) reader() io.Reader {
	if a.spill != nil {
		return a.spill.reader()
	}
	return bytes.NewReader(a.data)
}

type receipt struct {
	status string // delivered or read
	at     string
}

// reader reads a conversation's evidence, keeping the decoded messages
// bodies of the conversation being read.
type reader struct {
	store  evidence.Store
	bodies map[hashchain.Hash]map[string]decoded
	// bufs are the buffers the conversation's objects were read into
	// (through evidence.GetIntoer, or from an attachment's stream),
	// used[:n] by the conversation being read: what is read of a
	// conversation is not kept past it, so the next one reads into the
	// same memory.
	bufs [][]byte
	n    int
	// held is the bytes of the conversation's attachments in bufs (at
	// most heldLimit); spills keep the others, in files in dir (the
	// production's partial folder).
	held   int64
	dir    string
	spills []*spill
}

// keptBuffer is the largest read buffer kept for the next conversation:
// a large attachment's buffer is let go.
const keptBuffer = 1 << 20

// next starts reading a new conversation: what the previous one read
// may be overwritten.
func (r *reader) next() {
	r.release()
	r.bodies = map[hashchain.Hash]map[string]decoded{}
	for i, b := range r.bufs[:min(r.n+1, len(r.bufs))] { // +1: the buffer an attachment was spilled from
		if cap(b) > keptBuffer {
			r.bufs[i] = nil
		}
	}
	r.n = 0
}

// release lets go of the conversation's spilled attachments.
func (r *reader) release() {
	for _, s := range r.spills {
		s.close()
	}
	clear(r.spills)
	r.spills = r.spills[:0]
	r.held = 0
}

type decoded struct {
	raw     []byte
	md      *genesys.MessageData
	payload hashchain.Hash
	err     error
}

// get reads an evidence object and checks it is what its name says.
func (r *reader) get(ctx context.Context, sum hashchain.Hash) ([]byte, error) {
	var b []byte
	var err error
	if g, ok := r.store.(evidence.GetIntoer); ok {
		if r.n == len(r.bufs) {
			r.bufs = append(r.bufs, nil)
		}
		b, err = g.GetInto(ctx, sum, r.bufs[r.n])
		if err == nil {
			r.bufs[r.n] = b[:0]
			r.n++
		}
	} else {
		b, err = r.store.Get(ctx, sum)
	}
	if err != nil {
		return nil, err
	}
	if err := evidence.Check(sum, b); err != nil {
		return nil, err
	}
	return b, nil
}

// people holds a conversation's participants, by RSMF id, in order of
// first appearance.
type people struct {
	byID  map[string]*person
	order []*person
}

func (p *people) add(x person) *person {
	if have := p.byID[x.id]; have != nil {
		if have.display == "" || have.display == have.address {
			have.display = x.display
		}
		return have
	}
	q := &x
	p.byID[x.id] = q
	p.order = append(p.order, q)
	return q
}

// convFacts are what the conversation object tells about who took part.
type convFacts struct {
	names     map[string]string // address → display name
	bot       string            // the bot (workflow) participant's name
	business  string            // the business channel's name
	customers map[string]bool
}

func (r *reader) conversation(ctx context.Context, c *convEntry) (convFacts, error) {
	f := convFacts{names: map[string]string{}, customers: map[string]bool{}}
	if c.evidence.IsZero() {
		return f, nil
	}
	body, err := r.get(ctx, c.evidence)
	if err != nil {
		return f, fmt.Errorf("produce: conversation %s: %w", c.id, err)
	}
	var mc genesys.MessageConversation
	if err := json.Unmarshal(body, &mc); err != nil {
		return f, fmt.Errorf("produce: conversation %s: evidence %s: %w", c.id, evidence.Key(c.evidence), err)
	}
	for _, p := range mc.Participants {
		switch p.Purpose {
		case "customer":
			if a := p.FromAddress; a != nil && a.AddressNormalized != "" {
				f.names[a.AddressNormalized] = a.Name
				f.customers[a.AddressNormalized] = true
			}
			if a := p.ToAddress; a != nil && a.AddressNormalized != "" && a.Name != "" {
				f.business = a.Name
			}
			if p.Address != "" && p.Name != "" {
				f.names[p.Address] = p.Name
			}
		case "workflow", "bot":
			if f.bot == "" {
				f.bot = p.Name
			}
		}
	}
	return f, nil
}

// message reads m's content from its evidence and checks that it is the
// object the leaf hashed.
func (r *reader) message(ctx context.Context, m *msgEntry) (*message, error) {
	objs, ok := r.bodies[m.evidence]
	if !ok {
		body, err := r.get(ctx, m.evidence)
		if err != nil {
			return nil, fmt.Errorf("produce: message %s (seq %d): %w", m.msgID, m.seq, err)
		}
		raws, err := derive.MessagesIn(body)
		if err != nil {
			return nil, fmt.Errorf("produce: message %s (seq %d): evidence %s: %w", m.msgID, m.seq, evidence.Key(m.evidence), err)
		}
		objs = make(map[string]decoded, len(raws))
		for _, raw := range raws {
			md, payload, err := derive.DecodeMessage(raw)
			if err != nil || md.ID == "" {
				continue
			}
			objs[md.ID] = decoded{raw: raw, md: md, payload: payload, err: err}
		}
		r.bodies[m.evidence] = objs
	}
	d, ok := objs[m.msgID]
	if !ok {
		return nil, fmt.Errorf("produce: message %s (seq %d): not in its evidence %s", m.msgID, m.seq, evidence.Key(m.evidence))
	}
	if d.payload != m.payload {
		return nil, fmt.Errorf("produce: message %s (seq %d): its evidence hashes to payload %s, the ledger has %s", m.msgID, m.seq, d.payload, m.payload)
	}
	out := &message{msgEntry: m, raw: d.raw, md: d.md, text: genesys.MessageText(d.md)}
	if n := d.md.NormalizedMessage; n != nil && n.Channel != nil && n.Channel.DateDeleted != "" {
		out.deleted = true
	}
	for _, rc := range d.md.NormalizedReceipts {
		st := strings.ToLower(rc.Status)
		if (st == "delivered" || st == "read") && rc.Channel != nil {
			if t, _, err := genesys.ParseTimestamp(rc.Channel.Time); err == nil {
				out.receipts = append(out.receipts, receipt{status: st, at: rsmfTime(t)})
			}
		}
	}
	if err := r.media(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// media reads the attachments the leaf says were stored, checking each
// against the digest the leaf recorded.
func (r *reader) media(ctx context.Context, m *message) error {
	refs := map[string]bool{}
	for _, ref := range m.media {
		refs[ref.ID] = true
	}
	meta := map[string]*genesys.ContentAttachment{}
	if n := m.md.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			a := c.Attachment
			if a == nil {
				continue
			}
			meta[a.ID] = a
			// An attachment the leaf has no media for was never
			// downloaded: it has no url, or the export did not fetch
			// media. Said, not skipped.
			switch {
			case refs[a.ID]:
			case a.URL == "":
				m.missing = append(m.missing, a.ID+": not downloaded (the API gave no url)")
			default:
				m.missing = append(m.missing, a.ID+": not downloaded (the export did not fetch media)")
			}
		}
		// A template's header media (an image, video or document) is
		// produced as an attachment of its message, after the others,
		// as export records it; a capture from before export downloaded
		// it has none.
		for _, c := range n.Content {
			if c.Template == nil || c.Template.Header == nil || c.Template.Header.Media == nil {
				continue
			}
			a := c.Template.Header.Media
			if meta[a.ID] == nil {
				meta[a.ID] = a
			}
			switch {
			case refs[a.ID]:
			case a.URL == "":
				m.missing = append(m.missing, a.ID+": template header media not downloaded (the API gave no url)")
			default:
				m.missing = append(m.missing, a.ID+": template header media not downloaded (the export did not fetch media, or captured the message before it fetched header media)")
			}
		}
	}
	for _, ref := range m.media {
		if ref.Evidence == "" {
			m.missing = append(m.missing, ref.ID+": "+orDefault(ref.Status, "not stored"))
			continue
		}
		sum, err := hashchain.ParseHash(ref.Evidence)
		if err != nil {
			return fmt.Errorf("produce: message %s (seq %d): media %s: %w", m.msgID, m.seq, ref.ID, err)
		}
		a := attachment{id: ref.ID, sha256: sum.String(), evidence: evidence.Key(sum)}
		if err := r.attachment(ctx, sum, &a); err != nil {
			return fmt.Errorf("produce: message %s (seq %d): media %s: %w", m.msgID, m.seq, ref.ID, err)
		}
		if x := meta[ref.ID]; x != nil {
			a.filename, a.mime = x.Filename, x.Mime
		}
		if a.filename == "" {
			a.filename = ref.ID
		}
		m.attachments = append(m.attachments, a)
	}
	return nil
}

// attachment reads the attachment stored at sum into a, streamed from
// the store: into memory while the conversation's attachments fit in
// heldLimit, else into a spill. Either way it checks the bytes hash to
// sum as it reads them, and the store its size limit.
func (r *reader) attachment(ctx context.Context, sum hashchain.Hash, a *attachment) error {
	left := heldLimit - r.held
	var rc io.ReadCloser
	if o, ok := r.store.(evidence.Opener); ok {
		var err error
		if rc, err = o.Open(ctx, sum); err != nil {
			return err
		}
	} else {
		b, err := r.store.Get(ctx, sum) // held whole a moment: the store cannot stream
		if err != nil {
			return err
		}
		if int64(len(b)) <= left {
			return r.keep(sum, b, a)
		}
		rc = io.NopCloser(bytes.NewReader(b))
	}
	defer rc.Close()
	if r.n == len(r.bufs) {
		r.bufs = append(r.bufs, nil)
	}
	// Read into the next buffer up to what the conversation may still
	// hold; one byte more (probe) says it does not fit.
	buf := r.bufs[r.n][:0]
	var probe [1]byte
	var over []byte
	for {
		if int64(len(buf)) == left {
			n, err := io.ReadFull(rc, probe[:])
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			over = probe[:n]
			break
		}
		if len(buf) == cap(buf) {
			b := make([]byte, len(buf), min(max(2*int64(cap(buf)), 32<<10), left))
			copy(b, buf)
			buf = b
		}
		n, err := rc.Read(buf[len(buf):min(int64(cap(buf)), left)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	r.bufs[r.n] = buf[:0]
	if over == nil {
		r.n++
		return r.keep(sum, buf, a)
	}
	// Too many to hold: what was read, and the rest, go to a spill,
	// hashed on the way. The buffer is the next object's.
	sp, err := newSpill(r.dir, "")
	if err != nil {
		return fmt.Errorf("hold it in a temporary file: %w", err)
	}
	r.spills = append(r.spills, sp)
	if _, err := sp.Write(buf); err != nil {
		return fmt.Errorf("hold it in a temporary file: %w", err)
	}
	if _, err := sp.Write(over); err != nil {
		return fmt.Errorf("hold it in a temporary file: %w", err)
	}
	if _, err := io.CopyBuffer(sp, rc, make([]byte, copyBufSize)); err != nil {
		return fmt.Errorf("evidence %s: %w", evidence.Key(sum), err)
	}
	sp.finish()
	if sp.sum != sum {
		return fmt.Errorf("evidence %s: %w", evidence.Key(sum), evidence.ErrCorrupt)
	}
	a.spill, a.size = sp, sp.n
	return nil
}

// keep holds b, read from the store at sum, as a's bytes.
func (r *reader) keep(sum hashchain.Hash, b []byte, a *attachment) error {
	if err := evidence.Check(sum, b); err != nil {
		return err
	}
	r.held += int64(len(b))
	noteHeld(r.held)
	a.data, a.size = b, int64(len(b))
	return nil
}

// identify finds who sent and who received m, adding them to ps.
func identify(m *message, f convFacts, ps *people) {
	md := m.md
	var from, to person
	customer := func(addr string) person {
		p := person{id: addr, address: addr, role: "customer", display: f.names[addr]}
		if p.display == "" && md.NormalizedMessage != nil && md.NormalizedMessage.Channel != nil {
			for _, r := range []*genesys.Recipient{md.NormalizedMessage.Channel.From, md.NormalizedMessage.Channel.To} {
				if r != nil && r.ID == addr && r.Nickname != "" {
					p.display = r.Nickname
				}
			}
		}
		if p.display == "" {
			p.display = addr
		}
		return p
	}
	business := func(addr string) person {
		return person{id: addr, address: addr, role: "business", display: orDefault(f.business, addr)}
	}
	if strings.EqualFold(md.Direction, "inbound") {
		from, to = customer(md.FromAddress), business(md.ToAddress)
	} else {
		to = customer(md.ToAddress)
		switch {
		case md.NormalizedMessage != nil && md.NormalizedMessage.OriginatingEntity == "Bot":
			from = person{id: "bot:" + md.FromAddress, address: md.FromAddress, role: "bot", display: orDefault(f.bot, "Bot")}
		case md.CreatedBy != nil && md.CreatedBy.ID != "":
			from = person{id: "user:" + md.CreatedBy.ID, address: md.FromAddress, role: "agent", userID: md.CreatedBy.ID,
				display: orDefault(md.CreatedBy.Name, md.CreatedBy.ID)}
		default:
			from = business(md.FromAddress)
		}
	}
	if from.id == "" || from.id == "bot:" {
		from = person{id: "unknown-sender", display: "unknown sender", role: "unknown"}
	}
	if to.id == "" {
		to = person{id: "unknown-recipient", display: "unknown recipient", role: "unknown"}
	}
	m.from, m.to = ps.add(from), ps.add(to)
}

// rsmfTime is the produced form of a time: RFC 3339, UTC, milliseconds.
func rsmfTime(t time.Time) string { return genesys.FormatMillis(t) }

// channelTime is the message's channel dateDeleted (deleted) or
// dateModified, as rsmfTime writes a time; as the API gave it when it
// does not read as one, "" when absent.
func channelTime(m *message, deleted bool) string {
	n := m.md.NormalizedMessage
	if n == nil || n.Channel == nil {
		return ""
	}
	s := n.Channel.DateModified
	if deleted {
		s = n.Channel.DateDeleted
	}
	if t, _, err := genesys.ParseTimestamp(s); s != "" && err == nil {
		return rsmfTime(t)
	}
	return s
}

// rsmfTime0 is rsmfTime, or "" for the zero time.
func rsmfTime0(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return rsmfTime(t)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
