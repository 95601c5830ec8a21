package exportfile

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// The fast paths read the common file without encoding/json: a document
// (Genesys recording, reshape, _metadata.json) that fits the read buffer,
// and each JSON Lines line. They read through internal/jsonscan, the
// project's one strict JSON scanner, walking the bytes once and putting
// the raw value of each key the policy asks for into the same message
// buffer encoding/json fills, so the records come from the same code
// (makeMessage) either way. Anything unusual — anything jsonscan refuses
// (a syntax error, invalid UTF-8, a lone surrogate escape in a key),
// a key encoding/json would match only case-insensitively, a message that
// is not an object, a file larger than the buffer — makes the fast path
// give up before it has emitted anything, and the reference parser reads
// the input instead: findings about broken files always come from the
// reference. FuzzFastPath holds the two to the same items.

// fastKeys are the JSON names of a message type's fields, as
// encoding/json matches them.
type fastKeys struct {
	ok    bool // every field is named by its key as written
	names [][]byte
	ascii bool // every name is ASCII
}

var fastKeysCache sync.Map // reflect.Type → *fastKeys

// fieldKeys returns the names of mt's fields. It is cached by the struct type,
// which reflect.StructOf itself never releases.
func fieldKeys(mt *msgType) *fastKeys {
	if k, ok := fastKeysCache.Load(mt.typ); ok {
		return k.(*fastKeys)
	}
	fk := &fastKeys{ok: true, ascii: true}
	for i := range mt.typ.NumField() {
		name := mt.typ.Field(i).Tag.Get("json")
		// encoding/json names the field by its tag only when the tag is
		// a valid name without options; "-" drops the field.
		if !plainTag(name) {
			fk.ok = false
		}
		for j := range len(name) {
			if name[j] >= utf8.RuneSelf {
				fk.ascii = false
			}
		}
		fk.names = append(fk.names, []byte(name))
	}
	k, _ := fastKeysCache.LoadOrStore(mt.typ, fk)
	return k.(*fastKeys)
}

// plainTag is encoding/json's isValidTag, without the comma of options
// and without "-".
func plainTag(s string) bool {
	if s == "" || s == "-" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// field returns the field that key fills (-1 for none), and false if
// encoding/json would match the key case-insensitively, which the fast
// path leaves to it.
func (fk *fastKeys) field(key []byte) (int, bool) {
	for i, n := range fk.names {
		if string(n) == string(key) {
			return i, true
		}
	}
	ascii := fk.ascii
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for _, n := range fk.names {
		// Between ASCII strings, only equal lengths can fold alike.
		if (!ascii || len(n) == len(key)) && bytes.EqualFold(n, key) {
			return -1, false
		}
	}
	return -1, true
}

// maxFastDepth bounds the nesting the fast paths follow; deeper input is
// left to the reference parser (encoding/json's Decode stops at 10,000
// levels; its Token does not, and jsonscan.SkipValue stops there itself).
const maxFastDepth = 512

// errGiveUp stops a fast parse: the reference reads the input instead.
var errGiveUp = errors.New("exportfile: left to the reference parser")

// object reads the object at b[i] into m (reset by the caller), depth
// levels down: each key m's type has gets the raw bytes of its value, a
// repeated key recorded as the reference's rawField.UnmarshalJSON records
// it. Keys are compared decoded, as encoding/json compares them. It
// returns the index past the object.
func object(b []byte, i int, m *msgBuf, fk *fastKeys, depth int) (int, error) {
	return jsonscan.Object(b, i, func(key []byte, v int) (int, error) {
		f, ok := fk.field(key)
		if !ok {
			return v, errGiveUp
		}
		end, err := jsonscan.Skip(b, v, maxFastDepth-depth-1)
		if err == nil && f >= 0 {
			// Capped: nothing may append into the file's buffer.
			m.set(f, b[v:end:end])
		}
		return end, err
	})
}

// fastLine decodes JSON Lines lines without encoding/json. Its message
// buffer holds slices of the line and is never handed to encoding/json.
type fastLine struct {
	m  *msgBuf
	fk *fastKeys
}

// newFastLine returns nil when mt's keys are not all plain names.
func newFastLine(mt *msgType) *fastLine {
	fk := fieldKeys(mt)
	if !fk.ok {
		return nil
	}
	return &fastLine{m: mt.new(), fk: fk}
}

// decode returns the line's message, or nil to leave the line to the reference.
func (fl *fastLine) decode(line []byte) *msgBuf {
	if fl == nil {
		return nil
	}
	fl.m.reset()
	end, err := object(line, 0, fl.m, fl.fk, 0)
	if err != nil || jsonscan.Space(line, end) != len(line) {
		return nil
	}
	return fl.m
}

// fastState is the scratch of one fast document parse, pooled.
type fastState struct {
	items   []Item // what the parse emitted, handed over once it succeeded
	pending []Message
	msgs    []*msgBuf // buffers by type, never handed to encoding/json
	emit    func(Item) error
}

var fastStates = sync.Pool{New: func() any {
	st := &fastState{}
	st.emit = func(it Item) error {
		st.items = append(st.items, it)
		return nil
	}
	return st
}}

func (st *fastState) message(mt *msgType) *msgBuf {
	for _, m := range st.msgs {
		if m.mt == mt {
			m.reset()
			return m
		}
	}
	m := mt.new()
	m.reset()
	if len(st.msgs) >= 4 { // another policy's types: keep few
		st.msgs = st.msgs[:0]
	}
	st.msgs = append(st.msgs, m)
	return m
}

func (st *fastState) release() {
	clear(st.items)
	clear(st.pending)
	if cap(st.items) > 4096 {
		st.items = nil
	}
	st.items, st.pending = st.items[:0], st.pending[:0]
	for _, m := range st.msgs {
		m.reset()
	}
	fastStates.Put(st)
}

// stickyReader repeats the first error of r: after the fast path's peek
// has met it, the reference meets it again at the same offset.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// fastDocument parses the document in br — sniffed, so a '{' is next —
// when the whole file is in br's buffer and the fast path handles it.
// done reports whether it did; if not, nothing was emitted or consumed.
func (p *fileParser) fastDocument(br *bufio.Reader) (done bool, err error) {
	buf, perr := br.Peek(br.Size())
	if perr != io.EOF || len(buf) == 0 || buf[0] != '{' {
		return false, nil
	}
	st := fastStates.Get().(*fastState)
	defer st.release()
	q := *p // collects its items: the file is p's only once it is read
	q.emit = st.emit
	var ok bool
	if q.meta != nil {
		ok = q.fastMetadata(buf, st)
	} else {
		ok = q.fastDoc(buf, st)
	}
	if !ok {
		return false, nil
	}
	p.nameConv = q.nameConv
	for i := range st.items {
		if err := p.emit(st.items[i]); err != nil {
			return true, err
		}
	}
	return true, nil
}

// fastMetadata is metadata for a plain object, the whole of b.
func (p *fileParser) fastMetadata(b []byte, st *fastState) bool {
	fk := fieldKeys(p.meta.meta)
	if !fk.ok {
		return false
	}
	obj := st.message(p.meta.meta)
	end, err := object(b, 0, obj, fk, 0)
	if err != nil || jsonscan.Space(b, end) != len(b) {
		return false
	}
	p.metadataConv(obj)
	return true
}

// fastDocState is document's state: which shape was found, the
// conversation ids seen, messages awaiting their conversation id.
type fastDocState struct {
	p        *fileParser
	st       *fastState
	sf       *shapeFields
	bodyConv string
	conv     string // the id messages are attributed to
	flushed  bool
}

// flush is document's flush: it settles the conversation id and hands over
// buffered messages.
func (d *fastDocState) flush(final bool) {
	if d.flushed || d.sf == nil {
		return
	}
	if d.conv == "" {
		d.conv = d.bodyConv
	}
	if d.conv == "" {
		if !final {
			return
		}
		d.flushed = true
		if len(d.st.pending) > 0 {
			d.p.unreadable("", "%d messages with no conversation id (no conversation_id= folder, no %s key)", len(d.st.pending), strings.Join(d.p.cp.docConvKeys, " or "))
		}
		return
	}
	d.flushed = true
	d.p.cover(d.conv)
	for i := range d.st.pending {
		d.st.pending[i].Conv = d.conv
		d.p.emit(Item{Kind: ItemMessage, Msg: d.st.pending[i]})
	}
	clear(d.st.pending)
	d.st.pending = d.st.pending[:0]
}

// fastDoc is document for a well-formed file with one message array,
// the whole of b.
func (p *fileParser) fastDoc(b []byte, st *fastState) bool {
	shapes := p.docShapes()
	d := &fastDocState{p: p, st: st, conv: p.pathConv}
	end, err := jsonscan.Object(b, 0, func(key []byte, v int) (int, error) {
		var shape *shapeFields
		for _, sh := range shapes {
			if sh.msgKey == string(key) {
				shape = sh
				break
			}
		}
		switch {
		case shape != nil && d.sf == nil:
			d.sf = shape
			if d.conv == "" {
				d.conv = d.bodyConv
			}
			if d.conv == "" {
				if nc := d.sf.shape.NameConversation(p.idName()); nc != "" {
					d.conv = nc
					p.nameConv = d.conv
				}
			}
			return p.fastMessages(b, v, d)
		case shape != nil: // a second message array: rare, the reference's
			return v, errGiveUp
		case p.isDocConvKey(string(key)):
			end, err := jsonscan.Skip(b, v, maxFastDepth-1)
			if err != nil {
				return end, err
			}
			p.bodyConversation(b[v:end], &d.bodyConv)
			return end, nil
		default:
			return jsonscan.Skip(b, v, maxFastDepth-1)
		}
	})
	if err != nil || d.sf == nil { // not a known shape: the reference's finding
		return false
	}
	d.flush(true)
	return jsonscan.Space(b, end) == len(b) // trailing data: the reference's finding
}

// fastMessages is messages for the array of objects at b[i]; it returns
// the index past the array.
func (p *fileParser) fastMessages(b []byte, i int, d *fastDocState) (int, error) {
	fk := fieldKeys(d.sf.msg)
	if !fk.ok || i >= len(b) || b[i] != '[' {
		return i, errGiveUp
	}
	if d.conv != "" {
		d.flush(false)
	}
	var obj *msgBuf
	n := 0
	return jsonscan.Array(b, i, func(v int) (int, error) {
		if obj == nil {
			obj = d.st.message(d.sf.msg)
		}
		obj.reset()
		end, err := object(b, v, obj, fk, 1) // null, a number…: the reference's finding
		if err != nil {
			return end, err
		}
		r := p.record(obj, d.sf, n)
		n++
		if d.conv == "" {
			if len(d.st.pending) == maxPending {
				return end, errGiveUp // the reference says so
			}
			d.st.pending = append(d.st.pending, r)
		} else {
			r.Conv = d.conv
			p.emit(Item{Kind: ItemMessage, Msg: r})
		}
		return end, nil
	})
}
