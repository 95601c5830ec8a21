package leaf

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/jsonscan"
)

// ProofFormat is the "format" member of every proof file.
const ProofFormat = "custody-proof/v1"

// Proof is a self-contained inclusion proof: one entry's leaf bytes, its
// position, the audit path to the root of the tree of TreeSize leaves, and
// the signed checkpoint that commits to that root. Anyone holding the
// ledger's verifier key can check it without the ledger (VerifyProof).
// Its JSON form is the proof file of docs/ledger-format.md.
type Proof struct {
	Format     string // ProofFormat
	Index      uint64 // the entry's seq
	TreeSize   uint64 // the checkpoint's size
	Leaf       []byte // the leaf bytes exactly as hashed
	LeafHash   hashchain.Hash
	Inclusion  []hashchain.Hash // audit path, leaf's sibling first
	Checkpoint []byte           // the signed note, with any witness cosignature lines
	// Fields, in a FieldProofFormat proof, are the field values it
	// proves (ProveFields), sorted by name.
	Fields []ProvedField
	// Timestamps are the RFC 3161 tokens stored for the checkpoint, each
	// over SHA-256 of LedgerNote(Checkpoint). Optional; checked by the
	// caller (internal/tsa), not by Verify.
	Timestamps []ProofTimestamp
}

// ProofTimestamp is one timestamp token carried by a proof file.
type ProofTimestamp struct {
	TSA   string // the authority's URL, as configured
	Token []byte // DER TimeStampToken
}

type proofTimestampJSON struct {
	TSA   string `json:"tsa"`
	Token string `json:"token"`
}

// proofJSON is Proof's wire form.
type proofJSON struct {
	Format     string   `json:"format"`
	Index      uint64   `json:"index"`
	TreeSize   uint64   `json:"tree_size"`
	Leaf       string   `json:"leaf"`
	LeafHash   string   `json:"leaf_hash"`
	Inclusion  []string `json:"inclusion"`
	Checkpoint string   `json:"checkpoint"`
	// Timestamps is optional in both formats.
	Timestamps []proofTimestampJSON `json:"timestamps,omitempty"`
	// Fields only in a FieldProofFormat proof.
	Fields map[string]fieldJSON `json:"fields,omitempty"`
}

// MarshalJSON writes the proof file form (see docs/ledger-format.md).
func (p Proof) MarshalJSON() ([]byte, error) {
	w := proofJSON{
		Format:     p.Format,
		Index:      p.Index,
		TreeSize:   p.TreeSize,
		Leaf:       base64.StdEncoding.EncodeToString(p.Leaf),
		LeafHash:   p.LeafHash.String(),
		Inclusion:  make([]string, len(p.Inclusion)),
		Checkpoint: string(p.Checkpoint),
	}
	for i, h := range p.Inclusion {
		w.Inclusion[i] = h.String()
	}
	for _, t := range p.Timestamps {
		w.Timestamps = append(w.Timestamps, proofTimestampJSON{TSA: t.TSA, Token: base64.StdEncoding.EncodeToString(t.Token)})
	}
	if p.Format == FieldProofFormat {
		w.Fields = fieldsJSON(p.Fields)
	}
	return json.Marshal(w)
}

// maxProofFile bounds what ParseProof reads: a proof for a tree of 2^64
// leaves is 64 hashes, so anything much larger is not a proof; timestamp
// tokens (a few KiB each with their certificates) take the rest.
const maxProofFile = 256 << 10

// maxProofTimestamps bounds the tokens a proof file carries.
const maxProofTimestamps = 16

// ParseProof parses a proof file strictly: the exact members of the
// format, each once and spelled exactly, no others, no trailing data,
// canonical base64 and lower-case hex, at most 64 path hashes, index below
// tree_size. It checks syntax only; VerifyProof
// checks what the proof says. Errors wrap ErrMalformedProof.
func ParseProof(data []byte) (Proof, error) {
	p, err := parseProof(data)
	if err != nil {
		return Proof{}, fmt.Errorf("leaf: parse proof: %w: %w", ErrMalformedProof, err)
	}
	return p, nil
}

func parseProof(data []byte) (Proof, error) {
	if len(data) > maxProofFile {
		return Proof{}, fmt.Errorf("file is %d bytes, more than a proof can be", len(data))
	}
	fields, err := checkProofMembers(data)
	if err != nil {
		return Proof{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w struct {
		proofJSON
		Fields json.RawMessage `json:"fields"`
	}
	if err := dec.Decode(&w); err != nil {
		return Proof{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Proof{}, errors.New("trailing data after the proof object")
	}
	var proved []ProvedField
	switch {
	case w.Format == ProofFormat && !fields:
	case w.Format == FieldProofFormat && fields:
		if proved, err = parseFields(w.Fields); err != nil {
			return Proof{}, err
		}
	case w.Format == ProofFormat || w.Format == FieldProofFormat:
		return Proof{}, fmt.Errorf("format %q with the members of the other format", w.Format)
	default:
		return Proof{}, fmt.Errorf("format %q, want %q or %q", w.Format, ProofFormat, FieldProofFormat)
	}
	if w.TreeSize == 0 || w.Index >= w.TreeSize {
		return Proof{}, fmt.Errorf("index %d is not inside tree size %d", w.Index, w.TreeSize)
	}
	leaf, err := base64.StdEncoding.Strict().DecodeString(w.Leaf)
	if err != nil {
		return Proof{}, fmt.Errorf("leaf: %w", err)
	}
	if len(leaf) == 0 {
		return Proof{}, errors.New("leaf is empty")
	}
	p := Proof{Format: w.Format, Index: w.Index, TreeSize: w.TreeSize, Leaf: leaf, Checkpoint: []byte(w.Checkpoint), Fields: proved}
	if p.LeafHash, err = parseLowerHash(w.LeafHash); err != nil {
		return Proof{}, fmt.Errorf("leaf_hash: %w", err)
	}
	if w.Inclusion == nil {
		return Proof{}, errors.New("inclusion is missing")
	}
	if len(w.Inclusion) > 64 {
		return Proof{}, fmt.Errorf("inclusion has %d hashes, at most 64 are possible", len(w.Inclusion))
	}
	p.Inclusion = make([]hashchain.Hash, len(w.Inclusion))
	for i, s := range w.Inclusion {
		if p.Inclusion[i], err = parseLowerHash(s); err != nil {
			return Proof{}, fmt.Errorf("inclusion[%d]: %w", i, err)
		}
	}
	if len(p.Checkpoint) == 0 {
		return Proof{}, errors.New("checkpoint is missing")
	}
	if len(w.Timestamps) > maxProofTimestamps {
		return Proof{}, fmt.Errorf("%d timestamps, at most %d", len(w.Timestamps), maxProofTimestamps)
	}
	for i, t := range w.Timestamps {
		tok, err := base64.StdEncoding.Strict().DecodeString(t.Token)
		if err != nil || len(tok) == 0 || t.TSA == "" {
			return Proof{}, fmt.Errorf("timestamps[%d]: want a tsa and a base64 token", i)
		}
		p.Timestamps = append(p.Timestamps, ProofTimestamp{TSA: t.TSA, Token: tok})
	}
	return p, nil
}

// proofMembers are the members of a proof file: the seven every one has
// (proofRequired), then timestamps and fields.
var proofMembers = [...]string{"format", "index", "tree_size", "leaf", "leaf_hash", "inclusion", "checkpoint", "timestamps", "fields"}

const (
	proofRequired = 1<<7 - 1
	proofFields   = 1 << 8
)

// timestampMembers are the members of each of a proof's timestamps, both
// required.
var timestampMembers = []string{"tsa", "token"}

// checkProofMembers checks that data is one object with each member of
// the format exactly once, spelled exactly, timestamps at most once (its
// elements objects of exactly tsa and token) and fields at most once
// (reported: a field proof; parseFields checks its names).
// encoding/json alone would match names without regard to case (and
// fold ſ to s, the Kelvin sign to k) and keep the last of a repeated
// member, and another reader (jq, the format's Python verifier) does
// not: a proof must read the same everywhere, so the names are checked
// exactly (jsonscan.Members) before encoding/json decodes them.
func checkProofMembers(data []byte) (fields bool, err error) {
	i := jsonscan.Space(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false, errors.New("not a json object")
	}
	seen, _, err := jsonscan.Members(data, i, proofMembers[:], func(k, v int) (int, error) {
		switch proofMembers[k] {
		case "timestamps":
			return checkTimestampMembers(data, v)
		case "fields":
			return jsonscan.Skip(data, v, 4) // parseFields reads it
		}
		return jsonscan.Skip(data, v, 1) // inclusion is an array of strings
	})
	if err != nil {
		return false, namesError(err)
	}
	if m := jsonscan.Missing(seen, proofRequired, proofMembers[:]); m != "" {
		return false, fmt.Errorf("member %q is missing", m)
	}
	return seen&proofFields != 0, nil
}

// checkTimestampMembers checks a proof's timestamps at b[i]: an array of
// objects, each with exactly the members tsa and token.
func checkTimestampMembers(b []byte, i int) (int, error) {
	n := 0
	var elemErr error
	end, err := jsonscan.Array(b, i, func(v int) (int, error) {
		if v >= len(b) || b[v] != '{' {
			elemErr = fmt.Errorf("timestamps[%d] is not an object", n)
			return v, elemErr
		}
		seen, end, err := jsonscan.Members(b, v, timestampMembers, func(_, v int) (int, error) { return jsonscan.Skip(b, v, 0) })
		if err != nil {
			elemErr = fmt.Errorf("timestamps[%d]: %w", n, namesError(err))
		} else if m := jsonscan.Missing(seen, 1<<len(timestampMembers)-1, timestampMembers); m != "" {
			elemErr = fmt.Errorf("timestamps[%d]: %s is missing", n, m)
		}
		n++
		return end, elemErr
	})
	switch {
	case elemErr != nil:
		return end, elemErr
	case err != nil:
		return end, fmt.Errorf("timestamps: %w", err)
	}
	return end, nil
}

// namesError words a jsonscan.Members refusal as what is wrong with which
// member, without the scanner's offset; other errors are left as they are.
func namesError(err error) error {
	var se *jsonscan.SyntaxError
	if errors.As(err, &se) && (se.Err == jsonscan.ErrUnknownMember || se.Err == jsonscan.ErrDuplicateKey) {
		return errors.New(se.What)
	}
	return err
}

// parseLowerHash accepts exactly 64 lower-case hex digits.
func parseLowerHash(s string) (hashchain.Hash, error) {
	h, err := hashchain.ParseHash(s)
	if err != nil {
		return hashchain.Hash{}, err
	}
	if h.String() != s {
		return hashchain.Hash{}, errors.New("hex must be lower-case")
	}
	return h, nil
}

// ProofResult is what a verified proof establishes.
type ProofResult struct {
	Entry      Entry                // decoded from the proved leaf; Seq and LeafHash set
	Checkpoint hashchain.Checkpoint // the signed checkpoint it is included in
	// Fields are the field values a field proof proved (opened against
	// the leaf's commitments, or equal to its clear members).
	Fields []ProvedField
}

// VerifyProof checks a proof file with nothing but the ledger's verifier
// key: the checkpoint's signature, that the checkpoint's size is the
// proof's tree size, that the leaf hashes to leaf_hash, that the
// inclusion path leads from it to the signed root, and that the leaf is
// strict (CheckLeaf). Errors wrap ErrMalformedProof,
// hashchain.ErrBadSignature, hashchain.ErrBadKey, hashchain.ErrProof or
// one of CheckLeaf's.
//
// data is either form of a proof file: the JSON one, or C2SP tlog-proof
// (ParseTlogProof), told apart by the tlog-proof header line.
func VerifyProof(data []byte, verifierKey string) (ProofResult, error) {
	parse := ParseProof
	if IsTlogProof(data) {
		parse = ParseTlogProof
	}
	p, err := parse(data)
	if err != nil {
		return ProofResult{}, err
	}
	return p.Verify(verifierKey)
}

// Verify is VerifyProof on a parsed proof.
func (p Proof) Verify(verifierKey string) (ProofResult, error) {
	cp, err := hashchain.VerifyCheckpoint(p.Checkpoint, verifierKey)
	if err != nil {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: checkpoint: %w", err)
	}
	if cp.Size != p.TreeSize {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: %w: tree_size %d but the checkpoint is of size %d", hashchain.ErrProof, p.TreeSize, cp.Size)
	}
	lh := hashchain.LeafHash(p.Leaf)
	if lh != p.LeafHash {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: %w: the leaf hashes to %s, not to leaf_hash %s", hashchain.ErrProof, lh, p.LeafHash)
	}
	if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, lh, p.Inclusion, cp.Root); err != nil {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: %w", err)
	}
	if err := CheckLeaf(p.Leaf); err != nil {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: the proved leaf: %w", err)
	}
	e, err := DecodeLeaf(p.Leaf)
	if err != nil {
		return ProofResult{}, fmt.Errorf("leaf: verify proof: the proved leaf is not a custody entry: %w", err)
	}
	e.Seq, e.LeafHash = p.Index, lh
	if p.Format == FieldProofFormat {
		if err := checkFields(&e, p.Fields); err != nil {
			return ProofResult{}, fmt.Errorf("leaf: verify proof: %w: %w", hashchain.ErrProof, err)
		}
	}
	return ProofResult{Entry: e, Checkpoint: cp, Fields: p.Fields}, nil
}
