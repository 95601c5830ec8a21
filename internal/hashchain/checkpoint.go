package hashchain

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a C2SP tlog-checkpoint: the log's origin (also the name of
// the key that signs it), the tree size and the Merkle root at that size.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
	// HasErasure marks a checkpoint that also vouches for the erasure
	// entry at seq Erasure (< Size): its one extension line, "erasure
	// <seq>". Only custody erase, or custody checkpoint --erasure, signs
	// one, so a routine checkpoint signed over an erasure entry someone
	// appended without the key does not make its deletions the
	// custodian's word.
	HasErasure bool
	Erasure    uint64
}

// ErasureExtension starts the extension line by which a checkpoint vouches
// for an erasure entry: "erasure <seq, decimal, no leading zeros>".
const ErasureExtension = "erasure "

// Body returns the checkpoint body, "<origin>\n<size>\n<base64 root>\n",
// with the size in decimal and the root in standard padded base64, and
// the line "erasure <seq>\n" after them when it vouches for an erasure.
func (c Checkpoint) Body() []byte {
	b := log.Checkpoint{Origin: c.Origin, Size: c.Size, Hash: c.Root[:]}.Marshal()
	if c.HasErasure {
		b = strconv.AppendUint(append(b, ErasureExtension...), c.Erasure, 10)
		b = append(b, '\n')
	}
	return b
}

// ParseCheckpointBody parses a checkpoint body. It accepts exactly the bytes
// Body produces: three newline-terminated lines, a non-empty origin without
// control characters, a decimal size without sign or leading zeros, and a
// canonical base64 32-byte root, then at most one extension line, and only
// "erasure <seq>" with seq below the size in the same canonical decimal.
// Any other extension line is rejected, since custody never writes one and
// accepting it would let two different bodies stand for one checkpoint.
func ParseCheckpointBody(b []byte) (Checkpoint, error) {
	c, err := parseBody(b)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("hashchain: parse checkpoint: %w: %w", ErrMalformed, err)
	}
	return c, nil
}

// parseBody is ParseCheckpointBody without the error decoration, so callers
// can add their own operation prefix.
func parseBody(b []byte) (Checkpoint, error) {
	var lc log.Checkpoint
	rest, err := lc.Unmarshal(b)
	if err != nil {
		return Checkpoint{}, err
	}
	if len(lc.Hash) != HashSize {
		return Checkpoint{}, fmt.Errorf("root is %d bytes, want %d", len(lc.Hash), HashSize)
	}
	if err := checkOrigin(lc.Origin); err != nil {
		return Checkpoint{}, err
	}
	c := Checkpoint{Origin: lc.Origin, Size: lc.Size, Root: Hash(lc.Hash)}
	if len(rest) != 0 {
		line, ok := bytes.CutPrefix(rest, []byte(ErasureExtension))
		seq, err := strconv.ParseUint(string(bytes.TrimSuffix(line, []byte("\n"))), 10, 64)
		if !ok || err != nil {
			return Checkpoint{}, errors.New(`unexpected extension lines (the only one custody writes is "erasure <seq>")`)
		}
		if seq >= c.Size {
			return Checkpoint{}, fmt.Errorf("the erasure line names entry %d, outside the tree of size %d", seq, c.Size)
		}
		c.HasErasure, c.Erasure = true, seq
	}
	// The round trip rejects every non-canonical spelling the lenient
	// decoders let through: leading zeros, '\r' inside base64, and so on.
	if !bytes.Equal(c.Body(), b) {
		return Checkpoint{}, errors.New("body is not in canonical form")
	}
	return c, nil
}

// checkOrigin applies the C2SP rules custody relies on: a non-empty line of
// valid UTF-8 with no control characters.
func checkOrigin(origin string) error {
	if origin == "" {
		return errors.New("empty origin")
	}
	if !utf8.ValidString(origin) {
		return errors.New("origin is not valid utf-8")
	}
	if strings.ContainsFunc(origin, unicode.IsControl) {
		return errors.New("origin contains control characters")
	}
	return nil
}

// GenerateKey returns a new Ed25519 signed-note key pair named name, which
// must be a valid note key name (non-empty, no spaces or '+') and is the
// origin of the checkpoints the key will sign. The signer key is a secret.
func GenerateKey(name string) (signerKey, verifierKey string, err error) {
	if err := checkOrigin(name); err != nil {
		return "", "", fmt.Errorf("hashchain: generate key %q: %w: %w", name, ErrBadKey, err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("hashchain: generate key %q: %w: %w", name, ErrBadKey, err)
	}
	// note.GenerateKey does not check the name; parsing the result does,
	// so a key that could never verify is refused here rather than later.
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", "", fmt.Errorf("hashchain: generate key %q: %w: not a valid note key name (no spaces or '+')", name, ErrBadKey)
	}
	return skey, vkey, nil
}

// SignCheckpoint returns c as a C2SP signed note signed with signerKey
// (as produced by GenerateKey). The key name must equal c.Origin.
func SignCheckpoint(c Checkpoint, signerKey string) ([]byte, error) {
	signer, err := note.NewSigner(signerKey)
	if err != nil {
		// The note error never contains key material, but say nothing
		// more about the key itself either: it is a secret.
		return nil, fmt.Errorf("hashchain: sign checkpoint: %w: cannot parse signer key", ErrBadKey)
	}
	if signer.Name() != c.Origin {
		return nil, fmt.Errorf("hashchain: sign checkpoint: %w: key name %q does not match origin %q", ErrBadKey, signer.Name(), c.Origin)
	}
	body := c.Body()
	if _, err := parseBody(body); err != nil {
		return nil, fmt.Errorf("hashchain: sign checkpoint: %w: %w", ErrMalformed, err)
	}
	msg, err := note.Sign(&note.Note{Text: string(body)}, signer)
	if err != nil {
		return nil, fmt.Errorf("hashchain: sign checkpoint: %w: %w", ErrMalformed, err)
	}
	return msg, nil
}

// VerifyCheckpoint opens a signed note, checks that it carries a valid
// signature by verifierKey, that the key name equals the checkpoint origin,
// and returns the parsed checkpoint. Other signatures on the note (such as
// witness cosignatures) are ignored.
func VerifyCheckpoint(signedNote []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		// Said in words, never quoting the key: see VerifierKeyProblem.
		return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: not a verifier key: %s", ErrBadKey, VerifierKeyProblem(verifierKey, err))
	}
	n, err := note.Open(signedNote, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			for _, sig := range unverified.Note.UnverifiedSigs {
				if sig.Name == v.Name() {
					// Signed under the key's name, by another key.
					return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: the signature under the name %q does not verify with the given key (it is by key %08x, the given key is %08x)",
						ErrBadSignature, v.Name(), sig.Hash, v.KeyHash())
				}
			}
			return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: no signature by key %q", ErrBadSignature, v.Name())
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: signature by key %q does not match the text", ErrBadSignature, v.Name())
		default:
			if p := noteProblem(signedNote); p != "" {
				return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: %w: %s", ErrMalformed, err, p)
			}
			return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: %w", ErrMalformed, err)
		}
	}
	c, err := parseBody([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: %w", ErrMalformed, err)
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("hashchain: verify checkpoint: %w: origin %q does not match key name %q", ErrBadSignature, c.Origin, v.Name())
	}
	return c, nil
}

// ParseSignedCheckpoint parses a signed checkpoint without checking any
// signature: its form as a signed note (the rules VerifyCheckpoint
// applies) and its text as a checkpoint body (ParseCheckpointBody). It
// tells a file that is no checkpoint at all (ErrMalformed, saying why),
// which is bad input, from one whose signature VerifyCheckpoint then
// refuses, which is a finding: when it succeeds, VerifyCheckpoint fails
// with no ErrMalformed, whatever the key.
func ParseSignedCheckpoint(signedNote []byte) (Checkpoint, error) {
	// No verifier is known, so a well-formed note is an
	// UnverifiedNoteError and any other error is its form.
	_, err := note.Open(signedNote, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		if err == nil {
			err = errors.New("no signature") // note.Open verified one with no verifier
		}
		if p := noteProblem(signedNote); p != "" {
			return Checkpoint{}, fmt.Errorf("hashchain: parse signed checkpoint: %w: not a signed note: %s", ErrMalformed, p)
		}
		return Checkpoint{}, fmt.Errorf("hashchain: parse signed checkpoint: %w: not a signed note: %w", ErrMalformed, err)
	}
	c, err := parseBody([]byte(unverified.Note.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("hashchain: parse signed checkpoint: %w: a signed note, but not a checkpoint: %w", ErrMalformed, err)
	}
	return c, nil
}

// noteProblem says what makes msg a malformed signed note, by the rules
// note.Open applies (docs/ledger-format.md, "Signed notes"), which only
// says "malformed note"; "" when it finds nothing wrong.
func noteProblem(msg []byte) string {
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRune(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("byte %d is not UTF-8", i)
		case r == '\r':
			return fmt.Sprintf("a carriage return (CR) at byte %d: its lines must end with LF alone", i)
		case r < 0x20 && r != '\n':
			return fmt.Sprintf("a control character (U+%04X) at byte %d", r, i)
		}
		i += size
	}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return "no blank line between its text and its signatures"
	}
	sigs := msg[split+2:]
	if len(sigs) == 0 || sigs[len(sigs)-1] != '\n' {
		return "its last signature line does not end with a newline"
	}
	lines := strings.Split(string(sigs[:len(sigs)-1]), "\n")
	if len(lines) > 100 {
		return fmt.Sprintf("%d signature lines, more than 100", len(lines))
	}
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "— ")
		if !ok {
			return fmt.Sprintf("signature line %d does not start with an em dash (U+2014) and a space", i+1)
		}
		name, b64, _ := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		switch {
		case name == "" || strings.ContainsFunc(name, unicode.IsSpace) || strings.Contains(name, "+"):
			return fmt.Sprintf("signature line %d: its key name is empty or holds white space or '+'", i+1)
		case b64 == "" || err != nil:
			return fmt.Sprintf("signature line %d: its signature is not standard base64", i+1)
		case len(sig) < 5:
			return fmt.Sprintf("signature line %d: its signature is under 5 bytes", i+1)
		}
	}
	return ""
}
