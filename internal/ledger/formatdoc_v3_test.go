package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
)

const (
	exampleV3Begin = "<!-- BEGIN GENERATED V3 EXAMPLE: go test ./internal/ledger -run TestLedgerFormatDocV3 -update -->\n"
	exampleV3End   = "<!-- END GENERATED V3 EXAMPLE -->\n"
)

// exampleV3 is the v3 worked example: the example's conversation entry
// and its message entry in format v3, the message's salt derived from a
// published text so that anyone can reproduce every byte, a checkpoint,
// and a field proof of legal_hold, timestamp and from.
func exampleV3(t *testing.T) (string, []byte, string) {
	const origin = "custody/00000000-0000-4000-8000-000000000000"
	signer, verifier := exampleKey(origin)
	ex := exampleEntries()
	conv, msg := ex[0], ex[1]
	salt := sha256.Sum256([]byte("custody ledger-format example salt — do not use"))
	o := &leaf.Opening{MessageID: msg.MessageID, Salt: salt, Fields: map[string]string{
		"content_sha256":      "2bab0d7f0d4a0b1d6c2c6b4f1bd8e5b8f3a0d6c1b0e7f2a9c4d3e5f6a7b8c9d0",
		"from":                "+15555550100",
		"provider_message_id": "wamid.HBgLMTU1NTU1NTAxMDAVAgASGBQzQUI=",
		"to":                  "+15555550199",
	}}
	opening := o.Encode()
	openingSum := hashchain.Hash(sha256.Sum256(opening))
	d := &leaf.MessageDetail{Direction: "inbound", MessengerType: "whatsapp"}
	d.SetCommitments(o, openingSum)
	var err error
	if msg.Detail, err = leaf.EncodeDetail(d); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("The message of the example above, captured in format v3. Its salt is\n")
	p("SHA-256 of the text \"custody ledger-format example salt — do not use\"\n")
	p("(a real salt is 32 random bytes), so every byte below can be reproduced:\n\n")
	p("```\nsalt = %s\n```\n\n", hex.EncodeToString(salt[:]))
	p("Its opening, %d bytes, exactly as stored in the evidence store (no trailing newline):\n\n", len(opening))
	p("```json\n%s\n```\n\n", opening)
	p("```\nopening_evidence_sha256 = SHA-256(opening) = %s\n```\n\n", openingSum)
	p("Field salts and commitments (`HMAC` is HMAC-SHA256 keyed with the salt; the field\nname and value are their UTF-8 bytes):\n\n```\n")
	for _, f := range leaf.PersonalFields {
		fs := leaf.FieldSalt(salt[:], f)
		p("field_salt(%s) = HMAC(salt, %s 00 || %q)\n", f, hex.EncodeToString([]byte("custody/field/v3")), f)
		p("    = %s\n", hex.EncodeToString(fs[:]))
		p("%s_commitment = SHA-256(%s 00 || field_salt(%s) || %q)\n", f, hex.EncodeToString([]byte("custody/commit/v3")), f, o.Fields[f])
		p("    = %s\n", leaf.Commitment(fs, o.Fields[f]))
	}
	p("```\n\n")

	var hashes []hashchain.Hash
	var leaves [][]byte
	prev := hashchain.ZeroHash
	for i, e := range []leaf.Entry{conv, msg} {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		lb, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := leaf.CheckLeaf(lb); err != nil {
			t.Fatalf("v3 example leaf %d: %v", i, err)
		}
		lh := hashchain.LeafHash(lb)
		link := hashchain.ChainLink(prev, lh)
		if i == 1 {
			p("The v3 ledger's entry 0 is the conversation entry above, unchanged (`\"v\":1`). Entry 1,\n")
			p("the message, %d bytes, exactly as below:\n\n```json\n%s\n```\n\n", len(lb), lb)
			p("```\nleaf_hash[1] = %s\nchain[1]     = %s\n```\n\n", lh, link)
		}
		hashes, leaves, prev = append(hashes, lh), append(leaves, lb), link
	}
	root := hashchain.Root(hashes)
	note, err := hashchain.SignCheckpoint(hashchain.Checkpoint{Origin: origin, Size: 2, Root: root}, signer)
	if err != nil {
		t.Fatal(err)
	}
	proof := leaf.Proof{Format: leaf.ProofFormat, Index: 1, TreeSize: 2, Leaf: leaves[1], LeafHash: hashes[1],
		Inclusion: []hashchain.Hash{hashes[0]}, Checkpoint: note}
	if err := proof.ProveFields(o, []string{"legal_hold", "timestamp", "from"}); err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(proof, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.VerifyProof(data, verifier); err != nil {
		t.Fatal(err)
	}
	p("A field proof of entry 1 in the tree of these two entries\n")
	p("(`custody prove --fields legal_hold,timestamp,from`): `legal_hold` and\n")
	p("`timestamp` are in clear in the leaf; `from` opens `from_commitment` with\n")
	p("`field_salt(from)`, and no other salt is revealed:\n\n```json\n%s\n```\n", data)
	return b.String(), data, verifier
}

// TestLedgerFormatDocV3 keeps the v3 worked example true, and runs the
// appendix's Python verifier on its field proof, genuine and edited.
func TestLedgerFormatDocV3(t *testing.T) {
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, exampleV3Begin), strings.Index(s, exampleV3End)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the v3 example markers", formatDoc)
	}
	want, proof, verifier := exampleV3(t)
	if got := s[i+len(exampleV3Begin) : j]; got != want {
		if *update {
			s = s[:i+len(exampleV3Begin)] + want + s[j:]
			if err := os.WriteFile(formatDoc, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("the v3 worked example in %s is out of date; rerun with -update", formatDoc)
		}
	}

	python := needtool.Python(t)
	dir := t.TempDir()
	script := appendix.Script(t, dir)
	run := func(data []byte) (string, error) {
		f := filepath.Join(dir, "p.json")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, script, "proof", f, verifier).CombinedOutput()
		return string(out), err
	}
	if out, err := run(proof); err != nil || !strings.HasPrefix(out, "OK ") {
		t.Fatalf("the independent verifier rejects the v3 field proof: %v\n%s", err, out)
	}
	for name, edited := range map[string][]byte{
		"another sender": bytes.Replace(proof, []byte(`"+15555550100"`), []byte(`"+15555550101"`), 1),
		"hold flipped":   bytes.Replace(proof, []byte(`"value": true`), []byte(`"value": false`), 1),
		"salt changed":   otherSalt(proof),
	} {
		if bytes.Equal(edited, proof) {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		if _, err := leaf.VerifyProof(edited, verifier); err == nil {
			t.Errorf("%s: custody accepts the edited proof", name)
		}
		if out, err := run(edited); err == nil {
			t.Errorf("%s: the independent verifier accepts the edited proof:\n%s", name, out)
		}
	}
	// A proved value nested deeper than JSON in the format may be (10,000
	// levels): custody refuses the file as malformed, and the appendix
	// refuses it before reading it, "FAIL proof: …" saying so (exit 3, as
	// custody's verify; an AssertionError traceback, exit 1, before
	// TestAppendixExitStatus). It read it, and Python 3.11 then crashed canonicalising it (a C
	// stack overflow, killed by SIGSEGV); 3.12 and later stop reading JSON
	// far sooner, with a RecursionError.
	deep := bytes.Replace(proof, []byte(`"value": true`), []byte(`"value": `+strings.Repeat("[", 20000)+"true"+strings.Repeat("]", 20000)), 1)
	if _, err := leaf.VerifyProof(deep, verifier); err == nil {
		t.Error("custody accepts a proof nested 20,000 levels deep")
	}
	out, err := run(deep)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.HasPrefix(out, "FAIL proof: not a proof file: nested more than 10000 levels") {
		t.Errorf("the independent verifier on a proof nested 20,000 levels deep: %v, want exit 3 saying it nests too deep:\n%.2000s", err, out)
	}
}

// otherSalt changes one hex digit of the proof's salt.
func otherSalt(proof []byte) []byte {
	out := bytes.Clone(proof)
	i := bytes.Index(out, []byte(`"salt": "`)) + len(`"salt": "`)
	if out[i] == '0' {
		out[i] = '1'
	} else {
		out[i] = '0'
	}
	return out
}
