package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
)

var update = flag.Bool("update", false, "rewrite the generated example in docs/ledger-format.md")

const (
	formatDoc    = "../../docs/ledger-format.md"
	exampleBegin = "<!-- BEGIN GENERATED EXAMPLE: go test ./internal/ledger -run TestLedgerFormatDoc -update -->\n"
	exampleEnd   = "<!-- END GENERATED EXAMPLE -->\n"
)

// exampleKey is the example's Ed25519 key, made from a published seed so
// the example is reproducible. Never use it for anything else.
func exampleKey(name string) (signer, verifier string) {
	seed := sha256.Sum256([]byte("custody ledger-format example key — do not use"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := append([]byte{1}, priv.Public().(ed25519.PublicKey)...)
	h := sha256.Sum256(append([]byte(name+"\n"), pub...))
	kh := binary.BigEndian.Uint32(h[:4])
	signer = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, kh, base64.StdEncoding.EncodeToString(append([]byte{1}, seed[:]...)))
	verifier = fmt.Sprintf("%s+%08x+%s", name, kh, base64.StdEncoding.EncodeToString(pub))
	return signer, verifier
}

// exampleEntries are the three entries of the worked example.
func exampleEntries() []leaf.Entry {
	hold := true
	at := time.Date(2024, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
	payload := sha256.Sum256([]byte(`{"id":"5ad9b0f6c8e14f4b9a7e2c1d3f4a5b6c"}`))
	evidence := sha256.Sum256([]byte("raw body of the bulk response"))
	convPayload := sha256.Sum256([]byte(`{"id":"0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80"}`))
	convEvidence := sha256.Sum256([]byte("raw body of the conversation response"))
	return []leaf.Entry{
		{
			Kind: leaf.KindConversation, Matter: "acme-v-smith", At: at,
			ConversationID: "0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80", RunID: "run-20240501-120000",
			PayloadSHA256: convPayload, EvidenceSHA256: convEvidence,
			Source: &leaf.Source{Method: "GET", Path: "/api/v2/conversations/messages/0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80", Status: 200, CorrelationID: "3f2c1a9e-0d4b-4e6a-8c7f-1b2a3c4d5e6f"},
			Detail: json.RawMessage(`{"participants":2,"legal_hold":true,"audit_refs":["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"]}`),
		},
		{
			Kind: leaf.KindMessage, Matter: "acme-v-smith", At: at.Add(250 * time.Millisecond),
			ConversationID: "0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80", MessageID: "5ad9b0f6c8e14f4b9a7e2c1d3f4a5b6c", RunID: "run-20240501-120000",
			PayloadSHA256: payload, EvidenceSHA256: evidence,
			Source:     &leaf.Source{Method: "POST", Path: "/api/v2/conversations/messages/0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80/messages/bulk", Status: 200, CorrelationID: "7e6d5c4b-3a29-4817-9f6e-5d4c3b2a1908"},
			Compliance: &leaf.Compliance{LegalHold: &hold, AuditRefs: []string{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}, OriginalTimestamp: "2024-04-30T09:15:27.481Z"},
			Detail:     json.RawMessage(`{"direction":"inbound","messenger_type":"whatsapp","from":"+15555550100","to":"+15555550199"}`),
		},
		{
			Kind: leaf.KindRun, Matter: "acme-v-smith", At: at.Add(time.Second), RunID: "run-20240501-120000",
			Detail: json.RawMessage(`{"event":"end","status":"done","exported":1}`),
		},
	}
}

// buildExample computes the worked example with the package's own code.
func buildExample(t *testing.T) string {
	const origin = "custody/00000000-0000-4000-8000-000000000000"
	signer, verifier := exampleKey(origin)
	entries := exampleEntries()
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("The example ledger has origin `%s` and three entries. Its key pair\n", origin)
	p("is derived from a published seed (SHA-256 of the text \"custody ledger-format\n")
	p("example key — do not use\"), so anyone can reproduce every byte below:\n\n")
	p("```\n%s\n%s\n```\n\n", signer, verifier)

	var hashes []hashchain.Hash
	var leaves [][]byte
	prev := hashchain.ZeroHash
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		leaf, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		// leaf.TestLeafIsJCS holds AppendLeaf to the JCS of the entry
		// object; here it is enough that the leaf is its own JCS form.
		if ref, err := hashchain.Canonicalize(leaf); err != nil || !bytes.Equal(ref, leaf) {
			t.Fatalf("example leaf %d is not in JCS form: %v", i, err)
		}
		lh := hashchain.LeafHash(leaf)
		link := hashchain.ChainLink(prev, lh)
		p("### Entry %d (%s)\n\n", i, e.Kind)
		p("Leaf, %d bytes, exactly as below (UTF-8, no trailing newline):\n\n", len(leaf))
		p("```json\n%s\n```\n\n", leaf)
		if i == len(entries)-1 {
			p("The same leaf in hex:\n\n```\n%s```\n\n", hexLines(leaf))
		}
		p("```\nleaf_hash[%d] = SHA-256(00 || leaf)\n             = %s\n", i, lh)
		p("chain[%d]     = SHA-256(%s 00 || chain[%d] || leaf_hash[%d])\n", i, hex.EncodeToString([]byte("custody/chain/v1")), i-1, i)
		p("             = %s\n```\n\n", link)
		hashes = append(hashes, lh)
		leaves = append(leaves, leaf)
		prev = link
	}
	n01 := hashchain.NodeHash(hashes[0], hashes[1])
	root := hashchain.Root(hashes)
	if want := hashchain.NodeHash(n01, hashes[2]); root != want {
		t.Fatalf("root %s, by hand %s", root, want)
	}
	p("### Merkle tree and checkpoint\n\n")
	p("```\nnode[0:2] = SHA-256(01 || leaf_hash[0] || leaf_hash[1]) = %s\n", n01)
	p("root[0:3] = SHA-256(01 || node[0:2]   || leaf_hash[2]) = %s\n```\n\n", root)
	cp := hashchain.Checkpoint{Origin: origin, Size: 3, Root: root}
	note, err := hashchain.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hashchain.VerifyCheckpoint(note, verifier); err != nil || got != cp {
		t.Fatalf("example checkpoint does not verify: %v", err)
	}
	p("The checkpoint body (the signed text) is the origin, the size in decimal\n")
	p("and the root in base64, each followed by a newline. The signed note adds\n")
	p("a blank line and one signature line, `— <key name> base64(key hash ‖ Ed25519 signature)`:\n\n")
	p("```\n%s```\n\n", note)

	proof := leaf.Proof{Format: leaf.ProofFormat, Index: 1, TreeSize: 3, Leaf: leaves[1], LeafHash: hashes[1],
		Inclusion: []hashchain.Hash{hashes[0], hashes[2]}, Checkpoint: note}
	got, err := hashchain.InclusionProof(hashes, 1)
	if err != nil || len(got) != 2 || got[0] != hashes[0] || got[1] != hashes[2] {
		t.Fatalf("inclusion proof %v, %v", got, err)
	}
	data, err := json.MarshalIndent(proof, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.VerifyProof(data, verifier); err != nil {
		t.Fatal(err)
	}
	p("### Proof file for entry 1\n\n")
	p("The audit path of leaf 1 in a tree of 3 is `leaf_hash[0]` (its sibling),\n")
	p("then `leaf_hash[2]`: SHA-256(01 ‖ SHA-256(01 ‖ leaf_hash[0] ‖ leaf_hash[1]) ‖ leaf_hash[2])\n")
	p("is the signed root.\n\n```json\n%s\n```\n", data)
	return b.String()
}

// hexLines renders b as lines of 32 hex digits (16 bytes).
func hexLines(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&s, "%04x  %s\n", i, hex.EncodeToString(b[i:min(i+16, len(b))]))
	}
	return s.String()
}

// TestLedgerFormatDoc keeps the worked example in docs/ledger-format.md
// true: it is regenerated from the code and must match the page.
func TestLedgerFormatDoc(t *testing.T) {
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, exampleBegin), strings.Index(s, exampleEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the example markers", formatDoc)
	}
	want := buildExample(t)
	if got := s[i+len(exampleBegin) : j]; got != want {
		if *update {
			s = s[:i+len(exampleBegin)] + want + s[j:]
			if err := os.WriteFile(formatDoc, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the worked example in %s is out of date; rerun with -update", formatDoc)
	}
}

// TestIndependentVerifier runs the Python verifier printed in
// docs/ledger-format.md — written from the page, not from this code —
// on proofs custody made, genuine and edited. (internal/verify's
// TestIndependentLedgerVerifier runs it on tampered ledgers.)
func TestIndependentVerifier(t *testing.T) {
	python := needtool.Python(t)
	dir := t.TempDir()
	script := appendix.Script(t, dir)

	f := newFixture(t)
	f.appendN(11)
	cp := f.checkpoint()
	run := func(name string, data []byte) (string, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, script, "proof", p, f.l.VerifierKey()).CombinedOutput()
		return string(out), err
	}
	for _, seq := range []uint64{0, 5, 10} {
		p, err := f.l.Prove(f.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.MarshalIndent(p, "", "  ")
		out, err := run(fmt.Sprintf("p%d.json", seq), data)
		if err != nil || !strings.HasPrefix(out, "OK ") {
			t.Fatalf("seq %d: the independent verifier rejects a genuine proof: %v\n%s", seq, err, out)
		}
		if seq != 5 {
			continue
		}
		sameName, _, _ := hashchain.GenerateKey(f.l.Origin())
		forged, err := hashchain.SignCheckpoint(cp.Checkpoint, sameName)
		if err != nil {
			t.Fatal(err)
		}
		for name, edited := range proofEdits(t, data, forged) {
			if out, err := run("edited.json", edited); err == nil {
				t.Errorf("%s: the independent verifier accepts an edited proof:\n%s", name, out)
			}
		}
		// The checkpoint's root re-spelt in base64 with the bits after its
		// last byte set, and signed: the same size and root bytes, but not
		// the body custody writes. Both refuse it.
		lines := strings.SplitN(string(cp.Checkpoint.Body()), "\n", 4)
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", lines[2][42])
		lines[2] = lines[2][:42] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last|1]) + "="
		if lines[2] == base64.StdEncoding.EncodeToString(cp.Checkpoint.Root[:]) {
			t.Fatal("the root's spelling did not change")
		}
		signer, err := note.NewSigner(f.signer)
		if err != nil {
			t.Fatal(err)
		}
		respelt, err := note.Sign(&note.Note{Text: strings.Join(lines, "\n")}, signer)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		m["checkpoint"] = string(respelt)
		edited, _ := json.Marshal(m)
		if _, err := leaf.VerifyProof(edited, f.l.VerifierKey()); err == nil {
			t.Error("custody accepts a checkpoint whose root is not canonical base64")
		}
		if out, err := run("edited.json", edited); err == nil {
			t.Errorf("the independent verifier accepts a checkpoint whose root is not canonical base64:\n%s", out)
		}
	}
}

// TestIndependentJCS holds the appendix verifier's jcs() to custody's
// RFC 8785 canonicalisation: numbers are IEEE 754 doubles, integers too,
// and numbers beyond the doubles' range are refused. (Leaves never reach
// jcs with such numbers, which i_json refuses first; a reuse of it could.)
func TestIndependentJCS(t *testing.T) {
	python := needtool.Python(t)
	script := appendix.Script(t, t.TempDir())
	const run = `import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("v", sys.argv[1]); v = importlib.util.module_from_spec(spec); spec.loader.exec_module(v)
for line in sys.stdin:
    try: print(v.jcs(json.loads(line)))
    except Exception as e: print("error", type(e).__name__)
`
	inputs := []string{
		`[9007199254740993,1e21,123456789012345678901234567890,1152921504606846976,-0,-0.0,0.1,1e-7,100,5e-324]`,
		`{"b":[1.0,2.50,-3e2],"a":{"d":1E+2,"c":0.000001}}`,
		`[1e400]`, `[-1e400]`, `[1` + strings.Repeat("0", 400) + `]`,
	}
	cmd := exec.Command(python, "-c", run, script)
	cmd.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(inputs) {
		t.Fatalf("%d answers for %d inputs:\n%s", len(got), len(inputs), out)
	}
	for k, in := range inputs {
		want, err := hashchain.Canonicalize([]byte(in))
		switch {
		case err != nil && !strings.HasPrefix(got[k], "error "):
			t.Errorf("%.60s: custody refuses it (%v), the appendix's jcs gives %s", in, err, got[k])
		case err == nil && got[k] != string(want):
			t.Errorf("%.60s: the appendix's jcs gives %s, custody %s", in, got[k], want)
		}
	}
}
