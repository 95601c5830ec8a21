package production

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The DAT's delimiters (docs/produce.md, "DAT and OPT"): UTF-8 with a
// byte-order mark, fields quoted with þ (U+00FE) and separated by ASCII
// 20 (DC4, the character Concordance and Relativity show as ¶), one
// record a line ending CRLF, ® (U+00AE) standing for a line break inside
// a value. The writer (internal/produce) and DATReader share them.
const (
	DATQuote   = "\u00fe"
	DATSep     = "\x14"
	DATNewline = "\u00ae"
	DATBOM     = "\ufeff"
)

// Limits DATReader holds a DAT to: a DAT is outside input to a verifier,
// and a produced record is a few KB (bodies are in the text natives), so
// a larger one is hostile or broken, not memory to spend.
const (
	MaxDATRecord = 4 << 20 // bytes of one record, its CRLF included
	MaxDATFields = 1024    // fields of one record
)

// ErrMalformedDAT is the error of a DAT DATReader refuses; the message
// names the line.
var ErrMalformedDAT = errors.New("malformed DAT")

// DATReader reads a DAT a record at a time, never holding it whole (a
// production of 23,000 messages has a DAT of 17 MB). Records end at CR
// LF; a lone LF is inside a field. Every field is quoted with þ and
// holds no þ of its own; every record has the header's width; the header
// names each column once. Each ® in a value is read as a line break
// ("\n"), as a loader reads it.
type DATReader struct {
	br     *bufio.Reader
	line   int // the line the next record starts on
	header []string
	fields []string
	rec    []byte
	done   bool
}

// NewDATReader reads the header of the DAT r holds.
func NewDATReader(r io.Reader) (*DATReader, error) {
	d := &DATReader{br: bufio.NewReaderSize(r, 64<<10), line: 1}
	h, err := d.record(true)
	if err == io.EOF {
		return nil, fmt.Errorf("production: dat: %w: empty", ErrMalformedDAT)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(h))
	for _, name := range h {
		if seen[name] {
			return nil, d.errorf(1, "column %q named twice", name)
		}
		seen[name] = true
	}
	d.header = append([]string(nil), h...)
	return d, nil
}

// Header is the header row's column names.
func (d *DATReader) Header() []string { return d.header }

// Next returns the next record's fields, valid until the next call; io.EOF
// after the last.
func (d *DATReader) Next() ([]string, error) {
	start := d.line
	f, err := d.record(false)
	if err != nil {
		return nil, err
	}
	if len(f) != len(d.header) {
		return nil, d.errorf(start, "%d fields, the header %d", len(f), len(d.header))
	}
	return f, nil
}

func (d *DATReader) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("production: dat: %w: line %d: %s", ErrMalformedDAT, line, fmt.Sprintf(format, args...))
}

// record reads one record and splits it into fields.
func (d *DATReader) record(first bool) ([]string, error) {
	if d.done {
		return nil, io.EOF
	}
	start := d.line
	d.rec = d.rec[:0]
	var err error
	for {
		var part []byte
		part, err = d.br.ReadSlice('\n')
		d.rec = append(d.rec, part...)
		if len(d.rec) > MaxDATRecord {
			return nil, d.errorf(start, "a record longer than %d bytes", MaxDATRecord)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || bytes.HasSuffix(d.rec, []byte("\r\n")) {
			break
		}
	}
	switch {
	case err == io.EOF:
		d.done = true
		if len(d.rec) == 0 && !first {
			return nil, io.EOF // the last record ended with its CRLF
		}
	case err != nil:
		return nil, fmt.Errorf("production: dat: line %d: %w", start, err)
	}
	d.line += bytes.Count(d.rec, []byte("\n"))
	ln := string(bytes.TrimSuffix(d.rec, []byte("\r\n")))
	if first {
		var ok bool
		if ln, ok = strings.CutPrefix(ln, DATBOM); !ok {
			if ln == "" {
				return nil, io.EOF
			}
			return nil, d.errorf(start, "no UTF-8 byte-order mark")
		}
	}
	d.fields = d.fields[:0]
	for f := range strings.SplitSeq(ln, DATSep) {
		n := len(d.fields) + 1
		if n > MaxDATFields {
			return nil, d.errorf(start, "more than %d fields", MaxDATFields)
		}
		if len(f) < 2*len(DATQuote) || !strings.HasPrefix(f, DATQuote) || !strings.HasSuffix(f, DATQuote) {
			return nil, d.errorf(start, "field %d is not quoted with þ", n)
		}
		v := f[len(DATQuote) : len(f)-len(DATQuote)]
		if strings.Contains(v, DATQuote) {
			return nil, d.errorf(start, "field %d holds a þ inside its quotes", n)
		}
		if strings.Contains(v, DATNewline) {
			v = strings.ReplaceAll(v, DATNewline, "\n")
		}
		d.fields = append(d.fields, v)
	}
	return d.fields, nil
}

// ReadDAT reads a whole DAT held in data: its header and records. For
// tests and small files; a verifier reads with DATReader.
func ReadDAT(data []byte) ([]string, [][]string, error) {
	d, err := NewDATReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var rows [][]string
	for {
		f, err := d.Next()
		if err == io.EOF {
			return d.Header(), rows, nil
		}
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, append([]string(nil), f...))
	}
}
