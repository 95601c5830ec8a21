package witness

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/fsinfo"
	"github.com/custodyhq/custody/internal/hashchain"
)

// Errors Add returns, each answered with its tlog-witness status.
var (
	ErrBadRequest    = errors.New("malformed request")                             // 400
	ErrUntrusted     = errors.New("no signature by a trusted key")                 // 403
	ErrUnknownOrigin = errors.New("unknown log origin")                            // 404
	ErrBadProof      = errors.New("the consistency proof does not verify")         // 422
	ErrConflict      = errors.New("conflicts with the latest cosigned checkpoint") // 409
)

// ConflictError is a 409: the request's old size is not the size the
// witness last cosigned (Size), or the same size came with another root
// (a fork).
type ConflictError struct {
	Size   uint64 // the size of the latest checkpoint the witness cosigned
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("witness: %v: %s (the witness has cosigned size %d)", ErrConflict, e.Reason, e.Size)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// MaxProofLines is tlog-witness's limit on consistency proof lines.
const MaxProofLines = 63

// Request is an add-checkpoint request.
type Request struct {
	OldSize    uint64
	Proof      []hashchain.Hash
	Checkpoint []byte // the signed note
}

// Marshal returns the request body.
func (r Request) Marshal() []byte {
	var b bytes.Buffer
	b.Write(MarshalProof(r.OldSize, r.Proof))
	b.WriteByte('\n')
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// MarshalProof is the head of a request: the old size line and the proof
// lines (the form of 'custody witness proof' files).
func MarshalProof(old uint64, proof []hashchain.Hash) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseRequest parses an add-checkpoint body strictly.
func ParseRequest(body []byte) (Request, error) {
	i := bytes.Index(body, []byte("\n\n"))
	if i < 0 {
		return Request{}, fmt.Errorf("witness: %w: no empty line before the checkpoint", ErrBadRequest)
	}
	old, proof, err := ParseProof(body[:i+1])
	if err != nil {
		return Request{}, err
	}
	return Request{OldSize: old, Proof: proof, Checkpoint: body[i+2:]}, nil
}

// ParseProof parses "old N\n" and the proof lines after it, each ending
// in a newline.
func ParseProof(b []byte) (uint64, []hashchain.Hash, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return 0, nil, fmt.Errorf("witness: %w: lines must end in a newline", ErrBadRequest)
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	sz, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(sz, 10, 64)
	if !ok || err != nil || (len(sz) > 1 && sz[0] == '0') {
		return 0, nil, fmt.Errorf("witness: %w: the first line is not \"old <size>\"", ErrBadRequest)
	}
	if len(lines)-1 > MaxProofLines {
		return 0, nil, fmt.Errorf("witness: %w: %d proof lines, at most %d", ErrBadRequest, len(lines)-1, MaxProofLines)
	}
	proof := make([]hashchain.Hash, 0, len(lines)-1)
	for n, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != hashchain.HashSize || base64.StdEncoding.EncodeToString(h) != l {
			return 0, nil, fmt.Errorf("witness: %w: proof line %d is not a base64 SHA-256 hash", ErrBadRequest, n+1)
		}
		proof = append(proof, hashchain.Hash(h))
	}
	return old, proof, nil
}

// Witness cosigns checkpoints of the logs it knows.
type Witness struct {
	signer *fnote.Signer
	logs   map[string]string // origin → the log's verifier key
	dir    string            // one state file per origin

	mu       sync.Mutex    // makes check-and-persist atomic (tlog-witness's race) in this process
	held     *stateLock    // the state folder's lock, held until Close (Hold)
	lockWait time.Duration // how long Add waits for a state held by another process
}

// testAfterLoad, when set, runs in Add between loading and saving the
// state: where another witness process could act.
var testAfterLoad func()

// GenerateKey makes a witness key pair named name: the signer key
// (PRIVATE+KEY+…, keep it secret) and the cosignature/v1 verifier key
// (name+hash+base64(0x04 ‖ public key)) verifiers pass to verify --witness.
func GenerateKey(name string) (signerKey, verifierKey string, err error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("witness: generate key: %w", err)
	}
	if _, err := fnote.NewSignerForCosignatureV1(skey); err != nil {
		return "", "", fmt.Errorf("witness: generate key: %w", err)
	}
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		return "", "", fmt.Errorf("witness: generate key: %w", err)
	}
	return skey, cv, nil
}

// New makes a witness signing with signerKey, trusting the logs whose
// verifier keys are logKeys (each named for its origin), keeping its
// state in stateDir (created if missing).
func New(signerKey string, logKeys []string, stateDir string) (*Witness, error) {
	// A key that does not parse is said what is wrong with it, never
	// quoted: what was given may be any file, a secret included.
	s, err := fnote.NewSignerForCosignatureV1(signerKey)
	if err != nil {
		return nil, fmt.Errorf("witness: signer key: not a witness signer key: %s", hashchain.SignerKeyProblem(signerKey, err))
	}
	w := &Witness{signer: s, logs: map[string]string{}, dir: stateDir, lockWait: LockWait}
	for i, k := range logKeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("witness: log key %d: not a verifier key: %s", i+1, hashchain.VerifierKeyProblem(k, err))
		}
		w.logs[v.Name()] = k
	}
	if len(w.logs) == 0 {
		return nil, errors.New("witness: no log key: a witness cosigns only the logs it is told to trust")
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, fmt.Errorf("witness: state: %w", err)
	}
	return w, nil
}

// Name is the witness key's name (the cosignature lines').
func (w *Witness) Name() string { return w.signer.Name() }

// Add checks req as tlog-witness says and returns the cosignature lines
// ("— <name> <base64>\n"). The new checkpoint is persisted before Add
// returns. Unless the witness holds its state (Hold), Add takes the state
// folder's lock for the check and the save, waiting briefly for another
// witness process (*StateInUseError): across processes as w.mu within one.
func (w *Witness) Add(req Request) ([]byte, error) {
	origin, _, ok := strings.Cut(string(req.Checkpoint), "\n")
	if !ok {
		return nil, fmt.Errorf("witness: %w: the checkpoint has no origin line", ErrBadRequest)
	}
	key, ok := w.logs[origin]
	if !ok {
		return nil, fmt.Errorf("witness: %w: %q", ErrUnknownOrigin, origin)
	}
	cp, err := hashchain.VerifyCheckpoint(req.Checkpoint, key)
	if err != nil {
		if errors.Is(err, hashchain.ErrMalformed) {
			return nil, fmt.Errorf("witness: %w: %w", ErrBadRequest, err)
		}
		return nil, fmt.Errorf("witness: %w: %w", ErrUntrusted, err)
	}
	if req.OldSize > cp.Size {
		return nil, fmt.Errorf("witness: %w: old size %d is larger than the checkpoint's %d", ErrBadRequest, req.OldSize, cp.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		l, err := lockState(w.dir, "custody witness", w.lockWait)
		if err != nil {
			return nil, err
		}
		defer l.release()
	}
	prev, err := w.load(origin, key)
	if err != nil {
		return nil, err
	}
	if testAfterLoad != nil {
		testAfterLoad()
	}
	if req.OldSize != prev.Size {
		return nil, &ConflictError{Size: prev.Size, Reason: fmt.Sprintf("the request's old size is %d", req.OldSize)}
	}
	switch {
	case req.OldSize == cp.Size:
		if cp.Root != prev.Root {
			return nil, w.keep(req, &ConflictError{Size: prev.Size, Reason: fmt.Sprintf("a fork: size %d has root %s here, and the witness cosigned root %s", cp.Size, cp.Root, prev.Root)})
		}
		if len(req.Proof) != 0 {
			return nil, fmt.Errorf("witness: %w: a proof between equal sizes must be empty", ErrBadProof)
		}
	case req.OldSize == 0:
		if len(req.Proof) != 0 {
			return nil, fmt.Errorf("witness: %w: the proof from size 0 must be empty", ErrBadProof)
		}
	default:
		if err := hashchain.VerifyConsistency(prev.Size, cp.Size, prev.Root, cp.Root, req.Proof); err != nil {
			return nil, w.keep(req, fmt.Errorf("witness: %w: %w", ErrBadProof, err))
		}
	}
	signed, err := note.Sign(&note.Note{Text: string(cp.Body())}, w.signer)
	if err != nil {
		return nil, fmt.Errorf("witness: cosign: %w", err)
	}
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	if err := w.save(origin, req.Checkpoint); err != nil {
		return nil, err
	}
	return sigs, nil
}

// RefusedDir is the folder, under the state folder, where a witness keeps
// the requests it refused as a fork or for a failing proof: each holds a
// checkpoint the log signed that contradicts one the witness cosigned,
// which is evidence of the log's misbehaviour (tlog-witness allows it).
const RefusedDir = "refused"

// keep writes the refused request to RefusedDir and returns err (with
// the file named, or the write's failure joined).
func (w *Witness) keep(req Request, err error) error {
	dir := filepath.Join(w.dir, RefusedDir)
	if e := os.MkdirAll(dir, 0o755); e != nil {
		return errors.Join(err, fmt.Errorf("witness: keeping the refused request: %w", e))
	}
	f, e := os.CreateTemp(dir, "add-checkpoint-*.txt")
	if e != nil {
		return errors.Join(err, fmt.Errorf("witness: keeping the refused request: %w", e))
	}
	_, e = f.Write(req.Marshal())
	if e2 := f.Close(); e == nil {
		e = e2
	}
	if e != nil {
		return errors.Join(err, fmt.Errorf("witness: keeping the refused request: %w", e))
	}
	return fmt.Errorf("%w (the request is kept as %s)", err, f.Name())
}

// state is the latest cosigned checkpoint of an origin.
func (w *Witness) statePath(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(w.dir, hex.EncodeToString(h[:8])+".checkpoint")
}

func (w *Witness) load(origin, key string) (hashchain.Checkpoint, error) {
	b, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, os.ErrNotExist) {
		return hashchain.Checkpoint{Origin: origin, Root: hashchain.EmptyRoot}, nil
	}
	if err != nil {
		return hashchain.Checkpoint{}, fmt.Errorf("witness: state: %w", err)
	}
	cp, err := hashchain.VerifyCheckpoint(b, key)
	if err != nil {
		return hashchain.Checkpoint{}, fmt.Errorf("witness: state of %q is damaged: %w", origin, err)
	}
	return cp, nil
}

// save replaces the origin's state file atomically (write, fsync, rename,
// fsync the folder): a rename not yet on disk could fall back, after a
// power loss, to the previous checkpoint and reopen the fork it closed.
func (w *Witness) save(origin string, signedNote []byte) error {
	p := w.statePath(origin)
	f, err := os.CreateTemp(w.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("witness: state: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(signedNote); err != nil {
		f.Close()
		return fmt.Errorf("witness: state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("witness: state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("witness: state: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("witness: state: %w", err)
	}
	if err := fsinfo.SyncDir(w.dir); err != nil {
		return fmt.Errorf("witness: state: %w", err)
	}
	return nil
}
