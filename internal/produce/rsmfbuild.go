package produce

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/production"
)

// writeRSMF writes the .rsmf files of one conversation: one file, or one
// per UTC day when it has more than SplitEvents messages (the files then
// share the conversation id as their eventcollectionid).
func (p *producer) writeRSMF(w *worker, c *convEntry, mc *production.Conversation, msgs []*message, ps *people) ([]string, error) {
	base := production.SafeName(c.id)
	if base != c.id {
		h := sha256.Sum256([]byte(c.id))
		base = base[:min(len(base), 80)] + "-" + hex.EncodeToString(h[:6])
	}
	groups := [][]*message{msgs}
	split := len(msgs) > p.o.SplitEvents
	if split {
		groups = nil
		for i, m := range msgs {
			if i == 0 || m.at.UTC().Format("2006-01-02") != msgs[i-1].at.UTC().Format("2006-01-02") {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], m)
		}
	}
	var names []string
	for _, g := range groups {
		name := production.RSMFDir + "/" + base + ".rsmf"
		if split {
			name = production.RSMFDir + "/" + base + "_" + g[0].at.UTC().Format("2006-01-02") + ".rsmf"
		}
		if err := p.rsmfFile(w, name, c, mc, g, ps, split); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// direction of a message relative to the custodian (the business).
func direction(d string) string {
	if strings.EqualFold(d, "inbound") {
		return "incoming"
	}
	return "outgoing"
}

// rsmfFile writes the .rsmf file named file of the messages msgs of
// conversation c: built whole in memory when the conversation's held
// attachments, the zip and the zip's base64 fit in heldLimit, else
// written in pieces from the zip, held or spilled.
func (p *producer) rsmfFile(w *worker, file string, c *convEntry, mc *production.Conversation, msgs []*message, ps *people, split bool) error {
	fail := func(err error) error { return fmt.Errorf("produce: conversation %s: %w", c.id, err) }
	used := map[string]bool{}
	var order []*person
	use := func(x *person) {
		if !used[x.id] {
			used[x.id] = true
			order = append(order, x)
		}
	}
	for _, m := range msgs {
		use(m.from)
		use(m.to)
	}
	man := &RSMF{Version: RSMFVersion}
	if split {
		man.EventCollectionID = c.id
	}
	var custodian *person
	var names []string
	for _, x := range order {
		man.Participants = append(man.Participants, RSMFParticipant{ID: x.id, Display: x.display, AccountID: x.userID,
			Custom: custom("role", x.role, "address", x.address)})
		names = append(names, x.display)
		if x.role == "business" && custodian == nil {
			custodian = x
		}
	}
	conv := RSMFConversation{ID: c.id, Platform: "whatsapp", Type: "direct",
		Display: "WhatsApp " + c.id,
		Custom: custom("legal_hold", strconv.FormatBool(c.holds.Held()), "hold_source", strings.Join(c.holds.Sources(), ";"),
			"matter_hold", matterHoldText(c.holds.Matter), "capture_run", c.runID,
			"conversation_seq", seqText(mc.Proof != "", c.seq), "conversation_leaf_hash", mc.LeafHash, "conversation_proof", mc.Proof,
			"checkpoint", p.cpText, "erased_messages", p.erasedText(c.id))}
	for _, x := range order {
		conv.Participants = append(conv.Participants, x.id)
	}
	if custodian != nil {
		conv.Custodian = custodian.id
	}
	man.Conversations = []RSMFConversation{conv}

	var zfiles []zipFile
	zipNames := map[string]bool{RSMFManifest: true}
	var text strings.Builder
	fmt.Fprintf(&text, "WhatsApp conversation %s\n", c.id)
	fmt.Fprintf(&text, "Participants: %s\n", transcriptLine(strings.Join(names, "; ")))
	fmt.Fprintf(&text, "Legal hold: %s    Capture run: %s\n", transcriptLine(holdText(c.holds)), orDefault(c.runID, "unknown"))
	fmt.Fprintf(&text, "Ledger checkpoint: %s\n\n", p.cpText)
	attachments := 0
	for _, m := range msgs {
		ev := RSMFEvent{ID: m.msgID, Type: "message", Body: m.text, Participant: m.from.id, Conversation: c.id,
			Timestamp: rsmfTime(m.at), Deleted: m.deleted, Direction: direction(m.md.Direction)}
		fmt.Fprintf(&text, "[%s] %s: %s\n", rsmfTime(m.at), transcriptLine(m.from.display), transcriptBody(m.text))
		for _, a := range m.attachments {
			// The entry is named by the attachment's content (its evidence
			// hash) and its type, as its DAT native is: the file name is
			// the sender's choice, kept only as the display name.
			ext := nativeExt(a.mime, a.filename)
			name := a.sha256 + ext
			for n := 2; zipNames[name]; n++ {
				name = a.sha256 + "-" + strconv.Itoa(n) + ext
			}
			zipNames[name] = true
			zfiles = append(zfiles, zipFile{name: name, data: a.data, from: a.spill})
			ev.Attachments = append(ev.Attachments, RSMFAttachment{ID: name, Display: a.filename, Size: a.size})
			fmt.Fprintf(&text, "    [attachment %s, %d bytes, sha256 %s]\n", transcriptLine(a.filename), a.size, a.sha256)
			attachments++
		}
		for _, x := range m.missing {
			fmt.Fprintf(&text, "    [attachment not stored: %s]\n", transcriptLine(x))
		}
		// An empty body reads as a message with nothing in it unless the
		// transcript says it was deleted (the RSMF's deleted, the DAT's
		// DATE_DELETED) or changed.
		if m.deleted {
			fmt.Fprintf(&text, "    [deleted at the source%s]\n", prefixed(" ", transcriptLine(channelTime(m, true))))
		}
		if mod := channelTime(m, false); mod != "" {
			fmt.Fprintf(&text, "    [edited at the source %s]\n", transcriptLine(mod))
		}
		for _, r := range m.receipts {
			ev.ReadReceipts = append(ev.ReadReceipts, RSMFReadReceipt{Participant: m.to.id, Timestamp: r.at, Action: r.status})
		}
		dateModified := ""
		if n := m.md.NormalizedMessage; n != nil && n.Channel != nil {
			dateModified = n.Channel.DateModified
		}
		ev.Custom = custom("ledger_seq", strconv.FormatUint(m.seq, 10), "leaf_hash", m.leafHash.String(),
			"payload_sha256", m.payload.String(), "checkpoint", p.cpText, "evidence", evidence.Key(m.evidence),
			"proof", production.ProofPath(m.seq), "message_id", m.msgID, "original_timestamp", m.md.Timestamp,
			"date_modified", dateModified, "media_not_stored", strings.Join(m.missing, "; "),
			"earlier_captures", earlierText(m))
		ev.Edits = edits(m)
		for _, e := range m.earlier {
			fmt.Fprintf(&text, "    [earlier capture, ledger seq %d, captured %s%s]: %s\n", e.seq, rsmfTime0(e.captured), deletedNote(e), transcriptBody(e.text))
		}
		man.Events = append(man.Events, ev)
	}
	mdata, err := marshalRSMFInto(&w.man, man) // valid until the next file: zipped below
	if err != nil {
		return fail(err)
	}
	if err := checkRSMF(man, zipNames); err != nil {
		return fail(err)
	}
	if p.o.ValidateRSMF {
		if err := ValidateManifest(mdata, zipNames); err != nil {
			return fail(err)
		}
	}
	zfiles = append(zfiles, zipFile{name: RSMFManifest, data: mdata})
	rd := w.rd
	zs := &w.zs
	*zs = zipSink{mem: zs.mem[:0], held: rd.held, max: heldLimit - rd.held, dir: rd.dir, seed: text.String()}
	defer zs.close()
	if err := w.zip.build(zs, zfiles); err != nil {
		return fail(err)
	}
	var to []rsmfMailbox
	for _, x := range order {
		if x != msgs[0].from {
			to = append(to, rsmfMailbox{Display: x.display, ID: x.id})
		}
	}
	h := rsmfHeaders{
		Subject: fmt.Sprintf("WhatsApp conversation %s, %s to %s", c.id, rsmfTime(msgs[0].at), rsmfTime(msgs[len(msgs)-1].at)),
		From:    rsmfMailbox{Display: msgs[0].from.display, ID: msgs[0].from.id}, To: to, Date: msgs[len(msgs)-1].at,
		MessageID: fmt.Sprintf("%s.%d@custody", production.SafeName(c.id), msgs[0].seq),
		Generator: p.o.Generator, Begin: msgs[0].at, End: msgs[len(msgs)-1].at, Events: len(man.Events),
		Custodian: p.custodian(), Participants: names, Attachments: attachments,
	}
	if zs.sp == nil {
		if held := rd.held + zs.size() + base64Size(zs.size()); held <= heldLimit {
			w.rsmf.Reset()
			if err := appendRSMF(&w.rsmf, h, text.String(), zs.mem); err != nil {
				return fail(err)
			}
			noteHeld(held)
			return p.out.write(file, w.rsmf.Bytes(), true)
		}
	}
	var sum []byte
	if zs.sp != nil {
		zs.sp.finish()
		sum = zs.sp.sum[:]
	} else {
		d := sha256.New()
		io.WriteString(d, text.String())
		d.Write(zs.mem)
		sum = d.Sum(nil)
	}
	return p.out.writeFrom(file, true, func(f io.Writer) error {
		return writeRSMF(f, &w.rsmf, h, text.String(), sum, zs.reader())
	})
}

// matterHoldText is the RSMF custom field naming the matter hold in
// force ("" when none: the field is then absent).
func matterHoldText(h *erasure.Hold) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf("hold entry %d: %s", h.Seq, h.Reason)
}

// holdText is the transcript's legal hold: false, or true and by which
// holds.
func holdText(h erasure.Holds) string {
	if !h.Held() {
		return "false"
	}
	s := "true (" + strings.Join(h.Sources(), ", ")
	if h.Matter != nil {
		s += fmt.Sprintf(": hold entry %d, %s", h.Matter.Seq, h.Matter.Reason)
	}
	return s + ")"
}

func seqText(ok bool, seq uint64) string {
	if !ok {
		return ""
	}
	return strconv.FormatUint(seq, 10)
}

// erasedText is the conversation's custom field naming its messages left
// out because an erasure deleted their content ("" when none: the field
// is then absent, and productions without erasures keep their bytes).
func (p *producer) erasedText(conv string) string {
	n := p.erasedIn[conv]
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + " messages not produced: erased, or their content deleted by an erasure (manifest.json lists them)"
}

// transcriptContinuation begins each line of a message's text after its
// first in the transcript: no line of a body can then read as a line of
// its own — another participant's message, an attachment — which all
// begin otherwise.
const transcriptContinuation = "  | "

// transcriptBody is a message's text as the transcript writes it: each
// line break (those datValue counts: CR LF, LF, CR, VT, FF, NEL, U+2028,
// U+2029) one break followed by transcriptContinuation, and what would
// act on the text instead of being seen shown as a marker naming it
// (transcriptLine). The RSMF manifest and the text native keep the
// text exactly.
func transcriptBody(s string) string { return transcriptText(s, true) }

// transcriptLine is text the transcript writes within one line (a name,
// a file name, a reason): transcriptBody's markers, line breaks among
// them. A C0 or C1 control (NUL, ESC…) other than tab, a format
// character (the bidirectional controls such as U+202E, zero-width
// spaces, but not the zero-width joiners, which shape emoji and reorder
// nothing) is written ⟨U+XXXX⟩, a byte that is not UTF-8 ⟨0xNN⟩: the
// markers the report shows them by (docs/report.md).
func transcriptLine(s string) string { return transcriptText(s, false) }

func transcriptText(s string, multiline bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "⟨0x%02X⟩", s[i])
		case multiline && r == '\r' && strings.HasPrefix(s[i:], "\r\n"):
			b.WriteString("\n" + transcriptContinuation)
			n = 2
		case multiline && (r == '\r' || r == '\n' || r == '\v' || r == '\f' || r == 0x85 || r == 0x2028 || r == 0x2029):
			b.WriteString("\n" + transcriptContinuation)
		case r == '\t', r == 0x200c, r == 0x200d:
			b.WriteRune(r)
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r), r == 0x2028, r == 0x2029:
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// prefixed is p and s, or "" when s is.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// edits are the changes of m's body from capture to capture, its
// earlier captures' (oldest first) to the latest's: one for each capture
// whose text differs from the one before. Each is dated by the later
// capture's dateDeleted or dateModified when the channel gave one (the
// time of the change), else undated: the capture's own time is only
// when custody saw it.
func edits(m *message) []RSMFEdit {
	var out []RSMFEdit
	caps := append(slices.Clip(m.earlier), m)
	for i := 1; i < len(caps); i++ {
		a, b := caps[i-1], caps[i]
		if a.text == b.text {
			continue
		}
		out = append(out, RSMFEdit{Participant: m.from.id, Timestamp: changedAt(b), Previous: a.text, New: b.text})
	}
	return out
}

// changedAt is when the channel says m was deleted or else modified,
// "" when it says neither.
func changedAt(m *message) string {
	n := m.md.NormalizedMessage
	if n == nil || n.Channel == nil {
		return ""
	}
	for _, s := range []string{n.Channel.DateDeleted, n.Channel.DateModified} {
		if t, _, err := genesys.ParseTimestamp(s); s != "" && err == nil {
			return rsmfTime(t)
		}
	}
	return ""
}

func deletedNote(m *message) string {
	if m.deleted {
		return ", deleted"
	}
	return ""
}

// earlierText is the event's custom field naming m's earlier captures
// produced beside it ("" when none): for each, oldest first and joined
// by "; ", "seq N captured TIME payload_sha256 HASH proof PATH", then
// " dat CTRL" when the DAT holds it, " deleted" when the capture had the
// message deleted, and " attachments NAME (sha256 HASH), …" for the
// attachments it stored (produced as DAT natives).
func earlierText(m *message) string {
	var parts []string
	for _, e := range m.earlier {
		s := fmt.Sprintf("seq %d captured %s payload_sha256 %s proof %s", e.seq, rsmfTime0(e.captured), e.payload, e.proof)
		if e.ctrl != "" {
			s += " dat " + e.ctrl
		}
		if e.deleted {
			s += " deleted"
		}
		var atts []string
		for _, a := range e.attachments {
			atts = append(atts, fmt.Sprintf("%s (sha256 %s)", a.filename, a.sha256))
		}
		if len(atts) > 0 {
			s += " attachments " + strings.Join(atts, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
