package leaf

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TlogProofHeader is the first line of a C2SP tlog-proof.
const TlogProofHeader = "c2sp.org/tlog-proof@v1"

// IsTlogProof reports whether data is (meant to be) a C2SP tlog-proof:
// one whose line endings an editor or a mail client turned into CRLF is
// too, so that ParseTlogProof says what is wrong with it.
func IsTlogProof(data []byte) bool {
	return bytes.HasPrefix(data, []byte(TlogProofHeader+"\n")) || bytes.HasPrefix(data, []byte(TlogProofHeader+"\r\n"))
}

// MarshalTlogProof writes p as a C2SP tlog-proof
// (https://c2sp.org/tlog-proof):
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 of the leaf bytes>
//	index <seq>
//	<base64 audit path hash, one a line, the leaf's sibling first>
//	<empty line>
//	<the signed checkpoint, with any cosignature lines>
//
// The "extra" data is the leaf, from which the record hash
// SHA-256(00 ‖ leaf) is rebuilt. A tlog-proof carries no timestamp
// tokens; the JSON proof file does.
func MarshalTlogProof(p Proof) []byte {
	var b bytes.Buffer
	b.WriteString(TlogProofHeader + "\n")
	b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Leaf) + "\n")
	b.WriteString("index " + strconv.FormatUint(p.Index, 10) + "\n")
	for _, h := range p.Inclusion {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseTlogProof parses a C2SP tlog-proof written by MarshalTlogProof,
// strictly: the header, an extra line (custody's proofs always carry the
// leaf there), the index in decimal without leading zeros, at most 64
// canonical base64 SHA-256 hashes, an empty line, and the checkpoint, whose
// size is the proof's tree size. It checks syntax only; Verify checks what
// it says. Errors wrap ErrMalformedProof.
func ParseTlogProof(data []byte) (Proof, error) {
	p, err := parseTlogProof(data)
	if err != nil {
		return Proof{}, fmt.Errorf("leaf: parse tlog-proof: %w: %w", ErrMalformedProof, err)
	}
	return p, nil
}

func parseTlogProof(data []byte) (Proof, error) {
	if len(data) > maxProofFile {
		return Proof{}, fmt.Errorf("file is %d bytes, more than a proof can be", len(data))
	}
	if bytes.HasPrefix(data, []byte(TlogProofHeader+"\r\n")) {
		// Not read as if they were LF, as a checkpoint file's are: the
		// format's own verifier (docs/ledger-format.md) reads the bytes
		// as they are, and a proof must read the same everywhere.
		return Proof{}, errors.New("its lines end in CRLF (saved by an editor or a mail client that changes line endings): a tlog-proof's lines end in LF alone; convert it back (dos2unix) or use the proof file as custody wrote it")
	}
	head, note, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return Proof{}, errors.New("no empty line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) < 3 || lines[0] != TlogProofHeader {
		return Proof{}, fmt.Errorf("the first line is not %q", TlogProofHeader)
	}
	extra, ok := strings.CutPrefix(lines[1], "extra ")
	if !ok {
		return Proof{}, errors.New("no extra line: custody's tlog-proofs carry the leaf there")
	}
	leafBytes, err := base64.StdEncoding.Strict().DecodeString(extra)
	if err != nil || len(leafBytes) == 0 {
		return Proof{}, errors.New("extra is not the base64 of a leaf")
	}
	idx, ok := strings.CutPrefix(lines[2], "index ")
	index, err := strconv.ParseUint(idx, 10, 64)
	if !ok || err != nil || strconv.FormatUint(index, 10) != idx {
		return Proof{}, errors.New("the third line is not \"index <decimal>\"")
	}
	path := lines[3:]
	if len(path) > 64 {
		return Proof{}, fmt.Errorf("%d path hashes, at most 64 are possible", len(path))
	}
	p := Proof{Format: ProofFormat, Index: index, Leaf: leafBytes, LeafHash: hashchain.LeafHash(leafBytes),
		Inclusion: make([]hashchain.Hash, len(path)), Checkpoint: note}
	for i, l := range path {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != hashchain.HashSize || base64.StdEncoding.EncodeToString(h) != l {
			return Proof{}, fmt.Errorf("path line %d is not a base64 SHA-256 hash", i+1)
		}
		p.Inclusion[i] = hashchain.Hash(h)
	}
	// The tree size is the checkpoint's (Verify checks its signature).
	body, _, ok := bytes.Cut(note, []byte("\n\n"))
	if !ok {
		return Proof{}, errors.New("the checkpoint is not a signed note")
	}
	cp, err := hashchain.ParseCheckpointBody(append(body, '\n'))
	if err != nil {
		return Proof{}, fmt.Errorf("checkpoint: %w", err)
	}
	if cp.Size == 0 || index >= cp.Size {
		return Proof{}, fmt.Errorf("index %d is not inside tree size %d", index, cp.Size)
	}
	p.TreeSize = cp.Size
	return p, nil
}

// LedgerNote returns the checkpoint note as the ledger signed and stored
// it — its text, the empty line and the signature lines by the key named
// for its origin — without the cosignature lines witnesses added. A
// checkpoint's timestamp tokens are over SHA-256 of these bytes.
func LedgerNote(signedNote []byte) []byte {
	text, sigs, ok := bytes.Cut(signedNote, []byte("\n\n"))
	if !ok {
		return signedNote
	}
	origin, _, _ := bytes.Cut(text, []byte("\n"))
	out := append(append([]byte(nil), text...), '\n', '\n')
	prefix := append([]byte("— "), origin...)
	prefix = append(prefix, ' ')
	for _, l := range bytes.SplitAfter(sigs, []byte("\n")) {
		if bytes.HasPrefix(l, prefix) {
			out = append(out, l...)
		}
	}
	return out
}
