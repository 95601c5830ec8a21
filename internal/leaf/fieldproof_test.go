package leaf

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// saltedProofs is testProofs over v3 message leaves, with each opening.
func saltedProofs(t testing.TB, n int) ([]Proof, []*Opening, string) {
	t.Helper()
	const origin = "custody/00000000-0000-4000-8000-000000000003"
	signer, verifier, err := hashchain.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	var leaves [][]byte
	var hashes []hashchain.Hash
	var openings []*Opening
	for i := range n {
		e, o := salted(t, fmt.Sprintf("conv-%02d", i%4), i)
		b, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaves, hashes, openings = append(leaves, b), append(hashes, hashchain.LeafHash(b)), append(openings, o)
	}
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: origin, Size: uint64(n), Root: hashchain.Root(hashes)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var out []Proof
	for i := range n {
		path, err := hashchain.InclusionProof(hashes, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Proof{Format: ProofFormat, Index: uint64(i), TreeSize: uint64(n), Leaf: leaves[i],
			LeafHash: hashes[i], Inclusion: path, Checkpoint: note})
	}
	return out, openings, verifier
}

// TestFieldProof: custody prove --fields legal_hold,timestamp,from —
// the proof verifies with the revealed values, carries the salt of "from"
// only (no other field's, not the message's), and fails once a value or
// the salt is changed.
func TestFieldProof(t *testing.T) {
	proofs, openings, key := saltedProofs(t, 5)
	p := proofs[3]
	if err := p.ProveFields(openings[3], []string{"legal_hold", "timestamp", "from"}); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := VerifyProof(data, key)
	if err != nil {
		t.Fatalf("field proof: %v\n%s", err, data)
	}
	got := map[string]string{}
	for _, f := range res.Fields {
		got[f.Name] = string(f.Value)
	}
	if got["from"] != `"+15555550100"` || got["legal_hold"] != "true" || got["timestamp"] != `"2024-04-30T09:15:27.481Z"` || len(got) != 3 {
		t.Fatalf("proved fields %v", got)
	}
	// Only the salt of "from": neither another field's nor the message's.
	o := openings[3]
	for _, f := range PersonalFields {
		fs := FieldSalt(o.Salt[:], f)
		if in := bytes.Contains(data, []byte(hex.EncodeToString(fs[:]))); in != (f == "from") {
			t.Errorf("salt of %s in the proof: %v", f, in)
		}
	}
	if bytes.Contains(data, []byte(hex.EncodeToString(o.Salt[:]))) {
		t.Error("the message's salt is in the proof")
	}
	for _, v := range []string{o.Fields["to"], o.Fields["content_sha256"]} {
		if bytes.Contains(data, []byte(v)) {
			t.Errorf("an unproved value %q is in the proof", v)
		}
	}

	for name, edit := range map[string]func(string) string{
		"another sender": func(s string) string { return strings.Replace(s, `+15555550100`, `+15555550101`, 1) },
		"another salt":   func(s string) string { i := strings.Index(s, `"salt":"`) + 8; return s[:i] + flip(s[i:i+1]) + s[i+1:] },
		"hold flipped": func(s string) string {
			return strings.Replace(s, `"legal_hold":{"value":true}`, `"legal_hold":{"value":false}`, 1)
		},
		"salt dropped": func(s string) string { i := strings.Index(s, `"salt":"`); return s[:i] + s[i+len(`"salt":"`)+66:] },
		"salt on a clear": func(s string) string {
			return strings.Replace(s, `{"value":true}`, `{"salt":"`+strings.Repeat("0", 64)+`","value":true}`, 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			bad := edit(string(data))
			if bad == string(data) {
				t.Fatal("the edit changed nothing")
			}
			if _, err := VerifyProof([]byte(bad), key); err == nil {
				t.Errorf("verified: %s", bad)
			}
		})
	}
	for name, bad := range map[string]string{
		"unknown field":         strings.Replace(string(data), `"timestamp":`, `"timestampx":`, 1),
		"v1 format with fields": strings.Replace(string(data), FieldProofFormat, ProofFormat, 1),
		"fields twice":          strings.Replace(string(data), `"fields":`, `"fields":{},"fields":`, 1),
	} {
		if _, err := VerifyProof([]byte(bad), key); !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: err = %v, want ErrMalformedProof", name, err)
		}
	}

	// Without the opening, only clear fields can be proved.
	q := proofs[1]
	if err := q.ProveFields(nil, []string{"from"}); err == nil {
		t.Error("proved a committed field without its opening")
	}
	if err := q.ProveFields(nil, []string{"legal_hold", "message_id"}); err != nil {
		t.Fatal(err)
	}
	if err := q.ProveFields(openings[2], []string{"to"}); err == nil {
		t.Error("proved a field with another message's opening")
	}
	if err := q.ProveFields(nil, []string{"text"}); err == nil {
		t.Error("proved an unknown field")
	}
}

func flip(c string) string {
	if c == "0" {
		return "1"
	}
	return "0"
}

// TestFieldProofV1: a v1 leaf's personal fields are in clear and proved
// without salts; old plain proofs keep verifying.
func TestFieldProofV1(t *testing.T) {
	proofs, key := testProofs(t, 3)
	old, _ := json.Marshal(proofs[0])
	if _, err := VerifyProof(old, key); err != nil {
		t.Fatalf("plain v1 proof: %v", err)
	}
	p := proofs[0]
	if err := p.ProveFields(nil, []string{"from", "legal_hold"}); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(p)
	res, err := VerifyProof(data, key)
	if err != nil || len(res.Fields) != 2 || res.Fields[0].Salt != nil {
		t.Fatalf("v1 field proof: %+v %v", res.Fields, err)
	}
}

// TestProofNamesExact: member names are exact. encoding/json matches
// them without regard to case (and folds ſ to s) and keeps the last of a
// repeated member, so each edit below — the forged value where an exact
// reader (jq, Python) looks, the genuine one in another case after it —
// read as the genuine proof to custody, and as the forgery to everyone
// else. Each is malformed.
func TestProofNamesExact(t *testing.T) {
	proofs, openings, key := saltedProofs(t, 3)
	p := proofs[1]
	p.Timestamps = []ProofTimestamp{{TSA: "https://tsa.example", Token: []byte("a token")}}
	if err := p.ProveFields(openings[1], []string{"legal_hold", "from"}); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProof(data, key); err != nil {
		t.Fatalf("genuine: %v\n%s", err, data)
	}
	genuineFrom := `"value":"` + openings[1].Fields["from"] + `"`
	token := base64.StdEncoding.EncodeToString([]byte("a token"))
	for name, c := range map[string]struct{ old, new, says string }{
		"value twice, in another case": {`"legal_hold":{"value":false}`, `"legal_hold":{"value":true,"VALUE":false}`, `"VALUE" is not "value"`},
		"value in another case":        {`"legal_hold":{"value":false}`, `"legal_hold":{"Value":false}`, `"Value" is not "value"`},
		"salted value twice":           {genuineFrom, `"value":"+10000000000",` + strings.Replace(genuineFrom, "value", "Value", 1), `"Value" is not "value"`},
		"salt with a long s":           {`"salt":"`, `"ſalt":"`, `"ſalt" is not "salt"`},
		"field name in another case":   {`"legal_hold":{`, `"Legal_hold":{`, `"Legal_hold" is not "legal_hold"`},
		"field name twice":             {`"legal_hold":{"value":false}`, `"legal_hold":{"value":true},"legal_hold":{"value":false}`, `member "legal_hold" twice`},
		"token twice, in another case": {`"token":"` + token + `"`, `"token":"AAAA","Token":"` + token + `"`, `"Token" is not "token"`},
		"tsa in another case":          {`"tsa":`, `"TSA":`, `"TSA" is not "tsa"`},
		"timestamp with a member more": {`"tsa":`, `"x":1,"tsa":`, `unknown member "x"`},
		"timestamp without its token":  {`,"token":"` + token + `"`, ``, `token is missing`},
		"timestamp not an object":      {`"timestamps":[{`, `"timestamps":[1,{`, `timestamps[0]`},
		"top-level name with a Kelvin": {`"leaf_hash":`, `"leaf_hash":"x","\u212aleaf_hash":`, `unknown member`},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(data), c.old) {
				t.Fatalf("%s is not in the proof", c.old)
			}
			bad := strings.Replace(string(data), c.old, c.new, 1)
			_, err := VerifyProof([]byte(bad), key)
			if !errors.Is(err, ErrMalformedProof) {
				t.Fatalf("err = %v, want ErrMalformedProof\n%s", err, bad)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v, want it to say %s", err, c.says)
			}
		})
	}
}
