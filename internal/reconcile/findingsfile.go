package reconcile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// MaxFindingBytes bounds what a findings file's reader holds at once: one
// record (a line of JSON Lines, an element of the array or of the json
// form's findings), one token of a member it skips, one run of white
// space. custody diff reads no export value over 1 MiB
// (exportfile.DefaultMaxValueBytes), so the findings it writes stay far
// below it; a file with more is not one it wrote, and is refused for no
// more memory than this.
const MaxFindingBytes = 16 << 20

// maxShown bounds what an error message quotes of a findings file's
// content — a member name, a kind, a failed diff's error, a decoder's
// message naming a field: the file may be hostile, and the message is
// printed whole.
const maxShown = 200

// errRecordTooLarge: more than MaxFindingBytes without a record's end.
var errRecordTooLarge = fmt.Errorf("%w: more than %d bytes (16 MiB) without a record's end, far more than any finding custody diff writes", ErrNotFindings, MaxFindingBytes)

// jsonMembers are the members of custody diff's --output json object; a
// finding has none of them.
var jsonMembers = map[string]bool{"findings": true, "summary": true, "error": true, "run_id": true, "seq": true}

// readOptions say what readFindingsFrom does with the records it reads.
type readOptions struct {
	seen       func([]byte)            // given each record's bytes as the file holds them (nil: none)
	keep       func(diff.Finding) bool // the findings kept (nil: all)
	runID      *string                 // set to the run_id of the json form (nil: not kept)
	knownKinds bool                    // a record whose kind diff does not have is ErrNotFindings
}

// readFindingsFrom reads the findings of r as custody diff writes them
// (ReadFindings), doing with each what o says; it holds at most
// MaxFindingBytes of r at once, and its errors name the line of the
// record they are about.
func readFindingsFrom(r io.Reader, o readOptions) ([]diff.Finding, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	skipped := 0 // line feeds in the white space before the first record
	var first byte
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("reconcile: findings: %w", err)
		}
		b, _ := br.Peek(br.Buffered())
		i := jsonscan.Space(b, 0)
		skipped += bytes.Count(b[:i], newline)
		br.Discard(i)
		if i < len(b) {
			first = b[i]
			break
		}
	}
	f := &findingsReader{r: br, lines: skipped, o: o}
	f.dec = json.NewDecoder(f)
	var err error
	switch {
	case first == '[':
		err = f.array()
	case first == '{' && jsonMembers[firstKey(br)]:
		err = f.object()
	default:
		err = f.jsonLines()
	}
	if err != nil {
		return nil, err
	}
	return f.out, nil
}

// firstKey is the name of the first member of the object br starts with,
// when it is found in the first 4 KiB and holds no escape; "" otherwise.
func firstKey(br *bufio.Reader) string {
	b, _ := br.Peek(4 << 10) // fewer at the end of the file
	i := jsonscan.Space(b, 1)
	end, escaped, err := jsonscan.String(b, i)
	if err != nil || escaped {
		return ""
	}
	return string(b[i+1 : end-1])
}

var newline = []byte{'\n'}

// findingsReader decodes a findings file record by record. It sits
// between the file and its decoder, never handing the decoder more than
// MaxFindingBytes past the end of the last token or value it completed
// (so the decoder's buffer stays under that plus one read, whatever the
// file holds), and counts the line feeds it hands over, so that an error
// can name the line of its record.
type findingsReader struct {
	r     io.Reader
	dec   *json.Decoder
	fed   int64 // bytes handed to dec
	lines int   // line feeds handed to dec, and skipped before it
	o     readOptions
	out   []diff.Finding
}

func (f *findingsReader) Read(p []byte) (int, error) {
	allowed := f.dec.InputOffset() + MaxFindingBytes - f.fed
	if allowed <= 0 {
		return 0, errRecordTooLarge
	}
	if int64(len(p)) > allowed {
		p = p[:allowed]
	}
	n, err := f.r.Read(p)
	f.fed += int64(n)
	f.lines += bytes.Count(p[:n], newline)
	return n, err
}

// line is the line (from 1) at the decoder's offset: the end of the last
// token or value it completed. With next, it is the line the next value
// starts on, past white space and a comma.
func (f *findingsReader) line(next bool) int {
	// What dec read and did not use (at most MaxFindingBytes and a read),
	// counted, not copied.
	r := f.dec.Buffered()
	var buf [4 << 10]byte
	unread, lead := 0, 0 // line feeds in it; in its leading white space and comma
	inLead, comma := next, false
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c == '\n' {
				unread++
			}
			if !inLead {
				continue
			}
			switch {
			case c == '\n':
				lead++
			case c == ' ' || c == '\t' || c == '\r':
			case c == ',' && !comma:
				comma = true
			default:
				inLead = false
			}
		}
		if err != nil {
			break
		}
	}
	return 1 + f.lines - unread + lead
}

// fail is err, met reading the next value, naming its line.
func (f *findingsReader) fail(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reconcile: findings line %d: %w", f.line(true), clip(err))
}

// record decodes the next value as a finding record.
func (f *findingsReader) record() error {
	var raw json.RawMessage
	if err := f.dec.Decode(&raw); err != nil {
		return f.fail(err)
	}
	return f.take(raw)
}

// take decodes raw, a record just read, as a finding and keeps it.
func (f *findingsReader) take(raw json.RawMessage) error {
	fd, err := decodeFinding(raw)
	if err != nil && !errors.Is(err, ErrNotFindings) {
		err = fmt.Errorf("%w: %w", ErrNotFindings, err) // JSON, but not a finding
	}
	if err == nil && f.o.knownKinds {
		if _, ok := finding.Lookup(fd.Kind); !ok {
			err = fmt.Errorf("%w: kind %s is not a diff finding kind", ErrNotFindings, shown(string(fd.Kind)))
		}
	}
	if err != nil {
		// The record's line: where it ends, less the lines it spans.
		return fmt.Errorf("reconcile: findings line %d: %w", f.line(false)-bytes.Count(raw, newline), clip(err))
	}
	if f.o.seen != nil {
		f.o.seen(raw)
	}
	if f.o.keep == nil || f.o.keep(fd) {
		f.out = append(f.out, fd)
	}
	return nil
}

// jsonLines reads JSON Lines: findings one after another (one a line, as
// diff writes them, or spread over lines) to the end of the file.
func (f *findingsReader) jsonLines() error {
	for {
		var raw json.RawMessage
		if err := f.dec.Decode(&raw); err == io.EOF {
			return nil
		} else if err != nil {
			return f.fail(err)
		}
		if err := f.take(raw); err != nil {
			return err
		}
	}
}

// array reads one JSON array of findings, element by element: a large
// diff's array is not held whole, only the findings kept.
func (f *findingsReader) array() error {
	if _, err := f.dec.Token(); err != nil { // '['
		return f.fail(err)
	}
	f.out = []diff.Finding{}
	for f.dec.More() {
		if err := f.record(); err != nil {
			return err
		}
	}
	if _, err := f.dec.Token(); err != nil { // ']'
		return f.fail(err)
	}
	return f.end("the array")
}

// end checks that nothing follows the document.
func (f *findingsReader) end(what string) error {
	if _, err := f.dec.Token(); err != io.EOF {
		return fmt.Errorf("reconcile: findings line %d: %w: more after %s", f.line(true), ErrNotFindings, what)
	}
	return nil
}

// object reads custody diff's --output json object member by member:
// its findings element by element, its summary skipped token by token,
// so neither is held whole. A member of another name, or one given
// twice, is ErrNotFindings; so is a failed diff's error member.
func (f *findingsReader) object() error {
	if _, err := f.dec.Token(); err != nil { // '{'
		return f.fail(err)
	}
	done := map[string]bool{}
	for f.dec.More() {
		t, err := f.dec.Token()
		if err != nil {
			return f.fail(err)
		}
		key, _ := t.(string)
		if !jsonMembers[key] {
			return fmt.Errorf("reconcile: findings line %d: %w: member %s is not one custody diff --output json writes", f.line(false), ErrNotFindings, shown(key))
		}
		if done[key] {
			return fmt.Errorf("reconcile: findings line %d: %w: member %q given twice", f.line(false), ErrNotFindings, key)
		}
		done[key] = true
		switch key {
		case "findings":
			t, err := f.dec.Token()
			if err != nil {
				return f.fail(err)
			}
			if t != json.Delim('[') {
				return fmt.Errorf("reconcile: findings line %d: %w: its findings member is not a list", f.line(false), ErrNotFindings)
			}
			f.out = []diff.Finding{}
			for f.dec.More() {
				if err := f.record(); err != nil {
					return err
				}
			}
			if _, err := f.dec.Token(); err != nil { // ']'
				return f.fail(err)
			}
		case "summary":
			if err := jsonscan.SkipValue(f.dec); err != nil {
				return f.fail(err)
			}
		case "error":
			var msg *string
			if err := f.dec.Decode(&msg); err != nil {
				return f.fail(err)
			}
			if msg != nil {
				return diffFailed(*msg)
			}
		case "run_id":
			var id string
			if err := f.dec.Decode(&id); err != nil {
				return f.fail(err)
			}
			if !export.ValidID(id) {
				return fmt.Errorf("reconcile: findings line %d: %w: run_id %s is not a custody run id", f.line(false), ErrNotFindings, shown(id))
			}
			if f.o.runID != nil {
				*f.o.runID = id
			}
		case "seq":
			var seq uint64
			if err := f.dec.Decode(&seq); err != nil {
				return f.fail(err)
			}
		}
	}
	if _, err := f.dec.Token(); err != nil { // '}'
		return f.fail(err)
	}
	if !done["findings"] {
		return fmt.Errorf("reconcile: findings: %w: no findings member", ErrNotFindings)
	}
	return f.end("the object custody diff --output json writes")
}

// decodeFinding decodes one record, which must be a finding and nothing
// more; the error record a failed diff ends its JSON Lines with says so.
func decodeFinding(raw []byte) (diff.Finding, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	var f diff.Finding
	if err := d.Decode(&f); err != nil {
		var failed struct {
			Error *string `json:"error"`
		}
		if json.Unmarshal(raw, &failed) == nil && failed.Error != nil {
			return diff.Finding{}, diffFailed(*failed.Error)
		}
		return diff.Finding{}, err
	}
	return f, nil
}

// diffFailed is the refusal of a failed diff's output: the findings
// before its error are whole, but not all the diff would have found.
func diffFailed(msg string) error {
	return fmt.Errorf("%w: the diff that wrote them failed (%s), so they are not all it would have found; run it again", ErrNotFindings, shown(msg))
}

// shown quotes s, from a findings file, for an error message: whole if it
// is at most maxShown bytes, else its first maxShown bytes (whole
// characters), "…" and its length.
func shown(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(cutUTF8(s, maxShown)), len(s))
}

// cutUTF8 is at most the first n bytes of s, not ending inside a
// character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// clip bounds err's message (a decoder's may quote a field name from the
// file) to a few times maxShown, keeping what it wraps.
func clip(err error) error {
	if msg := err.Error(); len(msg) > 4*maxShown {
		return &clippedError{msg: cutUTF8(msg, 4*maxShown) + fmt.Sprintf("… (%d bytes)", len(msg)), err: err}
	}
	return err
}

type clippedError struct {
	msg string
	err error
}

func (e *clippedError) Error() string { return e.msg }
func (e *clippedError) Unwrap() error { return e.err }
