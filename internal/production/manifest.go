package production

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Format is the "format" member of a manifest that lists no earlier
// capture; FormatV2 that of one that does (a message element with
// earlier_capture_of, docs/produce.md "Earlier captures"). A custody
// that reads only v1 refuses a v2 manifest for its format, saying it
// wants v1, where it would call the new member malformed; productions
// without an earlier capture stay v1, byte for byte. Readers accept
// both (and a v1 manifest with earlier_capture_of, as custody wrote
// before v2).
const (
	Format   = "custody-production/v1"
	FormatV2 = "custody-production/v2"
)

// FormatOf is the format a manifest whose messages include an earlier
// capture (earlier true) or not is written with.
func FormatOf(earlier bool) string {
	if earlier {
		return FormatV2
	}
	return Format
}

// Fixed names in a production folder.
const (
	ManifestFile    = "manifest.json"         // lists every other file but ProofFile
	ProofFile       = "production.proof.json" // proof of the production ledger entry, which holds the manifest's hash
	VerifierKeyFile = "custody.pub"           // the ledger's verifier key (bring your own copy to trust it)
	CheckpointFile  = "proofs/checkpoint.txt" // the signed checkpoint every message proof leads to
	ProofDir        = "proofs"
	RSMFDir         = "rsmf"
	DATDir          = "dat"
	DATFile         = "dat/custody.dat"
	OPTFile         = "dat/custody.opt"
	NativeDir       = "dat/natives"
)

// ClaimKey is the key of the ledger's state that names the folder a
// production entry seq was appended for: the base name of the hidden
// folder the production was built in, .OUT.produce-HEX.entry-SEQ, set in
// the transaction that appends the entry.
func ClaimKey(seq uint64) string { return "produce/claim/" + strconv.FormatUint(seq, 10) }

// ClaimedOut returns OUT, the base name of the --out a claimed folder
// (.OUT.produce-HEX.entry-SEQ) was built for.
func ClaimedOut(name string) (string, bool) {
	i := strings.LastIndex(name, ".produce-")
	if i < 2 || name[0] != '.' {
		return "", false
	}
	return name[1:i], true
}

// MaxManifest bounds what a reader accepts as a manifest: about 400 bytes
// a message, so this allows productions of a few hundred thousand
// messages and refuses a file that could exhaust memory.
const MaxManifest = 512 << 20

// Manifest is manifest.json.
type Manifest struct {
	Format        string         `json:"format"`
	Matter        string         `json:"matter"`
	Origin        string         `json:"origin"` // the ledger's checkpoint origin
	Formats       []string       `json:"formats"`
	Selection     Selection      `json:"selection"`
	Checkpoint    Checkpoint     `json:"checkpoint"`
	VerifierKey   string         `json:"verifier_key"` // file name
	Conversations []Conversation `json:"conversations"`
	Messages      []Message      `json:"messages"`
	// Erased are the messages the selection held that were not produced
	// because an erasure (custody erase) deleted their content: erased
	// themselves, or their response body deleted with an erased
	// message's. Absent when there are none.
	Erased []Erased `json:"erased,omitempty"`
	Files  []File   `json:"files"`
}

// Erased statuses.
const (
	// StatusErased: the message was erased (alone or with its
	// conversation).
	StatusErased = "erased"
	// StatusBodyErased: the message was not erased, but the response
	// body holding it was deleted with an erased message's; its text is
	// gone from the evidence.
	StatusBodyErased = "body_erased"
)

// Erased is a selected message that was not produced: its ledger entry
// (seq, leaf hash) and the erasure entry that deleted its content.
type Erased struct {
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	Seq            uint64 `json:"seq"`
	LeafHash       string `json:"leaf_hash"`
	Status         string `json:"status"`
	ErasureSeq     uint64 `json:"erasure_seq"`
}

// Selection is what the production was asked for (empty: everything).
type Selection struct {
	Conversations []string `json:"conversations"`
	DiffRunID     string   `json:"diff_run_id"`
	Interval      string   `json:"interval"`
	LegalHoldOnly bool     `json:"legal_hold_only"`
}

// Flags are the produce flags that ask for s, in produce's order: a
// --conversation for each, --interval, --legal-hold-only, --diff; none
// when s is everything. Produce and erase say a recorded selection so.
func (s Selection) Flags() []string {
	var parts []string
	for _, c := range s.Conversations {
		parts = append(parts, "--conversation "+c)
	}
	if s.Interval != "" {
		parts = append(parts, "--interval "+s.Interval)
	}
	if s.LegalHoldOnly {
		parts = append(parts, "--legal-hold-only")
	}
	if s.DiffRunID != "" {
		parts = append(parts, "--diff "+s.DiffRunID)
	}
	return parts
}

// Checkpoint names the signed checkpoint the proofs lead to.
type Checkpoint struct {
	File string `json:"file"`
	Size uint64 `json:"size"`
	Root string `json:"root"` // hex
}

// Conversation is one produced conversation and the ledger entry its
// conversation-level facts (legal hold, capture run) come from.
type Conversation struct {
	ID       string `json:"id"`
	Seq      uint64 `json:"seq"`
	LeafHash string `json:"leaf_hash"`
	Proof    string `json:"proof"`
	// LegalHold: under legal hold when produced — deletion protection
	// when captured (the entry's legal_hold) or a matter hold in force;
	// HoldSource names which ("deletion_protection", "matter_hold"),
	// MatterHold the matter hold. Both are absent when not held, and in
	// manifests written before matter holds were produced, whose
	// legal_hold is the capture's deletion protection alone.
	LegalHold  bool        `json:"legal_hold"`
	HoldSource []string    `json:"hold_source,omitempty"`
	MatterHold *MatterHold `json:"matter_hold,omitempty"`
	RunID      string      `json:"capture_run"`
	Messages   int         `json:"messages"`
	RSMF       []string    `json:"rsmf"` // its .rsmf files
}

// MatterHold is the matter hold (custody hold) in force on a produced
// conversation: the hold entry that placed it and its reason.
type MatterHold struct {
	Seq    uint64 `json:"seq"`
	Reason string `json:"reason"`
}

// Message is one produced message.
type Message struct {
	Seq            uint64 `json:"seq"`
	LeafHash       string `json:"leaf_hash"`
	ConversationID string `json:"conversation_id"`
	MessageID      string `json:"message_id"`
	Proof          string `json:"proof"`
	ControlNumber  string `json:"control_number,omitempty"` // DAT BEGDOC
	// EarlierCaptureOf, on an earlier capture of a message produced
	// beside its latest one (docs/produce.md, "Earlier captures"), is the
	// latest capture's seq; absent on the latest capture.
	EarlierCaptureOf uint64 `json:"earlier_capture_of,omitempty"`
}

// File is one produced file.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Marshal writes m as manifest.json: one member, or one element of the
// conversations, messages and files, a line, in a fixed order, so that
// the same production gives the same bytes and a large manifest is
// written without building an indented copy.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(300*len(m.Messages) + 170*len(m.Files) + 400*len(m.Conversations) + 4096) // a little more than it takes: growing would double it
	var err error
	member := func(name string, v any, last bool) {
		if err != nil {
			return
		}
		var j []byte
		if j, err = json.Marshal(v); err != nil {
			return
		}
		fmt.Fprintf(&b, " %q: %s", name, j)
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	list := func(name string, n int, elem func(i int) any, last bool) {
		if err != nil {
			return
		}
		fmt.Fprintf(&b, " %q: [", name)
		for i := range n {
			j, e := json.Marshal(elem(i))
			if e != nil {
				err = e
				return
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n  ")
			b.Write(j)
		}
		if n > 0 {
			b.WriteString("\n ")
		}
		b.WriteByte(']')
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("{\n")
	member("format", m.Format, false)
	member("matter", m.Matter, false)
	member("origin", m.Origin, false)
	member("formats", m.Formats, false)
	member("selection", m.Selection, false)
	member("checkpoint", m.Checkpoint, false)
	member("verifier_key", m.VerifierKey, false)
	list("conversations", len(m.Conversations), func(i int) any { return m.Conversations[i] }, false)
	list("messages", len(m.Messages), func(i int) any { return m.Messages[i] }, false)
	if len(m.Erased) > 0 { // absent otherwise: productions of matters without erasures keep their bytes
		list("erased", len(m.Erased), func(i int) any { return m.Erased[i] }, false)
	}
	list("files", len(m.Files), func(i int) any { return m.Files[i] }, true)
	b.WriteString("}\n")
	if err != nil {
		return nil, fmt.Errorf("production: manifest: %w", err)
	}
	return b.Bytes(), nil
}

// ErrMalformed is the error of a manifest that does not parse.
var ErrMalformed = errors.New("malformed production manifest")

// ParseManifest reads manifest.json strictly: no unknown members, no
// trailing data, the format named, every path valid and named once.
func ParseManifest(data []byte) (*Manifest, error) {
	m, err := parseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("production: %w: %w", ErrMalformed, err)
	}
	return m, nil
}

func parseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifest {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), MaxManifest)
	}
	// The format first: a manifest of a format this custody does not
	// know (a newer custody's) is said to be one, not called malformed
	// for the members that format added. A custody before v2 checked the
	// members first.
	var head struct {
		Format *string `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err == nil && head.Format != nil && *head.Format != Format && *head.Format != FormatV2 {
		return nil, fmt.Errorf("format %q, want %q or %q: a format this custody does not know (a newer custody's production: check it with that custody)", *head.Format, Format, FormatV2)
	}
	if err := exactMembers(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the manifest")
	}
	if m.Format != Format && m.Format != FormatV2 {
		return nil, fmt.Errorf("format %q, want %q or %q", m.Format, Format, FormatV2)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := ValidPath(f.Path); err != nil {
			return nil, err
		}
		if f.Path == ManifestFile || f.Path == ProofFile {
			return nil, fmt.Errorf("file %q cannot be listed in the manifest", f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("file %q listed twice", f.Path)
		}
		seen[f.Path] = true
	}
	for _, p := range append([]string{m.Checkpoint.File, m.VerifierKey}, proofsOf(&m)...) {
		if !seen[p] {
			return nil, fmt.Errorf("%q is named but not listed among the files", p)
		}
	}
	return &m, nil
}

func proofsOf(m *Manifest) []string {
	var ps []string
	for _, c := range m.Conversations {
		ps = append(ps, c.Proof)
		ps = append(ps, c.RSMF...)
	}
	for _, x := range m.Messages {
		ps = append(ps, x.Proof)
	}
	return ps
}

// ValidPath checks a path inside a production: relative, "/"-separated,
// each segment of letters, digits, '.', '_', '-' and '+', not starting
// with '.', at most 255 bytes each and 1024 in all. A manifest naming
// anything else (an absolute path, "..", a backslash) is hostile.
func ValidPath(p string) error {
	if p == "" || len(p) > 1024 {
		return fmt.Errorf("path %q: empty or too long", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg[0] == '.' || len(seg) > 255 {
			return fmt.Errorf("path %q: bad segment %q", p, seg)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+') {
				return fmt.Errorf("path %q: character %q is not allowed", p, c)
			}
		}
	}
	return nil
}

// SafeName turns an id from outside (a conversation or attachment id, a
// file name) into one path segment: kept as it is when ValidPath accepts
// it and it is at most 100 bytes, otherwise replaced character by
// character and cut, with a short hash of the original appended by the
// caller where uniqueness matters.
func SafeName(s string) string {
	if len(s) <= 100 && !strings.Contains(s, "/") && ValidPath(s) == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 100; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+' {
			if b.Len() == 0 && c == '.' {
				c = '_'
			}
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// ProofPath is the proof file of the entry at seq.
func ProofPath(seq uint64) string { return fmt.Sprintf("%s/%012d.proof.json", ProofDir, seq) }
