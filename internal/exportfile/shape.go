package exportfile

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/custodyhq/custody/internal/finding"
)

// Shape is one layout of export file. Each shape is a file of this
// package (shape_genesys.go, shape_reshape.go, shape_jsonl.go) and one
// row of shapes, below; the readers (document, metadata, JSON Lines, and
// their fast paths) are shared and ask the shape only what differs.
type Shape interface {
	// Name is the shape's name: the value of Format that forces it and
	// its key in a policy's shapes.
	Name() string
	// Default is where the shape keeps a message's fields unless a
	// policy says otherwise.
	Default() ShapePolicy
	// Lines reports whether the shape's files are JSON Lines — a message
	// object per line, each carrying its conversation id — rather than
	// one JSON document with an array of messages under sp.Messages.
	Lines() bool
	// Detect says how the shape would read the file called name (its
	// full name in the export). forced is set when Format names this
	// shape; detection is then a formality for most shapes.
	Detect(name string, sp *ShapePolicy, forced bool) Detection
	// NameConversation is the conversation id a document's file name
	// gives, when the document names none before its messages; "" if
	// the shape's names carry none.
	NameConversation(name string) string
}

// Detection is how a shape would read a file.
type Detection uint8

// Detections, weakest first: a file goes to the strongest claim, so a
// name that says JSON Lines or metadata is read as such even though a
// document shape would also try it.
const (
	// DetectNo: not a file of this shape.
	DetectNo Detection = iota
	// DetectDocument: a JSON document of this shape if its messages array
	// is under this shape's key (the first such key in the file decides
	// among the document shapes, in the order of shapes).
	DetectDocument
	// DetectMetadata: a companion metadata object (one JSON object whose
	// conversation id must agree with the file's folder); no messages.
	DetectMetadata
	// DetectLines: JSON Lines of this shape.
	DetectLines
)

// shapes is every shape, in the order document shapes are tried. (An
// array: its length sizes a file parser's candidates.)
var shapes = [...]Shape{genesysShape{}, reshapeShape{}, jsonlShape{}}

// Shapes returns the names of every shape.
func Shapes() []string {
	out := make([]string, len(shapes))
	for i, s := range shapes {
		out[i] = s.Name()
	}
	return out
}

// ShapePolicy locates fields in one shape. A path is a dotted list of
// object keys ("fromUser.id"); a list of paths is tried in order and the
// first present, non-null value wins; an empty list means the shape does
// not keep the field at all.
type ShapePolicy struct {
	// Messages is the key of the top-level array of messages in a
	// document (genesys, reshape); unused for jsonl.
	Messages string `json:"messages,omitempty"`
	// MetadataSuffix marks companion metadata files (genesys).
	MetadataSuffix string `json:"metadata_suffix,omitempty"`
	// ConversationID: paths of the conversation id — in the document for
	// genesys and reshape (a top-level key), in each line for jsonl.
	ConversationID []string `json:"conversation_id"`
	// Fields maps message_id and each compliance field to its paths
	// inside one message object.
	Fields map[string][]string `json:"fields"`
}

// DefaultShapes returns every shape's Default, by name.
func DefaultShapes() map[string]ShapePolicy {
	m := make(map[string]ShapePolicy, len(shapes))
	for _, s := range shapes {
		m[s.Name()] = s.Default()
	}
	return m
}

// ValidateShapes checks that every shape has a policy the readers can
// apply.
func ValidateShapes(m map[string]ShapePolicy) error {
	for _, s := range shapes {
		name := s.Name()
		sp, ok := m[name]
		if !ok {
			return fmt.Errorf("shape %q missing", name)
		}
		if !s.Lines() && sp.Messages == "" {
			return fmt.Errorf("shape %q: messages key is empty", name)
		}
		for _, path := range sp.ConversationID {
			if err := checkPath(path); err != nil {
				return fmt.Errorf("shape %q: conversation_id: %w", name, err)
			}
			if !s.Lines() && strings.Contains(path, ".") {
				return fmt.Errorf("shape %q: conversation_id path %q must be a top-level key", name, path)
			}
		}
		for field, paths := range sp.Fields {
			if field != finding.FieldMessageID && !slices.Contains(finding.ComplianceFields[:], field) {
				return fmt.Errorf("shape %q: unknown field %q", name, field)
			}
			for _, path := range paths {
				if err := checkPath(path); err != nil {
					return fmt.Errorf("shape %q: field %s: %w", name, field, err)
				}
			}
		}
		if len(sp.Fields[finding.FieldMessageID]) == 0 {
			return fmt.Errorf("shape %q: message_id has no path: messages could not be matched", name)
		}
	}
	// The messages key is what tells document shapes apart.
	for i, a := range shapes {
		for _, b := range shapes[i+1:] {
			if a.Lines() || b.Lines() {
				continue
			}
			if k := m[a.Name()].Messages; k == m[b.Name()].Messages {
				return fmt.Errorf("%s and %s use the same messages key %q: shapes could not be told apart", a.Name(), b.Name(), k)
			}
		}
	}
	return nil
}

func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return fmt.Errorf("path %q has an empty segment", p)
		}
		for _, c := range seg {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(keyPunct, c) {
				return fmt.Errorf("path %q: character %q is not allowed in a key", p, c)
			}
		}
	}
	return nil
}

// keyPunct is the punctuation a key may hold besides letters and digits:
// what encoding/json accepts in a struct tag name, which messages are
// decoded with ('.' separates path segments).
const keyPunct = "!#$%&()*+-/:;<=>?@[]^_{|}~ "

// Format forces how export files are read: FormatAuto detects per file,
// a shape's name reads every file as that shape.
type Format string

// FormatAuto detects each file's shape (docs/diff.md).
const FormatAuto Format = "auto"

// ParseFormat checks a --format value ("" means auto).
func ParseFormat(s string) (Format, error) {
	if s == "" || Format(s) == FormatAuto {
		return FormatAuto, nil
	}
	if slices.Contains(Shapes(), s) {
		return Format(s), nil
	}
	return "", fmt.Errorf("exportfile: %w: %q (want auto, %s)", ErrBadFormat, s, orList(Shapes()))
}

// orList is "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
