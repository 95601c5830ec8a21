package exportfile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Defaults of Options.
const (
	DefaultMaxFileSize  = 1 << 30 // 1 GiB
	DefaultMaxLineBytes = 1 << 20 // 1 MiB
	// DefaultMaxValueBytes bounds what a document's reader holds at once:
	// one message object, a metadata file's object, or any other single
	// JSON string or number. A WhatsApp message is a few KiB; the JSON
	// Lines reader holds a line of at most DefaultMaxLineBytes.
	DefaultMaxValueBytes = 1 << 20 // 1 MiB
)

// Options tune a Reader. The zero value uses the defaults.
type Options struct {
	// Format forces one shape for every file; "" or FormatAuto detects
	// per file (docs/diff.md).
	Format Format
	// MaxFileSize: larger files are file_unreadable, unread.
	MaxFileSize int64
	// MaxLineBytes caps one JSON Lines line; longer lines are findings.
	MaxLineBytes int
	// MaxValueBytes caps what a document's reader holds at once (see
	// DefaultMaxValueBytes): a larger value is a file_unreadable finding
	// naming its offset, and the file is read no further, so memory stays
	// bounded per file whatever the size of one value.
	MaxValueBytes int
}

// Reader reads export files into Items by a policy's shapes. It is safe
// for concurrent use: a diff's file workers share one.
type Reader struct {
	cp      *compiled
	opts    Options
	readers readerPool
}

// NewReader returns a Reader for the shapes' policies (DefaultShapes, or
// as a policy file changed them).
func NewReader(shapes map[string]ShapePolicy, o Options) (*Reader, error) {
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return nil, err
	}
	if err := ValidateShapes(shapes); err != nil {
		return nil, fmt.Errorf("exportfile: %w", err)
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxValueBytes <= 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	return &Reader{cp: compile(shapes), opts: o}, nil
}

// Read reads the entry e of src and calls emit with its items, in file
// order: the conversations the file covers, its messages, and a Problem
// for everything wrong with it (an entry Walk reported with a Problem,
// a file too large, one that cannot be opened, read or parsed). The
// returned error is only for cancellation or an error from emit. Read
// takes over e: the file Walk opened for it is closed.
func (r *Reader) Read(ctx context.Context, src Source, e Entry, emit func(Item) error) error {
	p := r.parser(e, emit)
	if e.Problem != "" {
		e.Release()
		return p.unreadable(convFromPath(e.RawName()), "%s", e.Problem)
	}
	if e.Size > r.opts.MaxFileSize {
		e.Release()
		return p.unreadable(convFromPath(e.RawName()), "%v: %d bytes, limit %d: not read", ErrFileTooLarge, e.Size, r.opts.MaxFileSize)
	}
	rc, err := src.Open(ctx, e)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return p.unreadable(convFromPath(e.RawName()), "open failed: %v", err)
	}
	defer rc.Close()
	if err := p.parse(&limitReader{r: rc, n: r.opts.MaxFileSize}); err != nil {
		return err
	}
	return ctx.Err()
}

func (r *Reader) parser(e Entry, emit func(Item) error) *fileParser {
	return &fileParser{cp: r.cp, format: r.opts.Format, maxLine: r.opts.MaxLineBytes, maxValue: r.opts.MaxValueBytes, name: e.Name, rawName: e.raw, readers: &r.readers, emit: emit}
}

// limitReader fails with ErrFileTooLarge past n bytes, where io.LimitReader
// would end quietly and make a huge file look merely truncated.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than the limit", ErrFileTooLarge)
		}
		return 0, err // io.EOF at exactly the limit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// valueLimit is the reader a document's json.Decoder reads through: it
// never lets the decoder read more than max bytes past the end of the
// last token or value it completed (Decoder.InputOffset), so the decoder's
// buffer — one message object, or one token of anything skipped — stays
// under max plus one read, whatever the file holds. Past that it fails
// with ErrValueTooLarge.
type valueLimit struct {
	r   io.Reader
	dec *json.Decoder
	n   int64 // bytes handed to the decoder
	max int64
}

// valueRead is the most one Read hands over (the file's read buffer).
const valueRead = 64 << 10

func (v *valueLimit) Read(p []byte) (int, error) {
	allowed := v.dec.InputOffset() + v.max - v.n
	if allowed <= 0 {
		return 0, ErrValueTooLarge
	}
	if int64(len(p)) > allowed {
		p = p[:allowed]
	}
	if len(p) > valueRead {
		p = p[:valueRead]
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	return n, err
}
