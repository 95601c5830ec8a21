package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/hashchain"
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
	Checkpoint []byte           // the signed note
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
	return json.Marshal(w)
}

// maxProofFile bounds what ParseProof reads: a proof for a tree of 2^64
// leaves is 64 hashes, so anything much larger is not a proof.
const maxProofFile = 64 << 10

// ParseProof parses a proof file strictly: the exact members of the format,
// no others, no trailing data, canonical base64 and lower-case hex, at most
// 64 path hashes, index below tree_size. It checks syntax only; VerifyProof
// checks what the proof says. Errors wrap ErrMalformedProof.
func ParseProof(data []byte) (Proof, error) {
	p, err := parseProof(data)
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: parse proof: %w: %w", ErrMalformedProof, err)
	}
	return p, nil
}

func parseProof(data []byte) (Proof, error) {
	if len(data) > maxProofFile {
		return Proof{}, fmt.Errorf("file is %d bytes, more than a proof can be", len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w proofJSON
	if err := dec.Decode(&w); err != nil {
		return Proof{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Proof{}, errors.New("trailing data after the proof object")
	}
	if w.Format != ProofFormat {
		return Proof{}, fmt.Errorf("format %q, want %q", w.Format, ProofFormat)
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
	p := Proof{Format: w.Format, Index: w.Index, TreeSize: w.TreeSize, Leaf: leaf, Checkpoint: []byte(w.Checkpoint)}
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
	return p, nil
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
}

// VerifyProof checks a proof file with nothing but the ledger's verifier
// key: the checkpoint's signature, that the checkpoint's size is the
// proof's tree size, that the leaf hashes to leaf_hash, and that the
// inclusion path leads from it to the signed root. Errors wrap
// ErrMalformedProof, hashchain.ErrBadSignature, hashchain.ErrBadKey or
// hashchain.ErrProof.
func VerifyProof(data []byte, verifierKey string) (ProofResult, error) {
	p, err := ParseProof(data)
	if err != nil {
		return ProofResult{}, err
	}
	return p.Verify(verifierKey)
}

// Verify is VerifyProof on a parsed proof.
func (p Proof) Verify(verifierKey string) (ProofResult, error) {
	cp, err := hashchain.VerifyCheckpoint(p.Checkpoint, verifierKey)
	if err != nil {
		return ProofResult{}, fmt.Errorf("ledger: verify proof: checkpoint: %w", err)
	}
	if cp.Size != p.TreeSize {
		return ProofResult{}, fmt.Errorf("ledger: verify proof: %w: tree_size %d but the checkpoint is of size %d", hashchain.ErrProof, p.TreeSize, cp.Size)
	}
	lh := hashchain.LeafHash(p.Leaf)
	if lh != p.LeafHash {
		return ProofResult{}, fmt.Errorf("ledger: verify proof: %w: the leaf hashes to %s, not to leaf_hash %s", hashchain.ErrProof, lh, p.LeafHash)
	}
	if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, lh, p.Inclusion, cp.Root); err != nil {
		return ProofResult{}, fmt.Errorf("ledger: verify proof: %w", err)
	}
	e, err := DecodeLeaf(p.Leaf)
	if err != nil {
		return ProofResult{}, fmt.Errorf("ledger: verify proof: the proved leaf is not a custody entry: %w", err)
	}
	e.Seq, e.LeafHash = p.Index, lh
	return ProofResult{Entry: e, Checkpoint: cp}, nil
}

// Prove builds the inclusion proof of the entry at seq against the latest
// stored checkpoint that covers it (ErrNotCovered if none does). The proof
// is checked before it is returned, so a ledger whose stored hashes no
// longer match its checkpoint yields ErrInconsistent, not a bad proof.
func (l *Ledger) Prove(ctx context.Context, seq uint64) (Proof, error) {
	tx, err := l.rdb.BeginTx(ctx, nil)
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	defer tx.Rollback()
	head, err := readHead(ctx, tx)
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	if seq >= head.Size {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w (the ledger has %d entries)", seq, ErrNotFound, head.Size)
	}
	cps, err := listCheckpoints(ctx, tx, `SELECT id, size, root, note, created_at FROM checkpoints WHERE size > ? ORDER BY id DESC LIMIT 1`, int64(seq))
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	if len(cps) == 0 {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, ErrNotCovered)
	}
	cp := cps[0]
	noted, err := NoteCheckpoint(cp.Note)
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: checkpoint %d: %w", seq, ErrInconsistent, cp.ID, err)
	}
	if noted.Size != cp.Size || noted.Root != cp.Root || noted.Origin != l.origin {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: checkpoint %d's columns disagree with its note", seq, ErrInconsistent, cp.ID)
	}
	if cp.Size > head.Size {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: ledger truncated: checkpoint has %d entries, ledger has %d", seq, ErrInconsistent, cp.Size, head.Size)
	}

	hashes := make([]hashchain.Hash, 0, cp.Size)
	rows, err := tx.QueryContext(ctx, `SELECT seq, leaf_hash FROM entries WHERE seq < ? ORDER BY seq`, int64(cp.Size))
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		var lh []byte
		if err := rows.Scan(&s, &lh); err != nil {
			return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
		}
		if uint64(s) != uint64(len(hashes)) || len(lh) != hashchain.HashSize {
			return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: seq %d: missing entry or damaged row", seq, ErrInconsistent, len(hashes))
		}
		hashes = append(hashes, hashchain.Hash(lh))
	}
	if err := rows.Err(); err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	rows.Close()
	var leaf []byte
	if err := tx.QueryRowContext(ctx, `SELECT leaf FROM entries WHERE seq = ?`, int64(seq)).Scan(&leaf); err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, classify(err))
	}
	path, err := hashchain.InclusionProof(hashes, seq)
	if err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w", seq, err)
	}
	p := Proof{
		Format:     ProofFormat,
		Index:      seq,
		TreeSize:   cp.Size,
		Leaf:       leaf,
		LeafHash:   hashchain.LeafHash(leaf),
		Inclusion:  path,
		Checkpoint: cp.Note,
	}
	if p.LeafHash != hashes[seq] {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: the leaf does not hash to its stored leaf hash", seq, ErrInconsistent)
	}
	if err := hashchain.VerifyInclusion(p.Index, p.TreeSize, p.LeafHash, p.Inclusion, cp.Root); err != nil {
		return Proof{}, fmt.Errorf("ledger: prove seq %d: %w: the stored leaf hashes do not have checkpoint %d's root", seq, ErrInconsistent, cp.ID)
	}
	return p, nil
}
