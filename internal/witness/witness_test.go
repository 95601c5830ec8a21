package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
)

// testLog is a log of leaves with its signing key.
type testLog struct {
	t          *testing.T
	origin     string
	skey, vkey string
	leaves     []hashchain.Hash
}

func newLog(t *testing.T, origin string, n int, salt string) *testLog {
	t.Helper()
	skey, vkey, err := hashchain.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLog{t: t, origin: origin, skey: skey, vkey: vkey}
	l.grow(n, salt)
	return l
}

func (l *testLog) grow(n int, salt string) {
	for i := 0; i < n; i++ {
		l.leaves = append(l.leaves, hashchain.LeafHash([]byte(fmt.Sprintf("%s %d", salt, len(l.leaves)))))
	}
}

// checkpoint signs the tree of the first n leaves.
func (l *testLog) checkpoint(n uint64) []byte {
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: l.origin, Size: n, Root: hashchain.Root(l.leaves[:n])}, l.skey)
	if err != nil {
		l.t.Fatal(err)
	}
	return note
}

func (l *testLog) proof(old, n uint64) []hashchain.Hash {
	p, err := hashchain.ConsistencyProof(l.leaves[:n], old)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

func newWitness(t *testing.T, logs ...*testLog) (*Witness, string) {
	t.Helper()
	skey, vkey, err := GenerateKey("witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range logs {
		keys = append(keys, l.vkey)
	}
	w, err := New(skey, keys, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return w, vkey
}

// checkCosignature checks a cosignature line byte by byte against C2SP
// tlog-cosignature, without the note libraries: key ID, timestamp, and
// the Ed25519 signature over "cosignature/v1\ntime T\n" ‖ body.
func checkCosignature(t *testing.T, line []byte, vkey string, body []byte) {
	t.Helper()
	name, rest, _ := strings.Cut(vkey, "+")
	_, key64, _ := strings.Cut(rest, "+")
	key, _ := base64.StdEncoding.DecodeString(key64)
	if len(key) != 33 || key[0] != 0x04 {
		t.Fatalf("verifier key is not type 0x04: %x", key)
	}
	want := "— " + name + " "
	if !bytes.HasPrefix(line, []byte(want)) || !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("cosignature line %q", line)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(string(line[len(want):]), "\n"))
	if err != nil || len(sig) != 4+8+64 {
		t.Fatalf("signature is %d bytes (%v), want 76", len(sig), err)
	}
	id := sha256.Sum256(append([]byte(name+"\n"), key...))
	if !bytes.Equal(sig[:4], id[:4]) {
		t.Fatalf("key ID %x, want %x", sig[:4], id[:4])
	}
	ts := binary.BigEndian.Uint64(sig[4:12])
	if d := time.Since(time.Unix(int64(ts), 0)); d < -time.Minute || d > time.Minute {
		t.Fatalf("timestamp %d is not now", ts)
	}
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, body)
	if !ed25519.Verify(ed25519.PublicKey(key[1:]), msg, sig[12:]) {
		t.Fatal("the Ed25519 signature does not verify")
	}
}

func body(t *testing.T, note []byte) []byte {
	b, _, ok := bytes.Cut(note, []byte("\n\n"))
	if !ok {
		t.Fatal("not a note")
	}
	return append(b, '\n')
}

func TestConsistentSequence(t *testing.T) {
	l := newLog(t, "custody/test-1", 20, "a")
	w, vkey := newWitness(t, l)
	var old uint64
	for _, n := range []uint64{0, 3, 3, 8, 13, 20} {
		sigs, err := w.Add(Request{OldSize: old, Proof: l.proof(old, n), Checkpoint: l.checkpoint(n)})
		if err != nil {
			t.Fatalf("%d -> %d: %v", old, n, err)
		}
		checkCosignature(t, sigs, vkey, body(t, l.checkpoint(n)))
		old = n
	}
}

func TestRefusals(t *testing.T) {
	l := newLog(t, "custody/test-1", 10, "a")
	fork := newLog(t, "custody/test-1", 0, "")
	fork.skey, fork.vkey = l.skey, l.vkey
	fork.leaves = append([]hashchain.Hash(nil), l.leaves[:5]...)
	fork.grow(5, "b") // same first 5, other last 5
	stranger := newLog(t, "custody/other", 10, "a")
	impostor := newLog(t, "custody/test-1", 10, "a") // same origin, another key
	w, _ := newWitness(t, l, stranger)
	if _, err := w.Add(Request{OldSize: 0, Checkpoint: l.checkpoint(8)}); err != nil {
		t.Fatal(err)
	}
	var conflict *ConflictError
	for _, tc := range []struct {
		name string
		req  Request
		want error
	}{
		{"fork: same size, other root", Request{OldSize: 8, Checkpoint: fork.checkpoint(8)}, ErrConflict},
		{"fork: larger, proof from the fork", Request{OldSize: 8, Proof: fork.proof(8, 10), Checkpoint: fork.checkpoint(10)}, ErrBadProof},
		{"rollback: old size the witness's", Request{OldSize: 8, Proof: nil, Checkpoint: l.checkpoint(5)}, ErrBadRequest},
		{"rollback: old size the log's", Request{OldSize: 5, Checkpoint: l.checkpoint(5)}, ErrConflict},
		{"stale old size", Request{OldSize: 3, Proof: l.proof(3, 10), Checkpoint: l.checkpoint(10)}, ErrConflict},
		{"bad proof", Request{OldSize: 8, Proof: l.proof(7, 10), Checkpoint: l.checkpoint(10)}, ErrBadProof},
		{"no proof", Request{OldSize: 8, Checkpoint: l.checkpoint(10)}, ErrBadProof},
		{"proof between equal sizes", Request{OldSize: 8, Proof: l.proof(3, 8), Checkpoint: l.checkpoint(8)}, ErrBadProof},
		{"unknown origin", Request{Checkpoint: newLog(t, "custody/nobody", 3, "a").checkpoint(3)}, ErrUnknownOrigin},
		{"another key", Request{OldSize: 8, Proof: impostor.proof(8, 10), Checkpoint: impostor.checkpoint(10)}, ErrUntrusted},
		{"garbage", Request{Checkpoint: []byte("custody/test-1\nnot a checkpoint")}, ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.Add(tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if errors.As(err, &conflict) && conflict.Size != 8 {
				t.Fatalf("conflict size %d, want 8", conflict.Size)
			}
		})
	}
	// The fork and the failing proofs were kept: signed evidence of a
	// log that contradicts itself.
	kept, _ := filepath.Glob(filepath.Join(w.dir, RefusedDir, "*.txt"))
	if len(kept) != 4 {
		t.Fatalf("%d refused requests kept, want 4 (one fork, three failing proofs)", len(kept))
	}
	// After all that, the witness still holds size 8 and moves on.
	if _, err := w.Add(Request{OldSize: 8, Proof: l.proof(8, 10), Checkpoint: l.checkpoint(10)}); err != nil {
		t.Fatal(err)
	}
	// The other log is independent.
	if _, err := w.Add(Request{OldSize: 0, Checkpoint: stranger.checkpoint(4)}); err != nil {
		t.Fatal(err)
	}
}

// The state survives a restart: a new Witness on the same folder
// refuses what the old one would.
func TestStatePersists(t *testing.T) {
	l := newLog(t, "custody/test-1", 10, "a")
	skey, _, _ := GenerateKey("w.example")
	dir := t.TempDir()
	w1, _ := New(skey, []string{l.vkey}, dir)
	if _, err := w1.Add(Request{Checkpoint: l.checkpoint(6)}); err != nil {
		t.Fatal(err)
	}
	w2, _ := New(skey, []string{l.vkey}, dir)
	if _, err := w2.Add(Request{Checkpoint: l.checkpoint(6)}); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want a conflict at size 6", err)
	}
	if _, err := w2.Add(Request{OldSize: 6, Proof: l.proof(6, 10), Checkpoint: l.checkpoint(10)}); err != nil {
		t.Fatal(err)
	}
}

func TestHTTP(t *testing.T) {
	l := newLog(t, "custody/test-1", 10, "a")
	w, vkey := newWitness(t, l)
	srv := httptest.NewServer(Handler(w))
	defer srv.Close()
	post := func(body []byte) (int, string, string) {
		resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b.String()
	}
	if code, _, b := post(Request{Checkpoint: l.checkpoint(4)}.Marshal()); code != 200 || !strings.HasPrefix(b, "— witness.example/w1 ") {
		t.Fatalf("first checkpoint: %d %q", code, b)
	}
	if code, ct, b := post(Request{Checkpoint: l.checkpoint(6)}.Marshal()); code != 409 || ct != "text/x.tlog.size" || b != "4\n" {
		t.Fatalf("stale old size: %d %q %q", code, ct, b)
	}
	for _, tc := range []struct {
		body []byte
		code int
	}{
		{[]byte("old 4\n"), 400},
		{[]byte("old 04\n\n" + string(l.checkpoint(6))), 400},
		{[]byte("old 7\n\n" + string(l.checkpoint(6))), 400},
		{Request{OldSize: 4, Proof: l.proof(3, 6), Checkpoint: l.checkpoint(6)}.Marshal(), 422},
		{Request{Checkpoint: newLog(t, "custody/x", 2, "a").checkpoint(2)}.Marshal(), 404},
		{Request{OldSize: 4, Proof: l.proof(4, 6), Checkpoint: newLog(t, "custody/test-1", 6, "a").checkpoint(6)}.Marshal(), 403},
		{bytes.Repeat([]byte("x"), MaxBody+1), 413},
	} {
		if code, _, b := post(tc.body); code != tc.code {
			t.Errorf("%.30q: %d %q, want %d", tc.body, code, b, tc.code)
		}
	}
	// The client learns the witness's size from the 409 and sends a proof.
	c := &Client{}
	sigs, err := c.AddCheckpoint(context.Background(), srv.URL, l.checkpoint(9), func(old uint64) ([]hashchain.Hash, error) {
		return l.proof(old, 9), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCosignature(t, sigs, vkey, body(t, l.checkpoint(9)))
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\norigin\n1\nAAAA\n\n— x y\n"))
	f.Add([]byte("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nexample.com/behind-the-sofa\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequest(data)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), data) {
			t.Fatalf("request does not round-trip: %q", data)
		}
	})
}

// TestCosignsErasureCheckpoint: a checkpoint vouching for an erasure (its
// "erasure <seq>" extension line) is a checkpoint of its size like any
// other: cosigned at the size already seen, over its whole body,
// extension line included.
func TestCosignsErasureCheckpoint(t *testing.T) {
	l := newLog(t, "custody/test-e", 9, "e")
	w, vkey := newWitness(t, l)
	if _, err := w.Add(Request{Checkpoint: l.checkpoint(9)}); err != nil {
		t.Fatal(err)
	}
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: l.origin, Size: 9, Root: hashchain.Root(l.leaves), HasErasure: true, Erasure: 8}, l.skey)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := w.Add(Request{OldSize: 9, Checkpoint: note})
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, note)
	if !bytes.HasSuffix(b, []byte("\nerasure 8\n")) {
		t.Fatalf("body %q", b)
	}
	checkCosignature(t, sigs, vkey, b)
}
