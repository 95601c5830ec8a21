package leaf

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A tlog-proof round-trips and verifies like its JSON form; editing any
// one line of it makes it fail.
func TestTlogProofRoundTrip(t *testing.T) {
	proofs, vkey := testProofs(t, 7)
	for _, p := range proofs {
		data := MarshalTlogProof(p)
		if !IsTlogProof(data) {
			t.Fatal("not recognised as a tlog-proof")
		}
		back, err := ParseTlogProof(data)
		if err != nil {
			t.Fatalf("index %d: %v\n%s", p.Index, err, data)
		}
		if !bytes.Equal(MarshalTlogProof(back), data) {
			t.Fatalf("index %d: does not round-trip", p.Index)
		}
		res, err := VerifyProof(data, vkey)
		if err != nil {
			t.Fatalf("index %d: %v", p.Index, err)
		}
		if res.Entry.Seq != p.Index || res.Checkpoint.Size != p.TreeSize {
			t.Fatalf("index %d: result %+v", p.Index, res)
		}
	}
	// Every one-line edit of one proof fails.
	data := MarshalTlogProof(proofs[5])
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		if l == "" {
			continue // after the last newline
		}
		for _, edited := range editsOf(l) {
			bad := strings.Join(lines[:i], "") + edited + strings.Join(lines[i+1:], "")
			if _, err := VerifyProof([]byte(bad), vkey); err == nil {
				t.Errorf("line %d edited to %q still verifies", i+1, edited)
			}
		}
	}
}

// editsOf returns one-line edits of l: a character changed in the middle,
// and the line dropped.
func editsOf(l string) []string {
	out := []string{""}
	body := strings.TrimSuffix(l, "\n")
	if body == "" {
		return append(out, "x\n")
	}
	r := []rune(body)
	m := len(r) / 2
	switch c := r[m]; {
	case c >= '0' && c <= '8', c >= 'a' && c < 'z', c >= 'A' && c < 'Z':
		r[m] = c + 1
	default:
		r[m] = 'A'
	}
	return append(out, string(r)+"\n")
}

func TestParseTlogProofRejects(t *testing.T) {
	proofs, _ := testProofs(t, 3)
	good := string(MarshalTlogProof(proofs[1]))
	for name, bad := range map[string]string{
		"other header":  strings.Replace(good, TlogProofHeader, "c2sp.org/tlog-proof@v2", 1),
		"no extra":      strings.Replace(good, "extra ", "xtra ", 1),
		"leading zero":  strings.Replace(good, "index 1\n", "index 01\n", 1),
		"index too big": strings.Replace(good, "index 1\n", "index 3\n", 1),
		"no blank line": strings.Replace(good, "\n\n", "\n", 1),
		"not base64":    strings.Replace(good, "index 1\n", "index 1\n!!!!\n", 1),
	} {
		if _, err := ParseTlogProof([]byte(bad)); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: err = %v, want ErrMalformedProof", name, err)
		}
	}
}

// The JSON proof file's one optional member, timestamps, round-trips; a
// second one is refused.
func TestProofTimestampsMember(t *testing.T) {
	proofs, vkey := testProofs(t, 2)
	p := proofs[0]
	p.Timestamps = []ProofTimestamp{{TSA: "http://tsa.example/", Token: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseProof(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Timestamps) != 1 || back.Timestamps[0].TSA != "http://tsa.example/" || !bytes.Equal(back.Timestamps[0].Token, p.Timestamps[0].Token) {
		t.Fatalf("timestamps = %+v", back.Timestamps)
	}
	if _, err := VerifyProof(data, vkey); err != nil {
		t.Fatal(err)
	}
	twice := bytes.Replace(data, []byte(`"timestamps":`), []byte(`"timestamps":[],"timestamps":`), 1)
	if _, err := ParseProof(twice); !errors.Is(err, ErrMalformedProof) {
		t.Fatalf("a second timestamps member: err = %v", err)
	}
}

func TestLedgerNote(t *testing.T) {
	note := "o/x\n1\nAAAA\n\n— o/x AAA=\n— w.example BBB=\n— o/x CCC=\n"
	if got, want := string(LedgerNote([]byte(note))), "o/x\n1\nAAAA\n\n— o/x AAA=\n— o/x CCC=\n"; got != want {
		t.Fatalf("LedgerNote = %q, want %q", got, want)
	}
}

func FuzzParseTlogProof(f *testing.F) {
	proofs, _ := testProofs(f, 3)
	for _, p := range proofs {
		f.Add(MarshalTlogProof(p))
	}
	f.Add([]byte(TlogProofHeader + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseTlogProof(data)
		if err != nil {
			return
		}
		if _, err := ParseTlogProof(MarshalTlogProof(p)); err != nil {
			t.Fatalf("a parsed proof does not parse again: %v", err)
		}
	})
}

// TestTlogProofCRLF (F10): a tlog-proof whose line endings were turned
// into CRLF is refused saying so, not as JSON that is "not a json object".
func TestTlogProofCRLF(t *testing.T) {
	proofs, vkey := testProofs(t, 3)
	data := bytes.ReplaceAll(MarshalTlogProof(proofs[1]), []byte("\n"), []byte("\r\n"))
	_, err := VerifyProof(data, vkey)
	if !errors.Is(err, ErrMalformedProof) || !strings.Contains(err.Error(), "tlog-proof") || !strings.Contains(err.Error(), "CRLF") {
		t.Errorf("verify a CRLF tlog-proof: %v, want a malformed tlog-proof naming CRLF", err)
	}
}
