package exportfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// Item is what a file's reader hands over, in file order.
type Item struct {
	Kind    ItemKind
	Msg     Message // ItemMessage
	Problem Problem // ItemProblem
	Conv    string  // ItemCover
}

// ItemKind says what an Item holds.
type ItemKind uint8

// Item kinds.
const (
	ItemMessage ItemKind = iota // an exported message
	ItemProblem                 // a problem with the file itself
	ItemCover                   // the export covers conversation Conv
)

// Problem is what is wrong with a file rather than with a message: a
// finding.FileUnreadable (Detail says why and where), or a
// finding.ValueAltered on field conversation_id when the file's content
// names another conversation than its name does.
type Problem struct {
	Kind           finding.Kind
	ConversationID string
	Field          string
	Expected       string
	Got            string
	File           string
	Detail         string
}

// fileParser turns one file into items.
type fileParser struct {
	cp       *compiled
	format   Format
	maxLine  int
	maxValue int    // Options.MaxValueBytes; 0: the default
	name     string // as shown in findings (Entry.Name)
	rawName  string // as it is, when name escapes it (Entry.RawName): ids are read from it
	pathConv string // from a conversation_id=X path segment
	nameConv string // the conversation id the file's name gives (path segment, or a reshape file's stem)
	emit     func(Item) error
	readers  *readerPool // nil: allocate
	line     *msgBuf     // JSON Lines: the buffer lines are decoded into

	// What detect found: the file is JSON Lines of lines, or metadata of
	// meta, or a document of one of the first ncand of cands (in the order
	// of shapes). An array, not a slice of one: a parser that pointed into
	// itself would escape to the heap.
	lines, meta *shapeFields
	cands       [len(shapes)]*shapeFields
	ncand       int
}

// docShapes are the document shapes detect found.
func (p *fileParser) docShapes() []*shapeFields { return p.cands[:p.ncand] }

// detect asks the shapes — the forced one, or all — how to read the file;
// the strongest claim wins (Detection).
func (p *fileParser) detect() {
	p.lines, p.meta, p.ncand = nil, nil, 0
	forced := p.format != FormatAuto && p.format != ""
	for _, sf := range p.cp.shapes {
		if forced && sf.name != string(p.format) {
			continue
		}
		switch sf.shape.Detect(p.name, &sf.policy, forced) {
		case DetectLines:
			if p.lines == nil {
				p.lines = sf
			}
		case DetectMetadata:
			if p.meta == nil && sf.meta != nil {
				p.meta = sf
			}
		case DetectDocument:
			p.cands[p.ncand] = sf
			p.ncand++
		}
	}
}

const docBufSize = 64 << 10

// readerPool recycles the read buffers of files (a JSON Lines buffer holds
// a whole line, up to MaxLineBytes), which would otherwise be most of the
// garbage of a diff over many small files.
type readerPool struct {
	doc, line sync.Pool
}

func (rp *readerPool) get(r io.Reader, line bool, size int) *bufio.Reader {
	if rp != nil {
		pool := &rp.doc
		if line {
			pool = &rp.line
		}
		if br, ok := pool.Get().(*bufio.Reader); ok && br.Size() == size {
			br.Reset(r)
			return br
		}
	}
	return bufio.NewReaderSize(r, size)
}

func (rp *readerPool) put(br *bufio.Reader, line bool) {
	if rp == nil {
		return
	}
	br.Reset(nil)
	if line {
		rp.line.Put(br)
	} else {
		rp.doc.Put(br)
	}
}

// maxPending bounds the messages a document holds back until its
// conversation id is known (no conversation_id= folder, and the id's key,
// if any, after the messages): each costs several hundred bytes however
// short in the file, so a hostile file of empty objects would otherwise
// cost memory hundreds of times its size.
const maxPending = 50_000

// errStop ends a file's parse after a fatal problem already reported.
var errStop = errors.New("stop")

func (p *fileParser) unreadable(conv, format string, args ...any) error {
	return p.emit(Item{Kind: ItemProblem, Problem: Problem{
		Kind: finding.FileUnreadable, ConversationID: conv, File: p.name, Detail: fmt.Sprintf(format, args...),
	}})
}

func (p *fileParser) cover(conv string) error {
	if conv == "" {
		return nil
	}
	return p.emit(Item{Kind: ItemCover, Conv: conv})
}

// idName is the name the file's conversation id is read from: the raw
// name, never the displayed one (a folder conversation_id=x<LF>y names
// the conversation "x\ny" with a line feed, not a backslash and an n).
func (p *fileParser) idName() string {
	if p.rawName != "" {
		return p.rawName
	}
	return p.name
}

// convFromPath finds a Genesys-layout "conversation_id=X" path segment
// (the first, if several).
func convFromPath(name string) string {
	first, _ := convsFromPath(name)
	return first
}

// convsFromPath is convFromPath, and the id of a later conversation_id=
// segment that names another conversation, if one does.
func convsFromPath(name string) (first, other string) {
	for seg := range strings.SplitSeq(name, "/") {
		v, ok := strings.CutPrefix(seg, "conversation_id=")
		switch {
		case !ok || v == "":
		case first == "":
			first = v
		case v != first:
			return first, v
		}
	}
	return first, ""
}

// parse reads one file. Problems in the file are reported as findings; the
// returned error is only for cancellation (or a failing emit).
func (p *fileParser) parse(r io.Reader) error { return p.parseWith(r, true) }

// parseWith reads one file, through the fast paths of fast.go when
// fast is set. With fast unset it is the reference: encoding/json only,
// which the fast paths must agree with item for item (FuzzFastPath).
func (p *fileParser) parseWith(r io.Reader, fast bool) error {
	var other string
	p.pathConv, other = convsFromPath(p.idName())
	p.nameConv = p.pathConv
	p.detect()
	if err := p.cover(p.pathConv); err != nil {
		return err
	}
	if other != "" {
		// conversation_id=A/…/conversation_id=B/: the file is read as A's,
		// and the contradiction is said, as one between name and body is.
		err := p.emit(Item{Kind: ItemProblem, Problem: Problem{
			Kind: finding.ValueAltered, ConversationID: p.pathConv, Field: finding.FieldConversationID,
			Expected: p.pathConv, Got: other, File: p.name,
			Detail: "the file's path names two conversations: it is read as the first's",
		}})
		if err != nil {
			return err
		}
	}
	var err error
	switch {
	case p.lines != nil:
		br := p.readers.get(r, true, p.maxLine+2)
		defer p.readers.put(br, true)
		err = p.jsonl(br, fast)
	default:
		if fast {
			// The fast path peeks at the whole file; should the peek
			// meet a read error, the reference must meet it again.
			r = &stickyReader{r: r}
		}
		br := p.readers.get(r, false, docBufSize)
		defer p.readers.put(br, false)
		if err = p.sniff(br); err == nil {
			done := false
			if fast {
				done, err = p.fastDocument(br)
			}
			switch {
			case done:
			case p.meta != nil:
				err = p.metadata(br)
			default:
				err = p.document(br)
			}
		}
	}
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// sniff skips a UTF-8 BOM and checks that a JSON object starts the file.
func (p *fileParser) sniff(br *bufio.Reader) error {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	for {
		if _, err := br.Peek(1); err == io.EOF {
			if err := p.unreadable(p.pathConv, "empty file: no JSON document"); err != nil {
				return err
			}
			return errStop
		} else if err != nil {
			return p.readFailed(err)
		}
		b, _ := br.Peek(br.Buffered())
		i := jsonscan.Space(b, 0)
		br.Discard(i)
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '{':
			return nil
		case '[':
			if err := p.unreadable(p.pathConv, "top-level JSON array: not a known shape (JSON Lines files need a .jsonl name or --format jsonl)"); err != nil {
				return err
			}
			return errStop
		default:
			if err := p.unreadable(p.pathConv, "not JSON: starts with byte 0x%02x", c); err != nil {
				return err
			}
			return errStop
		}
	}
}

func (p *fileParser) readFailed(err error) error {
	if e := p.unreadable(p.pathConv, "read failed: %v", err); e != nil {
		return e
	}
	return errStop
}

// decoder returns a json.Decoder over br that holds at most maxValue
// bytes of one value at a time (valueLimit).
func (p *fileParser) decoder(br *bufio.Reader) *json.Decoder {
	max := p.maxValue
	if max <= 0 {
		max = DefaultMaxValueBytes
	}
	vl := &valueLimit{r: br, max: int64(max)}
	vl.dec = json.NewDecoder(vl)
	return vl.dec
}

// syntaxFailed reports a parse error with its position and stops the file.
func (p *fileParser) syntaxFailed(conv string, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	var detail string
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		detail = fmt.Sprintf("truncated: JSON ends early at byte %d", dec.InputOffset())
	case errors.As(err, &se):
		detail = fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, ErrFileTooLarge):
		detail = err.Error()
	case errors.Is(err, ErrValueTooLarge):
		max := p.maxValue
		if max <= 0 {
			max = DefaultMaxValueBytes
		}
		if onlySpace(dec.Buffered()) { // no value: the decoder was looking for the next one
			detail = fmt.Sprintf("white space too long: the run at byte %d is longer than %d bytes (the limit of a JSON value): read no further", dec.InputOffset(), max)
		} else {
			detail = fmt.Sprintf("%v: the value at byte %d is larger than %d bytes: read no further", ErrValueTooLarge, dec.InputOffset(), max)
		}
	default: // the reader failed: a network or disk error
		detail = fmt.Sprintf("read failed at byte %d: %v", dec.InputOffset(), err)
	}
	if e := p.unreadable(conv, "%s", detail); e != nil {
		return e
	}
	return errStop
}

// onlySpace reports whether r holds JSON white space alone (a decoder's
// unread input, which may be a whole value limit's worth).
func onlySpace(r io.Reader) bool {
	var buf [4096]byte
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
		}
		if err != nil {
			return true
		}
	}
}

// metadata checks a Genesys `_metadata.json` companion: it must be a JSON
// object; a conversation id in it must agree with the folder's.
func (p *fileParser) metadata(br *bufio.Reader) error {
	dec := p.decoder(br)
	obj := p.meta.meta.new()
	obj.reset()
	if err := dec.Decode(obj.target); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if e := p.unreadable(p.pathConv, "metadata is not a JSON object"); e != nil {
				return e
			}
			return errStop
		}
		return p.syntaxFailed(p.pathConv, dec, err)
	}
	if err := p.trailing(dec, p.pathConv); err != nil {
		return err
	}
	if obj.null() {
		return p.unreadable(p.pathConv, "metadata is not a JSON object")
	}
	return p.metadataConv(obj)
}

// metadataConv checks the conversation id of a decoded metadata object.
func (p *fileParser) metadataConv(obj *msgBuf) error {
	for _, k := range p.meta.conv {
		v, dup, ok := lookupMsg(obj, k)
		if !ok {
			continue
		}
		if dup != nil {
			return p.unreadable(p.pathConv, "metadata: %s", conflict(strings.Join(k, ".")))
		}
		if bad := badText(v); bad != "" {
			return p.unreadable(p.pathConv, "metadata: %s: %s", strings.Join(k, "."), bad)
		}
		id, good := idString(v)
		if !good {
			return p.unreadable(p.pathConv, "metadata: %s is a JSON %s", strings.Join(k, "."), jsonType(v))
		}
		if err := p.conversationMismatch(id); err != nil {
			return err
		}
		if p.pathConv == "" {
			return p.cover(id)
		}
		break
	}
	return nil
}

// bodyConversation reads the value v of a document's conversation id key
// (the fast path and the reference both call it): the first usable id is
// the file's (*bodyConv). One that is not valid text, or a later one that
// differs from the first, is a value_altered finding on conversation_id:
// never read as U+FFFD, never last-wins.
func (p *fileParser) bodyConversation(v []byte, bodyConv *string) error {
	problem := func(expected, got, detail string) error {
		conv := p.nameConv
		if conv == "" {
			conv = *bodyConv
		}
		return p.emit(Item{Kind: ItemProblem, Problem: Problem{
			Kind: finding.ValueAltered, ConversationID: conv, Field: finding.FieldConversationID,
			Expected: expected, Got: got, File: p.name, Detail: detail,
		}})
	}
	if bad := badText(v); bad != "" {
		return problem(*bodyConv, escapeText(v), "the file's conversation id: "+bad)
	}
	id, ok := idString(v)
	switch {
	case !ok:
		return nil
	case *bodyConv == "":
		*bodyConv = id
		return p.conversationMismatch(id)
	case id != *bodyConv:
		return problem(*bodyConv, id, "the file gives its conversation id more than once, with different values: the first is used")
	}
	return nil
}

// conversationMismatch reports a body conversation id that contradicts the path.
func (p *fileParser) conversationMismatch(bodyConv string) error {
	if p.nameConv == "" || bodyConv == "" || bodyConv == p.nameConv {
		return nil
	}
	return p.emit(Item{Kind: ItemProblem, Problem: Problem{
		Kind: finding.ValueAltered, ConversationID: p.nameConv, Field: finding.FieldConversationID,
		Expected: p.nameConv, Got: bodyConv, File: p.name,
		Detail: "the file's conversation id contradicts its name",
	}})
}

// trailing checks that nothing but white space follows the document.
func (p *fileParser) trailing(dec *json.Decoder, conv string) error {
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return p.syntaxFailed(conv, dec, err)
		}
		if e := p.unreadable(conv, "trailing data after the JSON document at byte %d", dec.InputOffset()); e != nil {
			return e
		}
		return errStop
	}
	return nil
}

// document streams a Genesys recording file or a customer reshape: a JSON
// object whose messages array is decoded one element at a time.
func (p *fileParser) document(br *bufio.Reader) error {
	dec := p.decoder(br)
	if _, err := dec.Token(); err != nil { // '{', checked by sniff
		return p.syntaxFailed(p.pathConv, dec, err)
	}
	var (
		sf       *shapeFields
		bodyConv string
		conv     = p.pathConv // the id messages are attributed to
		pending  []Message    // messages read before their conversation id is known
		flushed  bool
	)
	candidates := p.docShapes()
	// flush settles the conversation id and hands over buffered messages.
	flush := func(final bool) error {
		if flushed || sf == nil {
			return nil
		}
		if conv == "" {
			conv = bodyConv
		}
		if conv == "" {
			if !final {
				return nil
			}
			flushed = true
			if len(pending) == 0 {
				return nil
			}
			return p.unreadable("", "%d messages with no conversation id (no conversation_id= folder, no %s key)", len(pending), strings.Join(p.cp.docConvKeys, " or "))
		}
		flushed = true
		if err := p.cover(conv); err != nil {
			return err
		}
		for i := range pending {
			pending[i].Conv = conv
			if err := p.emit(Item{Kind: ItemMessage, Msg: pending[i]}); err != nil {
				return err
			}
		}
		pending = nil
		return nil
	}
	fail := func(err error) error {
		if e := flush(true); e != nil {
			return e
		}
		c := conv
		if c == "" {
			c = bodyConv
		}
		return p.syntaxFailed(c, dec, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := tok.(string)
		switch shape := matchShape(candidates, key); {
		case shape != nil && sf == nil:
			sf = shape
			if conv == "" {
				conv = bodyConv
			}
			if conv == "" {
				// A file named after its conversation (a reshape):
				// attribute messages to the name now and report a
				// contradicting conversation id that comes later,
				// rather than buffer.
				if nc := sf.shape.NameConversation(p.idName()); nc != "" {
					conv = nc
					p.nameConv = conv
				}
			}
			if err := p.messages(dec, sf, &conv, &pending, flush, fail); err != nil {
				return err
			}
		case shape != nil:
			if err := p.unreadable(conv, "second message array %q ignored: the %q array was read", key, sf.msgKey); err != nil {
				return err
			}
			if err := jsonscan.SkipValue(dec); err != nil {
				return fail(err)
			}
		case p.isDocConvKey(key):
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return fail(err)
			}
			if err := p.bodyConversation(v, &bodyConv); err != nil {
				return err
			}
		default:
			if err := jsonscan.SkipValue(dec); err != nil {
				return fail(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if sf == nil {
		keys := []string{}
		for _, s := range candidates {
			keys = append(keys, s.msgKey)
		}
		return p.unreadable(p.pathConv, "no message array (%s): not a known shape", strings.Join(keys, " or "))
	}
	if err := flush(true); err != nil {
		return err
	}
	return p.trailing(dec, conv)
}

// messages decodes the elements of a messages array.
func (p *fileParser) messages(dec *json.Decoder, sf *shapeFields, conv *string, pending *[]Message, flush func(bool) error, fail func(error) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		if e := p.unreadable(*conv, "%q is not an array", sf.msgKey); e != nil {
			return e
		}
		return errStop
	}
	if *conv != "" {
		if err := flush(false); err != nil {
			return err
		}
	}
	obj := sf.msg.new()
	for i := 0; dec.More(); i++ {
		obj.reset()
		if err := dec.Decode(obj.target); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				if e := p.unreadable(*conv, "%s[%d]: a JSON %s, not a message object", sf.msgKey, i, te.Value); e != nil {
					return e
				}
				continue
			}
			return fail(err)
		}
		if obj.null() {
			if e := p.unreadable(*conv, "%s[%d]: a JSON null, not a message object", sf.msgKey, i); e != nil {
				return e
			}
			continue
		}
		r := p.record(obj, sf, i)
		if *conv == "" {
			if len(*pending) == maxPending {
				if e := p.unreadable("", "more than %d messages before any conversation id (no conversation_id= folder, no %s key before them): not read", maxPending, strings.Join(p.cp.docConvKeys, " or ")); e != nil {
					return e
				}
				*pending = nil
				return errStop
			}
			*pending = append(*pending, r)
			continue
		}
		r.Conv = *conv
		if err := p.emit(Item{Kind: ItemMessage, Msg: r}); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fail(err)
	}
	return nil
}

// record extracts element i of a document's messages array.
func (p *fileParser) record(obj *msgBuf, sf *shapeFields, i int) Message {
	r := makeMessage(obj, sf)
	r.File = p.name
	r.Array, r.Pos = sf.msgKey, i
	return r
}

func matchShape(cands []*shapeFields, key string) *shapeFields {
	for _, s := range cands {
		if s.msgKey == key {
			return s
		}
	}
	return nil
}

func (p *fileParser) isDocConvKey(key string) bool {
	for _, k := range p.cp.docConvKeys {
		if k == key {
			return true
		}
	}
	return false
}

// jsonl reads one message object per line; a bad or over-long line is a
// finding and the next line is read.
func (p *fileParser) jsonl(br *bufio.Reader, fast bool) error {
	sf := p.lines
	var fl *fastLine // nil: the reference decodes every line
	if fast {
		fl = newFastLine(sf.msg)
	}
	lastConv := ""
	seen := 0 // non-blank lines
	empty := func() error {
		if seen > 0 {
			return nil
		}
		return p.unreadable(p.pathConv, "empty file: no JSON lines")
	}
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			n := len(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				n += len(line)
			}
			seen++
			if e := p.unreadable("", "line %d: longer than %d bytes (%d+): skipped", lineNo, p.maxLine, n); e != nil {
				return e
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return p.readFailed(err)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return p.readFailed(err)
		}
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			seen++
			if e := p.jsonlLine(sf, t, lineNo, &lastConv, fl); e != nil {
				return e
			}
		}
		if err == io.EOF {
			return empty()
		}
	}
}

func (p *fileParser) jsonlLine(sf *shapeFields, line []byte, lineNo int, lastConv *string, fl *fastLine) error {
	if obj := fl.decode(line); obj != nil {
		return p.lineRecord(sf, obj, lineNo, lastConv)
	}
	if p.line == nil {
		p.line = sf.msg.new()
	}
	obj := p.line
	obj.reset()
	if err := json.Unmarshal(line, obj.target); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return p.unreadable("", "line %d: a JSON %s, not a message object", lineNo, te.Value)
		case errors.As(err, &se):
			return p.unreadable("", "line %d: invalid JSON at byte %d: %v", lineNo, se.Offset, err)
		default:
			return p.unreadable("", "line %d: %v", lineNo, err)
		}
	}
	if obj.null() {
		return p.unreadable("", "line %d: a JSON null, not a message object", lineNo)
	}
	return p.lineRecord(sf, obj, lineNo, lastConv)
}

// lineRecord hands over the message of a decoded line.
func (p *fileParser) lineRecord(sf *shapeFields, obj *msgBuf, lineNo int, lastConv *string) error {
	r := makeMessage(obj, sf)
	r.File = p.name
	r.Pos = lineNo
	if v, dup, key, ok := lookupMsgAny(obj, sf.conv); ok {
		r.messageConv(v, dup, key)
	}
	if r.Conv == "" {
		r.Conv = p.pathConv
	}
	if r.Conv != "" && r.Conv != *lastConv {
		*lastConv = r.Conv
		if err := p.cover(r.Conv); err != nil {
			return err
		}
	}
	return p.emit(Item{Kind: ItemMessage, Msg: r})
}
