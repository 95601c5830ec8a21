package produce

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/production"
)

// The Concordance load file, in the delimiters internal/production
// defines (DATQuote, DATSep, DATNewline, DATBOM), which its DATReader
// reads. Every value goes through datValue, so that none holds a
// delimiter, a line break or a control character (docs/produce.md, "DAT
// and OPT"). Message bodies are in the text files, byte exact, not in the
// DAT.
const (
	datQuote   = production.DATQuote
	datSep     = production.DATSep
	datNewline = production.DATNewline
	datBOM     = production.DATBOM
	// datLiteralNewline is what a literal ® in a value is written as: the
	// loader turns every ® into a line break, so one left as it is would
	// read as a line break that was never there.
	datLiteralNewline = "(R)"
)

// DATColumns are the DAT's columns, in order (docs/produce.md says what
// each holds).
var DATColumns = []string{
	"BEGDOC", "ENDDOC", "BEGATTACH", "ENDATTACH", "PARENT_DOCID", "ATTACHMENT_COUNT",
	"CUSTODIAN", "DATE_SENT", "TIME_SENT", "DATETIME_SENT_UTC", "FROM", "TO", "DIRECTION",
	"CONVERSATION_ID", "MESSAGE_ID", "FILENAME", "MIME_TYPE", "SHA256", "PAYLOAD_SHA256",
	"LEDGER_SEQ", "LEAF_HASH", "LEGAL_HOLD", "HOLD_SOURCE", "DELETED", "PROOF_PATH", "NATIVE_PATH", "TEXT_PATH",
	"CAPTURE", "CAPTURED_AT", "EARLIER_CAPTURES", "EARLIER_CAPTURE_SEQS", "EARLIER_CAPTURE_BEGDOCS", "LATEST_CAPTURE_BEGDOC", "DIFFERS_FROM_LATEST",
	"MEDIA_NOT_STORED_COUNT", "MEDIA_NOT_STORED", "DATE_MODIFIED", "DATE_DELETED",
}

// datPart is one conversation's DAT and OPT lines; its natives are
// written as it goes.
type datPart struct {
	o         Options
	custodian string
	next      int
	dat, opt  bytes.Buffer
	rows      int
}

func (w *datPart) control() string {
	n := w.next
	w.next++
	return w.ctrlText(n)
}

func (w *datPart) ctrlText(n int) string { return w.o.Prefix + fmt.Sprintf("%0*d", w.o.Digits, n) }

// datValue makes s safe as a DAT value, as a Concordance or Relativity
// loader reads it (docs/produce.md, "DAT and OPT"):
//
//   - each line break — CR LF, LF, CR, VT, FF, NEL (U+0085), U+2028 and
//     U+2029 — becomes one ®, the newline the loader turns back into a
//     line break; a ® in the value becomes "(R)";
//   - a tab becomes a space;
//   - the quote þ, the separator ASCII 20, every other C0 control
//     (NUL among them), DEL, every other C1 control and any byte that is
//     not UTF-8 become U+FFFD.
//
// Everything else is kept. The JSON native keeps the exact original.
func datValue(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			b.WriteString(datNewline)
			n = 2
		case r == '\r', r == '\n', r == '\v', r == '\f', r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteString(datNewline)
		case r == 0xae:
			b.WriteString(datLiteralNewline)
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError && n <= 1, r == 0xfe, r < 0x20, r >= 0x7f && r <= 0x9f:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// writeRecord writes one DAT line.
func writeRecord(b *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteString(datSep)
		}
		b.WriteString(datQuote)
		b.WriteString(datValue(f))
		b.WriteString(datQuote)
	}
	b.WriteString("\r\n")
}

func (w *datPart) record(fields []string) { writeRecord(&w.dat, fields) }

// message writes the natives of m and its attachments and their rows,
// and returns m's control number. latest is, for an earlier capture of
// a message, its latest capture, written just before it; nil for a
// latest capture, whose earlier captures (m.earlier) are written right
// after its family, in order.
func (w *datPart) message(out *outDir, c *convEntry, m *message, proof string, latest *message) (string, error) {
	// Which capture this is, and where the others are: an earlier
	// capture is its own family (its own natives, proof and
	// attachments); MESSAGE_ID groups them all.
	capture := []string{"latest", rsmfTime0(m.captured), "0", "", "", "", ""}
	if latest != nil {
		capture[0], capture[2], capture[5], capture[6] = "earlier", "", latest.ctrl, differs(m, latest)
	} else if len(m.earlier) > 0 {
		var seqs, begdocs []string
		n := w.next + 1 + len(m.attachments)
		for _, e := range m.earlier {
			seqs = append(seqs, strconv.FormatUint(e.seq, 10))
			begdocs = append(begdocs, w.ctrlText(n))
			n += 1 + len(e.attachments)
		}
		capture[2], capture[3], capture[4] = strconv.Itoa(len(m.earlier)), strings.Join(seqs, ";"), strings.Join(begdocs, ";")
	}
	// What the message is not produced with, and its changes at the
	// source: a blank message whose photo expired must not read as a
	// message that never had one.
	capture = append(capture, strconv.Itoa(len(m.missing)), strings.Join(m.missing, "; "), channelTime(m, false), channelTime(m, true))
	ctrl := w.control()
	ctrls := make([]string, len(m.attachments))
	for i := range m.attachments {
		ctrls[i] = w.control()
	}
	endAttach := ctrl
	if len(ctrls) > 0 {
		endAttach = ctrls[len(ctrls)-1]
	}
	native := production.NativeDir + "/" + ctrl + ".json"
	if err := out.write(native, m.raw, true); err != nil {
		return "", err
	}
	textPath := production.NativeDir + "/" + ctrl + ".txt"
	if err := out.write(textPath, []byte(m.text), true); err != nil {
		return "", err
	}
	sum := sha256.Sum256(m.raw)
	at := m.at.UTC()
	// The conversation's legal hold as it stands (erasure.State.HoldsOn),
	// as the manifest, the RSMF, --legal-hold-only and erase read it; not
	// the message leaf's flag, which is only what its capture saw.
	held, source := strconv.FormatBool(c.holds.Held()), strings.Join(c.holds.Sources(), ";")
	who := func(x *person) string {
		if x.address != "" && x.address != x.display {
			return x.display + " <" + x.address + ">"
		}
		return x.display
	}
	common := []string{w.custodian, at.Format("2006-01-02"), at.Format("15:04:05.000"), rsmfTime(at), who(m.from), who(m.to),
		direction(m.md.Direction), c.id, m.msgID}
	row := append([]string{ctrl, ctrl, ctrl, endAttach, "", strconv.Itoa(len(m.attachments))}, common...)
	row = append(row, "", "application/json", hex.EncodeToString(sum[:]), m.payload.String(),
		strconv.FormatUint(m.seq, 10), m.leafHash.String(), held, source, strconv.FormatBool(m.deleted), datPath(proof), datPath(native), datPath(textPath))
	row = append(row, capture...)
	w.record(row)
	w.rows++
	for i, a := range m.attachments {
		ext := nativeExt(a.mime, a.filename)
		name := production.NativeDir + "/" + ctrls[i] + ext
		if err := out.writeAttachment(name, &m.attachments[i]); err != nil {
			return "", err
		}
		row := append([]string{ctrls[i], ctrls[i], ctrl, endAttach, ctrl, "0"}, common...)
		row = append(row, a.filename, a.mime, a.sha256, "", strconv.FormatUint(m.seq, 10), m.leafHash.String(), held, source,
			strconv.FormatBool(m.deleted), datPath(proof), datPath(name), "")
		row = append(row, capture...)
		w.record(row)
		w.rows++
		if optImage(a.mime, ext) && isJPEG(&m.attachments[i]) {
			// Opticon: key, volume, image path, document break, folder
			// break, box break, pages.
			fmt.Fprintf(&w.opt, "%s,CUSTODY001,%s,Y,,,1\r\n", ctrls[i], datPath(name))
		}
	}
	return ctrl, nil
}

// mimeExts is the extension an attachment native of each MIME type
// takes: the types WhatsApp carries and the usual documents. A fixed
// table, not mime.ExtensionsByType, whose answer depends on the
// machine's mime.types: the same production must have the same names.
var mimeExts = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/heic": ".heic",
	"image/heif": ".heif", "image/tiff": ".tif", "image/bmp": ".bmp",
	"video/mp4": ".mp4", "video/3gpp": ".3gp", "video/quicktime": ".mov", "video/mpeg": ".mpeg", "video/webm": ".webm",
	"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/aac": ".aac", "audio/amr": ".amr", "audio/mp4": ".m4a",
	"audio/opus": ".opus", "audio/wav": ".wav", "audio/x-wav": ".wav",
	"application/pdf": ".pdf", "text/plain": ".txt", "text/csv": ".csv", "text/html": ".html", "application/rtf": ".rtf",
	"application/msword": ".doc", "application/vnd.ms-excel": ".xls", "application/vnd.ms-powerpoint": ".ppt",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
	"application/zip": ".zip", "application/json": ".json", "application/xml": ".xml", "text/xml": ".xml",
	"text/vcard": ".vcf", "text/x-vcard": ".vcf",
}

// nativeExt is the extension of an attachment's native: its MIME type's
// (mimeExts) when the type is one it knows; else its file name's, as
// sent (up to 10 characters, none otherwise). The file name is the
// sender's choice: evil.pdf.exe of type application/pdf is a .pdf, not
// an .exe a review platform or gateway would quarantine. FILENAME keeps
// the name as sent.
func nativeExt(mimeType, filename string) string {
	if t, _, err := mime.ParseMediaType(mimeType); err == nil {
		if ext, ok := mimeExts[t]; ok {
			return ext
		}
	}
	ext := path.Ext(production.SafeName(filename))
	if len(ext) > 10 {
		return ""
	}
	return ext
}

// differs says how an earlier capture e differs from its message's
// latest capture l, as the DIFFERS_FROM_LATEST column gives it: "text",
// "deleted" (one has the message deleted, the other not), "attachments"
// (other attachments stored, or other ones not stored), joined by ';';
// "metadata" when none of these differ (the API object does: a status, a
// receipt), so that a review can set such captures apart.
func differs(e, l *message) string {
	var out []string
	if e.text != l.text {
		out = append(out, "text")
	}
	if e.deleted != l.deleted {
		out = append(out, "deleted")
	}
	sums := func(m *message) string {
		var s []string
		for _, a := range m.attachments {
			s = append(s, a.sha256)
		}
		slices.Sort(s)
		return strings.Join(s, ",") + "|" + strconv.Itoa(len(m.missing))
	}
	if sums(e) != sums(l) {
		out = append(out, "attachments")
	}
	if len(out) == 0 {
		return "metadata"
	}
	return strings.Join(out, ";")
}

// datPath is the path p (in the production, "/"-separated) as the DAT
// and OPT name it: relative to the folder they are in (dat/), as loaders
// resolve a relative path from the load file's folder.
func datPath(p string) string {
	if rest, ok := strings.CutPrefix(p, production.DATDir+"/"); ok {
		return rest
	}
	return "../" + p
}

// optImage reports whether an attachment of the MIME type, stored with
// the extension ext, is listed in the OPT: single-page JPEG only.
// Relativity's image load takes single-page JPEG, single-page Group IV
// TIFF and PDF; PNG, WebP (WhatsApp's stickers) and the rest are refused
// there, and stay natives in the DAT. A TIFF is not listed either: custody
// does not check that it is one page of Group IV.
func optImage(mimeType, ext string) bool {
	ext = strings.ToLower(ext)
	return strings.EqualFold(mimeType, "image/jpeg") && (ext == ".jpg" || ext == ".jpeg")
}

// isJPEG reports whether the attachment's bytes start as a JPEG does
// (SOI, then a marker: FF D8 FF). The MIME type and name are what the
// API states, which a sender chooses: a PNG or WebP called photo.jpg, or
// an attachment custody holds no bytes of (expired), is no image an
// image load can take.
func isJPEG(a *attachment) bool {
	var head [3]byte
	if _, err := io.ReadFull(a.reader(), head[:]); err != nil {
		return false
	}
	return head == [3]byte{0xFF, 0xD8, 0xFF}
}
