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

// UncheckedRSMFBodies is what verify --production says it left unchecked
// of an RSMF-only production (the default --format): each event's ledger
// fields and time are held to its proof, but the leaf commits to the
// whole API object, which only a DAT's JSON native carries.
const UncheckedRSMFBodies = "RSMF event bodies (and deleted, direction, edits) are not checked against the proofs: an RSMF-only production carries no native, the API object each proven leaf's payload_sha256 commits to; produce with --format both to have the natives, and the bodies through them, checked"

// maxNative bounds what is read whole of a JSON or text native: an API
// message object is a few KB; a larger file is a finding, not memory.
const maxNative = 16 << 20

// maxHeldZip is the largest rsmf.zip decoded into memory; a larger one
// (attachments) goes to a temporary file, removed at once.
const maxHeldZip = 32 << 20

// datCols are a DAT's columns, by name: the index of each in a row.
type datCols map[string]int

func (cols datCols) get(row []string, name string) (string, bool) {
	i, ok := cols[name]
	if !ok {
		return "", false
	}
	return row[i], true
}

// scanDAT reads a DAT as produce writes it (docs/produce.md, "DAT and
// OPT") through production.DATReader, a record at a time, and calls each
// with every row's fields, valid only during the call: the DAT is never
// held whole (a production of 23,000 messages has a DAT of 17 MB, which
// parsing whole held three times over, and its rows until the end).
func scanDAT(r io.Reader, each func(cols datCols, row []string) error) error {
	d, err := production.NewDATReader(r)
	if err != nil {
		return err
	}
	cols := make(datCols, len(d.Header()))
	for j, name := range d.Header() {
		cols[name] = j
	}
	if _, ok := cols["BEGDOC"]; !ok {
		return errors.New("no BEGDOC column")
	}
	for {
		row, err := d.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := each(cols, row); err != nil {
			return err
		}
	}
}

// nativeFacts are what a message's JSON native says, as produce derives
// its other renderings from it.
type nativeFacts struct {
	read      bool
	err       string // it does not decode as a message object
	payload   hashchain.Hash
	sum       [sha256.Size]byte // of the file
	otherID   string            // the message id, when not the manifest's (else "")
	textSum   [sha256.Size]byte // of genesys.MessageText
	deleted   bool
	direction string // "incoming" or "outgoing"
}

// leafFacts are what a message's proven leaf says.
type leafFacts struct {
	proven  bool
	payload hashchain.Hash
	sent    string // its compliance original_timestamp, as produce writes times
	media   []string
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
	listed fileSet
	// The DAT, read twice a record at a time and never held: first, as
	// the file pass hashes it, for where each message's natives are;
	// then, once the natives are read and the proofs checked, to hold
	// each row to them. datOK: the first reading found it well formed.
	datOK  bool
	datErr string
	// The DAT's hash and size, taken in the first reading (the file
	// pass takes them rather than read it again), or why it could not be
	// read (datHashed: it was read).
	datHashed  bool
	datSum     [sha256.Size]byte
	datSize    int64
	datReadErr error
	// ctrlIdx is the manifest's message of each control number; rowSeen
	// which have a message row; extraRows the message rows' control
	// numbers no message has, in the DAT's order.
	ctrlIdx   map[string]int
	rowSeen   []bool
	extraRows []string
	// role of a listed file the file pass parses, by man.Files index: a
	// message's JSON or text native (index into man.Messages; -1 when
	// not), or an .rsmf file.
	nativeOf, textOf []int32
	natives          []nativeFacts
	texts            []*[sha256.Size]byte
	leaves           []leafFacts
	shared           []string      // natives two DAT rows name
	events           [][]rsmfEvent // by man.Files index
	rsmfErr          []string      // by man.Files index
}

// newContentCheck reads the DAT (when the production has one) to learn
// where each message's natives are.
func newContentCheck(root *os.Root, man *production.Manifest, listed fileSet) *contentCheck {
	c := &contentCheck{man: man, listed: listed, nativeOf: noRoles(len(man.Files)), textOf: noRoles(len(man.Files)),
		natives: make([]nativeFacts, len(man.Messages)), texts: make([]*[sha256.Size]byte, len(man.Messages)),
		leaves: make([]leafFacts, len(man.Messages)), events: make([][]rsmfEvent, len(man.Files)), rsmfErr: make([]string, len(man.Files))}
	if !listed.has(production.DATFile) {
		return c
	}
	// Parsed as it is hashed, a record at a time: the file pass takes
	// its hash rather than read it again.
	c.datHashed = true
	f, err := openRegular(root, production.DATFile)
	if err != nil {
		c.datErr, c.datReadErr = err.Error(), err
		return c
	}
	c.ctrlIdx, c.rowSeen = make(map[string]int, len(man.Messages)), make([]bool, len(man.Messages))
	for i, m := range man.Messages {
		if _, dup := c.ctrlIdx[m.ControlNumber]; !dup {
			c.ctrlIdx[m.ControlNumber] = i
		}
	}
	// Each native is one message's: a file two rows name would be read
	// for one of them only.
	claim := func(m []int32, p string, i int) {
		f, ok := listed.index(p)
		if !ok {
			return
		}
		if c.nativeOf[f] >= 0 || c.textOf[f] >= 0 {
			c.shared = append(c.shared, p)
			return
		}
		m[f] = int32(i)
	}
	extra := map[string]bool{}
	h := sha256.New()
	cr := &countReader{r: io.TeeReader(f, h)}
	err = scanDAT(cr, func(cols datCols, row []string) error {
		if parent, _ := cols.get(row, "PARENT_DOCID"); parent != "" {
			return nil
		}
		beg, _ := cols.get(row, "BEGDOC")
		k, ok := c.ctrlIdx[beg]
		switch {
		case ok && c.rowSeen[k], !ok && extra[beg]:
			return fmt.Errorf("control number %s has two message rows", beg)
		case !ok:
			beg = strings.Clone(beg)
			extra[beg] = true
			c.extraRows = append(c.extraRows, beg)
			return nil
		}
		c.rowSeen[k] = true
		ctrl := man.Messages[k].ControlNumber
		claim(c.nativeOf, c.datFile(cols, row, "NATIVE_PATH", production.NativeDir+"/"+ctrl+".json"), k)
		claim(c.textOf, c.datFile(cols, row, "TEXT_PATH", production.NativeDir+"/"+ctrl+".txt"), k)
		return nil
	})
	if _, rerr := io.Copy(io.Discard, cr); rerr != nil { // the rest, hashed
		c.datReadErr = rerr
	}
	f.Close()
	copy(c.datSum[:], h.Sum(nil))
	c.datSize = cr.n
	if err != nil {
		// Not read for the content check: its natives are only hashed.
		c.datErr = err.Error()
		c.nativeOf, c.textOf, c.shared, c.extraRows = noRoles(len(man.Files)), noRoles(len(man.Files)), nil, nil
		clear(c.rowSeen)
		return c
	}
	c.datOK = true
	return c
}

// noRoles is a role for each of n files: none.
func noRoles(n int) []int32 {
	r := make([]int32, n)
	for i := range r {
		r[i] = -1
	}
	return r
}

// datFile is the production file a DAT path column of row names: a
// path relative to dat/, as loaders resolve it, or (productions made
// before) relative to the production's root; "" when it names no listed
// file. Without the column, def.
func (c *contentCheck) datFile(cols datCols, row []string, column, def string) string {
	v, ok := cols.get(row, column)
	if !ok {
		return def
	}
	// The manifest's own string: neither the join nor the row is kept.
	if p := c.listed.get(path.Join(production.DATDir, v)).Path; p != "" {
		return p
	}
	return c.listed.get(v).Path
}

// read is the file pass's reading of listed file i: a native or text
// native read whole and judged, an .rsmf file parsed as it is hashed,
// any other file hashed.
func (c *contentCheck) read(root *os.Root, i int) ([sha256.Size]byte, int64, error) {
	name := c.man.Files[i].Path
	if name == production.DATFile && c.datHashed {
		return c.datSum, c.datSize, c.datReadErr
	}
	if k := int(c.nativeOf[i]); k >= 0 {
		buf := nativeBufs.Get().(*[]byte)
		defer nativeBufs.Put(buf)
		b, err := readNative(root, name, c.man.Files[i].Size, buf)
		if err != nil {
			return [sha256.Size]byte{}, 0, err
		}
		sum := sha256.Sum256(b)
		n := &c.natives[k]
		n.read, n.sum = true, sum
		md, payload, err := derive.DecodeMessage(b)
		if err != nil {
			n.err = err.Error()
		} else {
			n.payload = payload
			if md.ID != c.man.Messages[k].MessageID {
				n.otherID = strings.Clone(md.ID) // md may point into buf
			}
			n.textSum = sha256.Sum256([]byte(genesys.MessageText(md)))
			n.direction = rsmfDirection(md.Direction)
			if nm := md.NormalizedMessage; nm != nil && nm.Channel != nil {
				n.deleted = nm.Channel.DateDeleted != ""
			}
		}
		return sum, int64(len(b)), nil
	}
	if k := int(c.textOf[i]); k >= 0 {
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
	l := leafFacts{proven: true, payload: e.PayloadSHA256}
	if e.Compliance != nil {
		if t, _, err := genesys.ParseTimestamp(e.Compliance.OriginalTimestamp); err == nil {
			l.sent = genesys.FormatMillis(t)
		}
	}
	if d, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
		if md, ok := d.(*leaf.MessageDetail); ok {
			for _, ref := range md.Media {
				if ref.Evidence != "" {
					l.media = append(l.media, ref.Evidence)
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
	// Every entry a single safe file name: a reviewer extracts rsmf.zip,
	// and an entry named ../x, /x or ..\x would be written outside the
	// folder (zip slip). Produce names attachments by their SHA-256 and
	// type; productions made before, by id and sender's name made safe
	// (production.SafeName), which pass too.
	for _, zf := range zr.File {
		if strings.Contains(zf.Name, "/") || production.ValidPath(zf.Name) != nil {
			return nil, fmt.Errorf("rsmf.zip entry %q: not a safe file name (unzipped, it could be written outside the folder)", zf.Name)
		}
	}
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
func (c *contentCheck) compare(root *os.Root, r *ProductionReport) {
	man := c.man
	if c.datErr != "" {
		r.fail(ProdCheckContent, production.DATFile, "%s", c.datErr)
	}
	for _, p := range c.shared {
		r.fail(ProdCheckContent, production.DATFile, "%s is named as the native of more than one message: each message has its own", p)
	}
	if slices.Contains(man.Formats, "dat") && c.listed.get(production.DATFile).Path == "" {
		r.fail(ProdCheckContent, production.ManifestFile, "the production's formats include dat, but %s is not in it", production.DATFile)
	}
	hasRSMF := slices.Contains(man.Formats, "rsmf")
	latest := map[string]int{} // conversation, message id → its latest capture's index
	earlier := map[uint64][]int{}
	for i, m := range man.Messages {
		if m.EarlierCaptureOf != 0 {
			earlier[m.EarlierCaptureOf] = append(earlier[m.EarlierCaptureOf], i)
		} else {
			latest[m.ConversationID+"\x00"+m.MessageID] = i
		}
	}
	if hasRSMF && len(man.Messages) > 0 && c.listed.get(production.DATFile).Path == "" {
		r.Unchecked = append(r.Unchecked, UncheckedRSMFBodies)
	}
	// nativeOK: the native of message i is the object its leaf proves.
	nativeOK := make([]bool, len(man.Messages))
	if c.datOK {
		c.compareDAT(root, r, nativeOK)
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

// what names manifest message m in a finding.
func messageWhat(m production.Message) string {
	what := fmt.Sprintf("message %s (seq %d", m.MessageID, m.Seq)
	if m.ControlNumber != "" {
		what += ", " + m.ControlNumber
	}
	return what + ")"
}

// compareDAT reads the DAT again, a record at a time, and holds each row
// to its message's proven leaf and native as it is read (nothing of it
// kept), in the DAT's order (produce's: the manifest's); then says which
// messages have no row, and which rows no message. The reading is
// hashed: a DAT that changed since the file pass hashed it is a finding.
func (c *contentCheck) compareDAT(root *os.Root, r *ProductionReport, nativeOK []bool) {
	man := c.man
	f, err := openRegular(root, production.DATFile)
	if err != nil {
		r.fail(ProdCheckContent, production.DATFile, "read again: %v", err)
		return
	}
	defer f.Close()
	h := sha256.New()
	err = scanDAT(io.TeeReader(f, h), func(cols datCols, row []string) error {
		get := func(name string) (string, bool) { return cols.get(row, name) }
		if parent, _ := get("PARENT_DOCID"); parent != "" {
			if k, ok := c.ctrlIdx[parent]; ok && c.rowSeen[k] {
				c.compareAttachment(r, cols, row, k)
			}
			return nil
		}
		beg, _ := get("BEGDOC")
		i, ok := c.ctrlIdx[beg]
		if !ok {
			return nil // said below
		}
		m := man.Messages[i]
		what := messageWhat(m)
		l := c.leaves[i]
		nativePath := c.datFile(cols, row, "NATIVE_PATH", production.NativeDir+"/"+m.ControlNumber+".json")
		textPath := c.datFile(cols, row, "TEXT_PATH", production.NativeDir+"/"+m.ControlNumber+".txt")
		col := func(name, want string) {
			if got, ok := get(name); ok && got != want {
				r.fail(ProdCheckContent, production.DATFile, "%s: %s is %q, the proven leaf's is %q", what, name, got, want)
			}
		}
		col("MESSAGE_ID", m.MessageID)
		col("CONVERSATION_ID", m.ConversationID)
		col("LEDGER_SEQ", strconv.FormatUint(m.Seq, 10))
		col("LEAF_HASH", m.LeafHash)
		if p, ok := get("PROOF_PATH"); ok && c.resolve(p) != m.Proof {
			r.fail(ProdCheckContent, production.DATFile, "%s: PROOF_PATH %s is not its proof %s", what, p, m.Proof)
		}
		if !l.proven {
			return nil // the proof's finding says why
		}
		col("PAYLOAD_SHA256", l.payload.String())
		if l.sent != "" {
			col("DATETIME_SENT_UTC", l.sent)
		}
		if nativePath == "" {
			v, _ := get("NATIVE_PATH")
			r.fail(ProdCheckContent, production.DATFile, "%s: NATIVE_PATH %s names no file of the production", what, v)
			return nil
		}
		n := c.natives[i]
		switch {
		case !n.read:
			return nil // the file check says why
		case n.err != "":
			r.fail(ProdCheckContent, nativePath, "%s: not the message object its leaf proves: %s", what, n.err)
			return nil
		case n.payload != l.payload:
			r.fail(ProdCheckContent, nativePath, "%s: its RFC 8785 SHA-256 is %s, the payload_sha256 of the leaf its proof proves is %s: not the content that was captured", what, n.payload, l.payload)
			return nil
		case n.otherID != "":
			r.fail(ProdCheckContent, nativePath, "%s: the native is message %s", what, n.otherID)
			return nil
		}
		nativeOK[i] = true
		col("SHA256", hex.EncodeToString(n.sum[:]))
		col("DELETED", strconv.FormatBool(n.deleted))
		col("DIRECTION", n.direction)
		if textPath == "" {
			v, _ := get("TEXT_PATH")
			r.fail(ProdCheckContent, production.DATFile, "%s: TEXT_PATH %s names no file of the production", what, v)
		} else if t := c.texts[i]; t != nil && *t != n.textSum {
			r.fail(ProdCheckContent, textPath, "%s: not the text of its native %s (the message object its leaf proves)", what, nativePath)
		}
		return nil
	})
	if err == nil {
		_, err = io.Copy(io.Discard, io.TeeReader(f, h))
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	switch {
	case err != nil:
		r.fail(ProdCheckContent, production.DATFile, "read again: %v", err)
	case sum != c.datSum:
		r.fail(ProdCheckContent, production.DATFile, "changed while it was verified: SHA-256 %x, %x before", sum, c.datSum)
	}
	for i, m := range man.Messages {
		if !c.rowSeen[i] {
			r.fail(ProdCheckContent, production.DATFile, "%s: no DAT row has its control number", messageWhat(m))
		}
	}
	for _, beg := range c.extraRows {
		r.fail(ProdCheckContent, production.DATFile, "row %s: no message the manifest lists has that control number", beg)
	}
}

// compareAttachment holds an attachment row of manifest message k to its
// message (the manifest's, which its message row is held to) and to the
// media the message's proven leaf records.
func (c *contentCheck) compareAttachment(r *ProductionReport, cols datCols, row []string, k int) {
	m := c.man.Messages[k]
	l := c.leaves[k]
	if !l.proven {
		return // the proof's finding says why
	}
	beg, _ := cols.get(row, "BEGDOC")
	awhat := fmt.Sprintf("attachment %s of %s", beg, messageWhat(m))
	for _, f := range [...]struct{ name, want string }{{"MESSAGE_ID", m.MessageID}, {"CONVERSATION_ID", m.ConversationID},
		{"LEDGER_SEQ", strconv.FormatUint(m.Seq, 10)}, {"LEAF_HASH", m.LeafHash}} {
		if got, ok := cols.get(row, f.name); ok && got != f.want {
			r.fail(ProdCheckContent, production.DATFile, "%s: %s is %q, its message's %q", awhat, f.name, got, f.want)
		}
	}
	sum, _ := cols.get(row, "SHA256")
	if !slices.Contains(l.media, sum) {
		r.fail(ProdCheckContent, production.DATFile, "%s: SHA256 %s is no attachment the leaf its proof proves records", awhat, sum)
	}
	if v, ok := cols.get(row, "NATIVE_PATH"); ok {
		if p := c.datFile(cols, row, "NATIVE_PATH", ""); p == "" {
			r.fail(ProdCheckContent, production.DATFile, "%s: NATIVE_PATH %s names no file of the production", awhat, v)
		} else if c.listed.get(p).SHA256 != sum {
			r.fail(ProdCheckContent, p, "%s: SHA-256 %s, the DAT's SHA256 %s", awhat, c.listed.get(p).SHA256, sum)
		}
	}
}

// resolve is the production file a DAT path names, as datFile resolves
// it; the path itself when it names none.
func (c *contentCheck) resolve(v string) string {
	if p := path.Join(production.DATDir, v); c.listed.get(p).Path != "" {
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
