package produce

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/production"
)

// The Concordance load file: UTF-8 with a byte-order mark, fields quoted
// with þ (U+00FE) and separated by ASCII 20 (DC4, the character
// Concordance and Relativity show as ¶), one record a line ending CRLF.
// A value never holds the delimiters: line breaks inside a value become ®
// (U+00AE, Concordance's newline), and a þ or ASCII 20 in a value (a
// name, say) becomes U+FFFD. Message bodies are in the text files, byte
// exact, not in the DAT.
const (
	datQuote   = "\u00fe"
	datSep     = "\x14"
	datNewline = "\u00ae"
	datBOM     = "\ufeff"
)

// DATColumns are the DAT's columns, in order (docs/produce.md says what
// each holds).
var DATColumns = []string{
	"BEGDOC", "ENDDOC", "BEGATTACH", "ENDATTACH", "PARENT_DOCID", "ATTACHMENT_COUNT",
	"CUSTODIAN", "DATE_SENT", "TIME_SENT", "DATETIME_SENT_UTC", "FROM", "TO", "DIRECTION",
	"CONVERSATION_ID", "MESSAGE_ID", "FILENAME", "MIME_TYPE", "SHA256", "PAYLOAD_SHA256",
	"LEDGER_SEQ", "LEAF_HASH", "LEGAL_HOLD", "DELETED", "PROOF_PATH", "NATIVE_PATH", "TEXT_PATH",
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
	return w.o.Prefix + fmt.Sprintf("%0*d", w.o.Digits, n)
}

var datClean = strings.NewReplacer("\r\n", datNewline, "\n", datNewline, "\r", datNewline, datQuote, "\ufffd", datSep, "\ufffd")

// writeRecord writes one DAT line.
func writeRecord(b *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteString(datSep)
		}
		b.WriteString(datQuote)
		b.WriteString(datClean.Replace(f))
		b.WriteString(datQuote)
	}
	b.WriteString("\r\n")
}

func (w *datPart) record(fields []string) { writeRecord(&w.dat, fields) }

// message writes the natives of m and its attachments and their rows,
// and returns m's control number.
func (w *datPart) message(out *outDir, c *convEntry, m *message, proof string) (string, error) {
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
	held := ""
	if m.held >= 0 {
		held = strconv.FormatBool(m.held == 1)
	}
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
		strconv.FormatUint(m.seq, 10), m.leafHash.String(), held, strconv.FormatBool(m.deleted), proof, native, textPath)
	w.record(row)
	w.rows++
	for i, a := range m.attachments {
		ext := path.Ext(production.SafeName(a.filename))
		if len(ext) > 10 {
			ext = ""
		}
		name := production.NativeDir + "/" + ctrls[i] + ext
		if err := out.writeAttachment(name, &m.attachments[i]); err != nil {
			return "", err
		}
		row := append([]string{ctrls[i], ctrls[i], ctrl, endAttach, ctrl, "0"}, common...)
		row = append(row, a.filename, a.mime, a.sha256, "", strconv.FormatUint(m.seq, 10), m.leafHash.String(), held,
			strconv.FormatBool(m.deleted), proof, name, "")
		w.record(row)
		w.rows++
		if strings.HasPrefix(a.mime, "image/") {
			// Opticon: key, volume, image path, document break, folder
			// break, box break, pages.
			fmt.Fprintf(&w.opt, "%s,CUSTODY001,%s,Y,,,1\r\n", ctrls[i], name)
		}
	}
	return ctrl, nil
}

// ReadDAT parses a DAT this package wrote (or any with the same
// delimiters): the header row's column names and the records.
func ReadDAT(data []byte) ([]string, [][]string, error) {
	s, ok := strings.CutPrefix(string(data), datBOM)
	if !ok {
		return nil, nil, fmt.Errorf("produce: dat: no UTF-8 byte-order mark")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var recs [][]string
	for i, ln := range lines {
		fields := strings.Split(ln, datSep)
		for j, f := range fields {
			if len(f) < 2*len(datQuote) || !strings.HasPrefix(f, datQuote) || !strings.HasSuffix(f, datQuote) {
				return nil, nil, fmt.Errorf("produce: dat: line %d field %d is not quoted with þ", i+1, j+1)
			}
			fields[j] = strings.ReplaceAll(f[len(datQuote):len(f)-len(datQuote)], datNewline, "\n")
		}
		if i > 0 && len(fields) != len(recs[0]) {
			return nil, nil, fmt.Errorf("produce: dat: line %d has %d fields, the header %d", i+1, len(fields), len(recs[0]))
		}
		recs = append(recs, fields)
	}
	return recs[0], recs[1:], nil
}
