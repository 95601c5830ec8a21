package verify

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/production"
)

// ProdCheckContent: a produced message's content (its JSON native, text
// native, DAT row or RSMF event) is not what the leaf its proof proves
// commits to, or not what docs/produce.md says produce derives from it.
const ProdCheckContent = "content"

// The content check. A proof shows that a ledger entry exists; only the
// entry's payload_sha256 ties it to the content produced. So, for every
// produced message: its JSON native's RFC 8785 SHA-256 (internal/derive,
// as export computed it) must be the proven leaf's payload_sha256; its
// text native, DAT row and RSMF event must say what produce derives from
// that native and leaf (docs/produce.md). The natives and .rsmf files are
// read in the pass that hashes every file (one open each: on a network
// share each open is a round trip), keeping only hashes and a few fields
// per message; the comparisons run once the proofs are checked.

// maxNative bounds what is read whole of a JSON or text native: an API
// message object is a few KB; a larger file is a finding, not memory.
const maxNative = 16 << 20

// maxHeldZip is the largest rsmf.zip decoded into memory; a larger one
// (attachments) goes to a temporary file, removed at once.
const maxHeldZip = 32 << 20

// datTable is the DAT, parsed: column index by name, and the rows.
type datTable struct {
	col  map[string]int
	rows [][]string
	// msgRow is the row of each message control number (BEGDOC of a row
	// without PARENT_DOCID); children the attachment rows by parent.
	msgRow   map[string]int
	children map[string][]int
}

func (t *datTable) get(row int, name string) (string, bool) {
	i, ok := t.col[name]
	if !ok {
		return "", false
	}
	return t.rows[row][i], true
}

// parseDAT reads a DAT as produce writes it (docs/produce.md, "DAT and
// OPT"): a byte-order mark, CRLF records, þ-quoted fields separated by
// ASCII 20, the header row naming the columns.
func parseDAT(data []byte) (*datTable, error) {
	const quote, sep = "\u00fe", "\x14"
	s, ok := strings.CutPrefix(string(data), "\ufeff")
	if !ok {
		return nil, errors.New("no UTF-8 byte-order mark")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	t := &datTable{col: map[string]int{}, msgRow: map[string]int{}, children: map[string][]int{}}
	for i, ln := range lines {
		fields := strings.Split(ln, sep)
		for j, f := range fields {
			if len(f) < 2*len(quote) || !strings.HasPrefix(f, quote) || !strings.HasSuffix(f, quote) {
				return nil, fmt.Errorf("line %d field %d is not quoted with þ", i+1, j+1)
			}
			fields[j] = f[len(quote) : len(f)-len(quote)]
		}
		if i == 0 {
			for j, name := range fields {
				t.col[name] = j
			}
			continue
		}
		if len(fields) != len(t.col) {
			return nil, fmt.Errorf("line %d has %d fields, the header %d", i+1, len(fields), len(t.col))
		}
		t.rows = append(t.rows, fields)
	}
	if _, ok := t.col["BEGDOC"]; !ok {
		return nil, errors.New("no BEGDOC column")
	}
	for r := range t.rows {
		beg, _ := t.get(r, "BEGDOC")
		if parent, _ := t.get(r, "PARENT_DOCID"); parent != "" {
			t.children[parent] = append(t.children[parent], r)
			continue
		}
		if _, dup := t.msgRow[beg]; dup {
			return nil, fmt.Errorf("control number %s has two message rows", beg)
		}
		t.msgRow[beg] = r
	}
	return t, nil
}

// nativeFacts are what a message's JSON native says, as produce derives
// its other renderings from it.
type nativeFacts struct {
	read      bool
	err       string // it does not decode as a message object
	payload   hashchain.Hash
	sum       string // SHA-256 of the file
	id        string
	textSum   [sha256.Size]byte // of genesys.MessageText
	deleted   bool
	direction string
	changedAt string // dateDeleted, else dateModified, as RSMF edits date them
}

// leafFacts are what a message's proven leaf says.
type leafFacts struct {
	proven  bool
	payload hashchain.Hash
	sent    string // its compliance original_timestamp, as produce writes times
	media   map[string]bool
}

// rsmfEvent is what the content check keeps of one RSMF event.
type rsmfEvent struct {
	file                   string
	id, conv               string
	timestamp, direction   string
	deleted                bool
	bodySum                [sha256.Size]byte
	seq, leafHash, payload string
	edits                  [][2][sha256.Size]byte
}

// contentCheck gathers, during the file and proof passes, what the
// comparisons need, indexed by the manifest's message order.
type contentCheck struct {
	man    *production.Manifest
	listed map[string]production.File
	dat    *datTable
	datErr string
	// role of a listed file the file pass parses: a message's JSON or
	// text native (index into man.Messages), or an .rsmf file.
	nativeOf, textOf map[string]int
	natives          []nativeFacts
	texts            []*[sha256.Size]byte
	leaves           []leafFacts
	shared           []string      // natives two DAT rows name
	events           [][]rsmfEvent // by man.Files index
	rsmfErr          []string      // by man.Files index
}

// newContentCheck reads the DAT (when the production has one) to learn
// where each message's natives are.
func newContentCheck(root *os.Root, man *production.Manifest, listed map[string]production.File) *contentCheck {
	c := &contentCheck{man: man, listed: listed, nativeOf: map[string]int{}, textOf: map[string]int{},
		natives: make([]nativeFacts, len(man.Messages)), texts: make([]*[sha256.Size]byte, len(man.Messages)),
		leaves: make([]leafFacts, len(man.Messages)), events: make([][]rsmfEvent, len(man.Files)), rsmfErr: make([]string, len(man.Files))}
	if _, ok := listed[production.DATFile]; !ok {
		return c
	}
	data, err := readRootFile(root, production.DATFile, 1<<40)
	if err == nil {
		c.dat, err = parseDAT(data)
	}
	if err != nil {
		c.datErr = err.Error()
		return c
	}
	// Each native is one message's: a file two rows name would be read
	// for one of them only.
	claim := func(m map[string]int, p string, i int) {
		if p == "" {
			return
		}
		_, native := c.nativeOf[p]
		_, text := c.textOf[p]
		if native || text {
			c.shared = append(c.shared, p)
			return
		}
		m[p] = i
	}
	for i, m := range man.Messages {
		r, ok := c.dat.msgRow[m.ControlNumber]
		if !ok {
			continue
		}
		claim(c.nativeOf, c.datFile(r, "NATIVE_PATH", production.NativeDir+"/"+m.ControlNumber+".json"), i)
		claim(c.textOf, c.datFile(r, "TEXT_PATH", production.NativeDir+"/"+m.ControlNumber+".txt"), i)
	}
	return c
}

// datFile is the production file a DAT path column of row r names: a
// path relative to dat/, as loaders resolve it, or (productions made
// before) relative to the production's root; "" when it names no listed
// file. Without the column, def.
func (c *contentCheck) datFile(r int, column, def string) string {
	v, ok := c.dat.get(r, column)
	if !ok {
		return def
	}
	if p := path.Join(production.DATDir, v); c.listed[p].Path != "" {
		return p
	}
	if c.listed[v].Path != "" {
		return v
	}
	return ""
}

// read is the file pass's reading of listed file i: a native or text
// native read whole and judged, an .rsmf file parsed as it is hashed,
// any other file hashed.
func (c *contentCheck) read(root *os.Root, i int) ([sha256.Size]byte, int64, error) {
	name := c.man.Files[i].Path
	if k, ok := c.nativeOf[name]; ok {
		buf := nativeBufs.Get().(*[]byte)
		defer nativeBufs.Put(buf)
		b, err := readNative(root, name, c.man.Files[i].Size, buf)
		if err != nil {
			return [sha256.Size]byte{}, 0, err
		}
		sum := sha256.Sum256(b)
		n := &c.natives[k]
		n.read, n.sum = true, hex.EncodeToString(sum[:])
		md, payload, err := derive.DecodeMessage(b)
		if err != nil {
			n.err = err.Error()
		} else {
			n.payload, n.id = payload, strings.Clone(md.ID) // md may point into buf
			n.textSum = sha256.Sum256([]byte(genesys.MessageText(md)))
			n.direction = rsmfDirection(md.Direction)
			if nm := md.NormalizedMessage; nm != nil && nm.Channel != nil {
				n.deleted = nm.Channel.DateDeleted != ""
				for _, s := range []string{nm.Channel.DateDeleted, nm.Channel.DateModified} {
					if t, _, err := genesys.ParseTimestamp(s); s != "" && err == nil {
						n.changedAt = genesys.FormatMillis(t)
						break
					}
				}
			}
		}
		return sum, int64(len(b)), nil
	}
	if k, ok := c.textOf[name]; ok {
		buf := nativeBufs.Get().(*[]byte)
		defer nativeBufs.Put(buf)
		b, err := readNative(root, name, c.man.Files[i].Size, buf)
		if err != nil {
			return [sha256.Size]byte{}, 0, err
		}
		ts := sha256.Sum256(b)
		c.texts[k] = &ts
		return ts, int64(len(b)), nil
	}
	if strings.HasPrefix(name, production.RSMFDir+"/") && strings.HasSuffix(name, ".rsmf") {
		f, err := openRegular(root, name)
		if err != nil {
			return [sha256.Size]byte{}, 0, err
		}
		defer f.Close()
		h := sha256.New()
		cr := &countReader{r: io.TeeReader(f, h)}
		evs, perr := readRSMFEvents(cr, name)
		if _, err := io.Copy(io.Discard, cr); err != nil { // the rest, hashed
			return [sha256.Size]byte{}, 0, err
		}
		if perr != nil {
			c.rsmfErr[i] = perr.Error()
		}
		c.events[i] = evs
		var sum [sha256.Size]byte
		copy(sum[:], h.Sum(nil))
		return sum, cr.n, nil
	}
	return hashRootFile(root, name)
}

// nativeBufs are the buffers natives are read into, reused from file to
// file.
var nativeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readNative reads a native whole into *buf (grown as needed): the
// manifest gives its size, and one byte more is read to see that it is
// not larger (its hash then differs from the manifest's anyway).
func readNative(root *os.Root, name string, size int64, buf *[]byte) ([]byte, error) {
	if err := production.ValidPath(name); err != nil {
		return nil, err
	}
	f, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := int(min(max(size, 0), maxNative)) + 1
	if cap(*buf) < want {
		*buf = make([]byte, 0, want)
	}
	b := (*buf)[:want]
	n, err := io.ReadFull(f, b)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return b[:n], nil
	case err != nil:
		return nil, err
	}
	// Larger than the manifest says: read the rest to hash it.
	rest, err := io.ReadAll(io.LimitReader(f, maxNative))
	if err != nil {
		return nil, err
	}
	out := append(b[:n:n], rest...)
	if len(out) > maxNative {
		return nil, fmt.Errorf("larger than %d bytes", maxNative)
	}
	return out, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// proved records what the proven leaf of manifest message k says.
func (c *contentCheck) proved(k int, e leaf.Entry) {
	l := leafFacts{proven: true, payload: e.PayloadSHA256, media: map[string]bool{}}
	if e.Compliance != nil {
		if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil {
			l.sent = genesys.FormatMillis(t)
		}
	}
	if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
		if md, ok := d.(*leaf.MessageDetail); ok {
			for _, ref := range md.Media {
				if ref.Evidence != "" {
					l.media[ref.Evidence] = true
				}
			}
		}
	}
	c.leaves[k] = l
}

func rsmfDirection(d string) string {
	if strings.EqualFold(d, "inbound") {
		return "incoming"
	}
	return "outgoing"
}

// readRSMFEvents reads the events of an .rsmf file's rsmf_manifest.json:
// the file is an RFC 5322 message whose multipart/mixed body holds
// rsmf.zip (base64).
func readRSMFEvents(r io.Reader, name string) ([]rsmfEvent, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("not a multipart RSMF file (%s)", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errors.New("no rsmf.zip in it")
		}
		if err != nil {
			return nil, err
		}
		if p.FileName() != "rsmf.zip" {
			continue
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		zr, done, err := zipFrom(body)
		if err != nil {
			return nil, fmt.Errorf("rsmf.zip: %w", err)
		}
		defer done()
		return zipEvents(zr, name)
	}
}

// zipFrom reads a zip archive held in memory when small, else in a
// temporary file removed as soon as it is open.
func zipFrom(r io.Reader) (*zip.Reader, func(), error) {
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, maxHeldZip+1)
	if err != nil && err != io.EOF {
		return nil, nil, err
	}
	if n <= maxHeldZip {
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		return zr, func() {}, err
	}
	f, err := os.CreateTemp("", "custody-verify-rsmf-*.zip")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(f.Name())
	done := func() { f.Close() }
	size, err := io.Copy(f, io.MultiReader(&buf, r))
	if err != nil {
		done()
		return nil, nil, err
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		done()
		return nil, nil, err
	}
	return zr, done, nil
}

func zipEvents(zr *zip.Reader, name string) ([]rsmfEvent, error) {
	for _, zf := range zr.File {
		if zf.Name != "rsmf_manifest.json" {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		var man struct {
			Events []struct {
				ID           string `json:"id"`
				Type         string `json:"type"`
				Body         string `json:"body"`
				Conversation string `json:"conversation"`
				Timestamp    string `json:"timestamp"`
				Deleted      bool   `json:"deleted"`
				Direction    string `json:"direction"`
				Edits        []struct {
					Previous string `json:"previous"`
					New      string `json:"new"`
				} `json:"edits"`
				Custom []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"custom"`
			} `json:"events"`
		}
		if err := json.NewDecoder(io.LimitReader(rc, production.MaxManifest)).Decode(&man); err != nil {
			return nil, fmt.Errorf("rsmf_manifest.json: %w", err)
		}
		out := make([]rsmfEvent, 0, len(man.Events))
		for _, e := range man.Events {
			if e.Type != "message" {
				continue
			}
			ev := rsmfEvent{file: name, id: e.ID, conv: e.Conversation, timestamp: e.Timestamp, direction: e.Direction,
				deleted: e.Deleted, bodySum: sha256.Sum256([]byte(e.Body))}
			for _, c := range e.Custom {
				switch c.Name {
				case "ledger_seq":
					ev.seq = c.Value
				case "leaf_hash":
					ev.leafHash = c.Value
				case "payload_sha256":
					ev.payload = c.Value
				}
			}
			for _, ed := range e.Edits {
				ev.edits = append(ev.edits, [2][sha256.Size]byte{sha256.Sum256([]byte(ed.Previous)), sha256.Sum256([]byte(ed.New))})
			}
			out = append(out, ev)
		}
		return out, nil
	}
	return nil, errors.New("no rsmf_manifest.json in rsmf.zip")
}

// compare reports every message whose produced content is not what its
// proven leaf commits to, in the manifest's order, naming the file.
func (c *contentCheck) compare(r *ProductionReport) {
	man := c.man
	if c.datErr != "" {
		r.fail(ProdCheckContent, production.DATFile, "%s", c.datErr)
	}
	for _, p := range c.shared {
		r.fail(ProdCheckContent, production.DATFile, "%s is named as the native of more than one message: each message has its own", p)
	}
	if slices.Contains(man.Formats, "dat") && c.listed[production.DATFile].Path == "" {
		r.fail(ProdCheckContent, production.ManifestFile, "the production's formats include dat, but %s is not in it", production.DATFile)
	}
	hasRSMF := slices.Contains(man.Formats, "rsmf")
	ctrls := map[string]bool{}
	latest := map[string]int{} // conversation, message id → its latest capture's index
	earlier := map[uint64][]int{}
	for i, m := range man.Messages {
		ctrls[m.ControlNumber] = true
		if m.EarlierCaptureOf != 0 {
			earlier[m.EarlierCaptureOf] = append(earlier[m.EarlierCaptureOf], i)
		} else {
			latest[m.ConversationID+"\x00"+m.MessageID] = i
		}
	}
	// nativeOK: the native of message i is the object its leaf proves.
	nativeOK := make([]bool, len(man.Messages))
	for i, m := range man.Messages {
		what := fmt.Sprintf("message %s (seq %d", m.MessageID, m.Seq)
		if m.ControlNumber != "" {
			what += ", " + m.ControlNumber
		}
		what += ")"
		l := c.leaves[i]
		if c.dat == nil {
			continue
		}
		row, ok := c.dat.msgRow[m.ControlNumber]
		if !ok {
			r.fail(ProdCheckContent, production.DATFile, "%s: no DAT row has its control number", what)
			continue
		}
		nativePath := c.datFile(row, "NATIVE_PATH", production.NativeDir+"/"+m.ControlNumber+".json")
		textPath := c.datFile(row, "TEXT_PATH", production.NativeDir+"/"+m.ControlNumber+".txt")
		col := func(name, want string) {
			if got, ok := c.dat.get(row, name); ok && got != want {
				r.fail(ProdCheckContent, production.DATFile, "%s: %s is %q, the proven leaf's is %q", what, name, got, want)
			}
		}
		col("MESSAGE_ID", m.MessageID)
		col("CONVERSATION_ID", m.ConversationID)
		col("LEDGER_SEQ", strconv.FormatUint(m.Seq, 10))
		col("LEAF_HASH", m.LeafHash)
		if p, ok := c.dat.get(row, "PROOF_PATH"); ok && c.resolve(p) != m.Proof {
			r.fail(ProdCheckContent, production.DATFile, "%s: PROOF_PATH %s is not its proof %s", what, p, m.Proof)
		}
		if !l.proven {
			continue // the proof's finding says why
		}
		col("PAYLOAD_SHA256", l.payload.String())
		if l.sent != "" {
			col("DATETIME_SENT_UTC", l.sent)
		}
		if nativePath == "" {
			v, _ := c.dat.get(row, "NATIVE_PATH")
			r.fail(ProdCheckContent, production.DATFile, "%s: NATIVE_PATH %s names no file of the production", what, v)
			continue
		}
		n := c.natives[i]
		switch {
		case !n.read:
			continue // the file check says why
		case n.err != "":
			r.fail(ProdCheckContent, nativePath, "%s: not the message object its leaf proves: %s", what, n.err)
			continue
		case n.payload != l.payload:
			r.fail(ProdCheckContent, nativePath, "%s: its RFC 8785 SHA-256 is %s, the payload_sha256 of the leaf its proof proves is %s: not the content that was captured", what, n.payload, l.payload)
			continue
		case n.id != m.MessageID:
			r.fail(ProdCheckContent, nativePath, "%s: the native is message %s", what, n.id)
			continue
		}
		nativeOK[i] = true
		col("SHA256", n.sum)
		col("DELETED", strconv.FormatBool(n.deleted))
		col("DIRECTION", n.direction)
		if textPath == "" {
			v, _ := c.dat.get(row, "TEXT_PATH")
			r.fail(ProdCheckContent, production.DATFile, "%s: TEXT_PATH %s names no file of the production", what, v)
		} else if t := c.texts[i]; t != nil && *t != n.textSum {
			r.fail(ProdCheckContent, textPath, "%s: not the text of its native %s (the message object its leaf proves)", what, nativePath)
		}
		for _, ar := range c.dat.children[m.ControlNumber] {
			beg, _ := c.dat.get(ar, "BEGDOC")
			awhat := fmt.Sprintf("attachment %s of %s", beg, what)
			for _, name := range []string{"MESSAGE_ID", "CONVERSATION_ID", "LEDGER_SEQ", "LEAF_HASH"} {
				if got, ok := c.dat.get(ar, name); ok {
					if want, _ := c.dat.get(row, name); got != want {
						r.fail(ProdCheckContent, production.DATFile, "%s: %s is %q, its message's %q", awhat, name, got, want)
					}
				}
			}
			sum, _ := c.dat.get(ar, "SHA256")
			if !l.media[sum] {
				r.fail(ProdCheckContent, production.DATFile, "%s: SHA256 %s is no attachment the leaf its proof proves records", awhat, sum)
			}
			if v, ok := c.dat.get(ar, "NATIVE_PATH"); ok {
				if p := c.datFile(ar, "NATIVE_PATH", ""); p == "" {
					r.fail(ProdCheckContent, production.DATFile, "%s: NATIVE_PATH %s names no file of the production", awhat, v)
				} else if c.listed[p].SHA256 != sum {
					r.fail(ProdCheckContent, p, "%s: SHA-256 %s, the DAT's SHA256 %s", awhat, c.listed[p].SHA256, sum)
				}
			}
		}
	}
	if c.dat != nil {
		for beg := range c.dat.msgRow {
			if !ctrls[beg] {
				r.fail(ProdCheckContent, production.DATFile, "row %s: no message the manifest lists has that control number", beg)
			}
		}
	}

	// The RSMF events: one per message (its latest capture), saying what
	// its leaf and, when the DAT carries it, its native say.
	seen := make([]bool, len(man.Messages))
	for fi := range man.Files {
		name := man.Files[fi].Path
		if c.rsmfErr[fi] != "" {
			r.fail(ProdCheckContent, name, "%s", c.rsmfErr[fi])
		}
		for _, ev := range c.events[fi] {
			i, ok := latest[ev.conv+"\x00"+ev.id]
			if !ok {
				r.fail(ProdCheckContent, name, "event %s: no message of conversation %s the manifest lists", ev.id, ev.conv)
				continue
			}
			m := man.Messages[i]
			what := fmt.Sprintf("event %s (seq %d", m.MessageID, m.Seq)
			if m.ControlNumber != "" {
				what += ", DAT " + m.ControlNumber
			}
			what += ")"
			if seen[i] {
				r.fail(ProdCheckContent, name, "%s: a second event of the message", what)
				continue
			}
			seen[i] = true
			field := func(field, got, want string) {
				if got != want {
					r.fail(ProdCheckContent, name, "%s: %s is %q, the proven leaf's is %q", what, field, got, want)
				}
			}
			field("ledger_seq", ev.seq, strconv.FormatUint(m.Seq, 10))
			field("leaf_hash", ev.leafHash, m.LeafHash)
			l := c.leaves[i]
			if !l.proven {
				continue
			}
			field("payload_sha256", ev.payload, l.payload.String())
			if l.sent != "" {
				field("timestamp", ev.timestamp, l.sent)
			}
			if !nativeOK[i] {
				continue // no native to hold it to (RSMF alone), or its own finding
			}
			n := c.natives[i]
			if ev.bodySum != n.textSum {
				r.fail(ProdCheckContent, name, "%s: the body is not the text of its native (the message object its leaf proves)", what)
			}
			field("deleted", strconv.FormatBool(ev.deleted), strconv.FormatBool(n.deleted))
			field("direction", ev.direction, n.direction)
			// Its edits: the text's changes from capture to capture,
			// oldest first, as the natives of its earlier captures say.
			caps := append(append([]int(nil), earlier[m.Seq]...), i)
			var want [][2][sha256.Size]byte
			known := true
			for k := 1; k < len(caps); k++ {
				a, b := caps[k-1], caps[k]
				if !nativeOK[a] || !nativeOK[b] {
					known = false
					break
				}
				if c.natives[a].textSum != c.natives[b].textSum {
					want = append(want, [2][sha256.Size]byte{c.natives[a].textSum, c.natives[b].textSum})
				}
			}
			if known && !equalEdits(ev.edits, want) {
				r.fail(ProdCheckContent, name, "%s: its edits are not the changes of its text from capture to capture (%d edits, its captures' natives give %d)", what, len(ev.edits), len(want))
			}
		}
	}
	if hasRSMF {
		withRSMF := map[string]bool{}
		for _, cv := range man.Conversations {
			withRSMF[cv.ID] = len(cv.RSMF) > 0
		}
		for i, m := range man.Messages {
			if m.EarlierCaptureOf == 0 && !seen[i] && withRSMF[m.ConversationID] {
				r.fail(ProdCheckContent, production.RSMFDir, "message %s (seq %d): no RSMF event", m.MessageID, m.Seq)
			}
		}
	}
}

// resolve is the production file a DAT path names, as datFile resolves
// it; the path itself when it names none.
func (c *contentCheck) resolve(v string) string {
	if p := path.Join(production.DATDir, v); c.listed[p].Path != "" {
		return p
	}
	return v
}

func equalEdits(a, b [][2][sha256.Size]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
