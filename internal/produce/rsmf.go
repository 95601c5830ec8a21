package produce

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/custodyhq/custody/internal/production"
)

// RSMF 2.0 (Relativity Short Message Format): an RFC 5322 message whose
// one attachment, rsmf.zip, holds rsmf_manifest.json and the message
// attachments. The manifest types are the schema's
// (rsmf_schema_2_0_0.json); every produced manifest is validated against
// it before it is written.

// RSMFVersion is the X-RSMF-Version header and the manifest's version.
const RSMFVersion = "2.0.0"

// RSMF file names.
const (
	RSMFZip      = "rsmf.zip"
	RSMFManifest = "rsmf_manifest.json"
)

// RSMF is an rsmf_manifest.json.
type RSMF struct {
	Version           string             `json:"version"`
	Participants      []RSMFParticipant  `json:"participants"`
	Conversations     []RSMFConversation `json:"conversations"`
	Events            []RSMFEvent        `json:"events"`
	EventCollectionID string             `json:"eventcollectionid,omitempty"`
}

// RSMFParticipant is a participant.
type RSMFParticipant struct {
	ID        string       `json:"id"`
	Display   string       `json:"display,omitempty"`
	AccountID string       `json:"account_id,omitempty"`
	Custom    []RSMFCustom `json:"custom,omitempty"`
}

// RSMFConversation is a conversation.
type RSMFConversation struct {
	ID           string       `json:"id"`
	Display      string       `json:"display,omitempty"`
	Platform     string       `json:"platform"`
	Type         string       `json:"type,omitempty"`
	Participants []string     `json:"participants"`
	Custodian    string       `json:"custodian,omitempty"`
	Custom       []RSMFCustom `json:"custom,omitempty"`
}

// RSMFEvent is an event.
type RSMFEvent struct {
	ID           string            `json:"id,omitempty"`
	Type         string            `json:"type"`
	Body         string            `json:"body,omitempty"`
	Participant  string            `json:"participant,omitempty"`
	Conversation string            `json:"conversation,omitempty"`
	Timestamp    string            `json:"timestamp,omitempty"`
	Deleted      bool              `json:"deleted,omitempty"`
	Direction    string            `json:"direction,omitempty"`
	Attachments  []RSMFAttachment  `json:"attachments,omitempty"`
	ReadReceipts []RSMFReadReceipt `json:"read_receipts,omitempty"`
	Edits        []RSMFEdit        `json:"edits,omitempty"`
	Custom       []RSMFCustom      `json:"custom,omitempty"`
}

// RSMFEdit is an edit of an event's body: the body before it and after.
type RSMFEdit struct {
	Participant string `json:"participant"`
	Timestamp   string `json:"timestamp,omitempty"`
	Previous    string `json:"previous"`
	New         string `json:"new"`
}

// RSMFAttachment is an event's attachment: ID is a file in rsmf.zip.
type RSMFAttachment struct {
	ID      string `json:"id"`
	Display string `json:"display,omitempty"`
	Size    int64  `json:"size"`
}

// RSMFReadReceipt is a delivery or read receipt.
type RSMFReadReceipt struct {
	Participant string `json:"participant"`
	Timestamp   string `json:"timestamp,omitempty"`
	Action      string `json:"action,omitempty"`
}

// RSMFCustom is a name/value pair; the schema wants both non-empty.
type RSMFCustom struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// custom builds a custom array from name, value pairs, leaving out empty
// values (the schema refuses them).
func custom(pairs ...string) []RSMFCustom {
	var out []RSMFCustom
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, RSMFCustom{Name: pairs[i], Value: pairs[i+1]})
		}
	}
	return out
}

// zipTime is every zip entry's modification time: fixed, so the same
// production gives the same bytes.
var zipTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// zipFile is one file of rsmf.zip: data, or what from holds.
type zipFile struct {
	name string
	data []byte
	from *spill
}

// zipLevel is the deflate level of rsmf.zip's entries: the fastest;
// the manifests it compresses are small and repetitive, and deflate at
// level 5 (archive/zip's) made them only a tenth smaller at about twice
// the CPU, most of it clearing its larger tables for each entry. The
// deflater is klauspost/compress's (already the diff's gzip): at level 1
// it took half the time of compress/flate's on a produced manifest
// (11 KB: 29–37 µs against 69–107 µs) and wrote 1 % fewer bytes.
const zipLevel = flate.BestSpeed

// zipper builds rsmf.zip files, reusing its compressor from one to the
// next (a production builds one a conversation).
type zipper struct {
	fw *flate.Writer
}

// buildZip writes the files in name order with fixed times.
func buildZip(files []zipFile) ([]byte, error) {
	var z zipper
	var buf bytes.Buffer
	if err := z.build(&buf, files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// build is buildZip writing to w. The compressor's output does not
// depend on how its input is cut into writes, so a file copied from a
// spill in pieces zips to the same bytes as one written whole.
func (z *zipper) build(w io.Writer, files []zipFile) error {
	slices.SortFunc(files, func(a, b zipFile) int { return strings.Compare(a.name, b.name) })
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, z.compressor)
	var buf []byte
	for _, f := range files {
		if err := zipEntryName(f.name); err != nil {
			return err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return err
		}
		if f.from != nil {
			if buf == nil {
				buf = make([]byte, copyBufSize)
			}
			_, err = io.CopyBuffer(fw, f.from.reader(), buf)
		} else {
			_, err = fw.Write(f.data)
		}
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipEntryName refuses an rsmf.zip entry name a reviewer's unzip could
// write outside the folder it extracts to, or that could not be a file
// name there: one path segment of letters, digits, '.', '_', '-' and '+'
// (production.ValidPath), not starting with '.', at most 255 bytes. No
// "..", '/', '\', drive letter, NUL or control character gets through.
func zipEntryName(name string) error {
	if strings.Contains(name, "/") || production.ValidPath(name) != nil {
		return fmt.Errorf("produce: rsmf.zip entry name %q: not a safe file name", name)
	}
	return nil
}

// compressor is the zip entries' compressor: z's one flate writer, reset
// for each entry (archive/zip's own pools one per entry).
func (z *zipper) compressor(w io.Writer) (io.WriteCloser, error) {
	if z.fw == nil {
		fw, err := flate.NewWriter(w, zipLevel)
		if err != nil {
			return nil, err
		}
		z.fw = fw
		return fw, nil
	}
	z.fw.Reset(w)
	return z.fw, nil
}

// rsmfHeaders are the RFC 5322 headers of an .rsmf file.
type rsmfHeaders struct {
	Subject      string
	From         rsmfMailbox
	To           []rsmfMailbox
	Date         time.Time
	MessageID    string
	Generator    string
	Begin, End   time.Time
	Events       int
	Custodian    string
	Participants []string
	Attachments  int
}

// rsmfMailbox is a participant in the From or To header: the name it is
// shown by and its participant id.
type rsmfMailbox struct {
	Display, ID string
}

// headerClean replaces with a space every character a header value
// cannot hold as it is: line breaks (a hostile name must not add
// headers), the other C0 controls and tab, DEL, C1 controls, U+2028 and
// U+2029.
func headerClean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\ufffd"))
}

// headerText makes s safe as an unstructured header value: headerClean,
// then RFC 2047 when not ASCII.
func headerText(s string) string {
	return mime.QEncoding.Encode("utf-8", headerClean(s))
}

// participantsText is the X-RSMF-Participants value: the names,
// separated by ", " (Relativity's field reference: a comma-separated
// string of participant names), a comma in a name written as a space so
// that the list reads back name by name.
func participantsText(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ReplaceAll(n, ",", " ")
	}
	return headerText(strings.Join(out, ", "))
}

// RSMFAddressDomain is the domain of the participants' addresses in an
// .rsmf file's From and To headers. RSMF identifies participants in its
// manifest (and Relativity in X-RSMF-Participants), not by e-mail
// address, but RFC 5322 requires an address in a mailbox: each is made of
// the participant id in the domain .invalid, which RFC 2606 reserves for
// names that can never resolve, so no mail can ever go to one.
const RSMFAddressDomain = "rsmf.invalid"

// maxLocalPart bounds an address's local part (RFC 5321's 64 octets).
const maxLocalPart = 64

// participantAddress is the address of participant id: its bytes, each
// but ASCII letters, digits and "+-_=" written as %XX (upper-case hex),
// at RSMFAddressDomain. A local part longer than 64 bytes is cut to 47
// and "-" and the first 8 bytes of the id's SHA-256 in hex appended.
func participantAddress(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '_' || c == '=' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	local := b.String()
	if local == "" {
		local = "_"
	}
	if len(local) > maxLocalPart {
		sum := sha256.Sum256([]byte(id))
		local = local[:47] + "-" + hex.EncodeToString(sum[:8])
	}
	return local + "@" + RSMFAddressDomain
}

// mailbox is the RFC 5322 mailbox of a participant: its name as a
// display name (quoted, or RFC 2047 encoded when not ASCII) and its
// participantAddress.
func mailbox(m rsmfMailbox) string {
	a := mail.Address{Name: strings.TrimSpace(headerClean(m.Display)), Address: participantAddress(m.ID)}
	return a.String()
}

// maxHeaderLine is the length past which a header line is folded.
const maxHeaderLine = 78

// appendHeader writes the header field name: value, folded (RFC 5322
// 2.2.3: a CRLF before a space) before a space where the line would
// pass 78 characters, so that no line passes 998. A value holds no line
// break (headerText, mailbox), and a fold is only made before a space
// that a non-space follows, so no line is blank.
func appendHeader(buf *bytes.Buffer, name, value string) {
	buf.WriteString(name)
	buf.WriteString(":")
	n := len(name) + 1
	rest := " " + value
	for rest != "" {
		// The next token: spaces, then what is not a space.
		i := 0
		for i < len(rest) && rest[i] == ' ' {
			i++
		}
		for i < len(rest) && rest[i] != ' ' {
			i++
		}
		tok := rest[:i]
		rest = rest[i:]
		if n+len(tok) > maxHeaderLine && n > len(name)+1 && strings.TrimLeft(tok, " ") != "" {
			buf.WriteString("\r\n")
			n = 0
		}
		buf.WriteString(tok)
		n += len(tok)
	}
	buf.WriteString("\r\n")
}

// appendRSMFHeaders writes an .rsmf file's message headers and the
// blank line after them.
func appendRSMFHeaders(buf *bytes.Buffer, h rsmfHeaders, boundary string) {
	hdr := func(k, v string) { appendHeader(buf, k, v) }
	hdr("From", mailbox(h.From))
	to := make([]string, len(h.To))
	for i, t := range h.To {
		to[i] = mailbox(t)
	}
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", headerText(h.Subject))
	hdr("Date", h.Date.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+h.MessageID+">")
	hdr("MIME-Version", "1.0")
	hdr("X-RSMF-Version", RSMFVersion)
	hdr("X-RSMF-Generator", headerText(h.Generator))
	hdr("X-RSMF-BeginDate", rsmfTime(h.Begin))
	hdr("X-RSMF-EndDate", rsmfTime(h.End))
	hdr("X-RSMF-EventCount", strconv.Itoa(h.Events))
	hdr("X-RSMF-Application", "WhatsApp")
	hdr("X-RSMF-Custodian", headerText(h.Custodian))
	hdr("X-RSMF-Participants", participantsText(h.Participants))
	hdr("X-RSMF-AttachmentCount", strconv.Itoa(h.Attachments))
	hdr("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	buf.WriteString("\r\n")
}

// buildRSMF writes an .rsmf file: the headers, a readable text/plain
// body and the rsmf.zip attachment. The MIME boundary is derived from the
// content, so the same content gives the same bytes. The parts are
// written as mime/multipart writes them (TestBuildRSMFMultipart holds the
// two together), without its per-part buffers.
func buildRSMF(h rsmfHeaders, text string, zipData []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := appendRSMF(&buf, h, text, zipData); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendRSMF is buildRSMF writing into buf.
func appendRSMF(buf *bytes.Buffer, h rsmfHeaders, text string, zipData []byte) error {
	sum := sha256.New()
	sum.Write([]byte(text))
	sum.Write(zipData)
	var sb [sha256.Size]byte
	boundary := rsmfBoundary(sum.Sum(sb[:0]))

	// Headers and text are small; the zip grows by 4/3 in base64 and
	// 78/76 for the line breaks.
	buf.Grow(2048 + 2*len(text) + len(zipData)*4/3 + len(zipData)/38 + 16)
	if err := appendRSMFHead(buf, h, text, boundary); err != nil {
		return err
	}
	buf.Write(appendBase64Lines(buf.AvailableBuffer(), zipData))
	buf.WriteString(rsmfEnd(boundary))
	return nil
}

// writeRSMF is appendRSMF writing to w in pieces, the zip read from zr
// (of the SHA-256 sum after the text): for a file not held whole.
func writeRSMF(w io.Writer, buf *bytes.Buffer, h rsmfHeaders, text string, sum []byte, zr io.Reader) error {
	boundary := rsmfBoundary(sum)
	buf.Reset()
	if err := appendRSMFHead(buf, h, text, boundary); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	// Whole lines of 57 bytes at a time, as appendBase64Lines cuts them.
	in := make([]byte, 57*1024)
	var out []byte
	empty := true
	for {
		n, err := io.ReadFull(zr, in)
		if n > 0 {
			empty = false
			out = appendBase64Lines(out[:0], in[:n])
			if _, err := w.Write(out); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	end := rsmfEnd(boundary)
	if empty {
		end = "\r\n" + end // the one empty line appendBase64Lines writes
	}
	_, err := io.WriteString(w, end)
	return err
}

// rsmfBoundary is the MIME boundary of an .rsmf file whose text and zip
// have the SHA-256 sum.
func rsmfBoundary(sum []byte) string { return "custody-rsmf-" + hex.EncodeToString(sum)[:32] }

// rsmfEnd is what follows the zip's base64.
func rsmfEnd(boundary string) string { return "\r\n--" + boundary + "--\r\n" }

// appendBase64Lines appends data in base64 in lines of 76 characters (57
// bytes), each ending CRLF.
func appendBase64Lines(b, data []byte) []byte {
	for len(data) > 57 {
		b = base64.StdEncoding.AppendEncode(b, data[:57])
		b = append(b, '\r', '\n')
		data = data[57:]
	}
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '\r', '\n')
}

// appendRSMFHead writes an .rsmf file's headers, its text part and the
// zip part's headers: everything before the zip's base64.
func appendRSMFHead(buf *bytes.Buffer, h rsmfHeaders, text, boundary string) error {
	hdr := func(k, v string) {
		buf.WriteString(k)
		buf.WriteString(": ")
		buf.WriteString(v)
		buf.WriteString("\r\n")
	}
	appendRSMFHeaders(buf, h, boundary)

	// The parts' headers in mime/multipart's order (sorted by name).
	buf.WriteString("--" + boundary + "\r\n")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Content-Type", "text/plain; charset=utf-8")
	buf.WriteString("\r\n")
	qp := quotedprintable.NewWriter(buf)
	if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	buf.WriteString("\r\n--" + boundary + "\r\n")
	hdr("Content-Disposition", `attachment; filename="`+RSMFZip+`"`)
	hdr("Content-Transfer-Encoding", "base64")
	hdr("Content-Type", `application/zip; name="`+RSMFZip+`"`)
	buf.WriteString("\r\n")
	return nil
}

// base64Size is the size of n bytes as appendBase64Lines writes them.
func base64Size(n int64) int64 {
	lines := max((n+56)/57, 1)
	return (n+2)/3*4 + 2*lines
}

// marshalRSMF writes the manifest (compact: indenting cost a tenth of a
// production's time).
func marshalRSMF(m *RSMF) ([]byte, error) {
	var buf bytes.Buffer
	return marshalRSMFInto(&buf, m)
}

// marshalRSMFInto is marshalRSMF into buf (reset first), whose bytes it
// returns: a worker reuses one buffer for every conversation.
func marshalRSMFInto(buf *bytes.Buffer, m *RSMF) ([]byte, error) {
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
