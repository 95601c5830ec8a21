package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

const (
	attestBegin = "<!-- BEGIN GENERATED ATTESTATION EXAMPLE: go test ./internal/ledger -run TestAttestationFormatDoc -update -->\n"
	attestEnd   = "<!-- END GENERATED ATTESTATION EXAMPLE -->\n"
)

// exampleWitnessKey is the example witness's key, from a published seed.
func exampleWitnessKey(name string) (priv ed25519.PrivateKey, verifier string) {
	seed := sha256.Sum256([]byte("custody ledger-format example witness key — do not use"))
	priv = ed25519.NewKeyFromSeed(seed[:])
	pub := append([]byte{0x04}, priv.Public().(ed25519.PublicKey)...)
	h := sha256.Sum256(append([]byte(name+"\n"), pub...))
	return priv, fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(pub))
}

// buildAttestExample computes the attestation example: the worked
// example's checkpoint, its timestamp imprint, a witness cosignature made
// by hand from the spec (and checked with the note library), and the
// tlog-proof of entry 1.
func buildAttestExample(t *testing.T) string {
	const origin = "custody/00000000-0000-4000-8000-000000000000"
	signer, _ := exampleKey(origin)
	var hashes []hashchain.Hash
	var leaves [][]byte
	for _, e := range exampleEntries() {
		l, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, l)
		hashes = append(hashes, hashchain.LeafHash(l))
	}
	cp := hashchain.Checkpoint{Origin: origin, Size: 3, Root: hashchain.Root(hashes)}
	signed, err := hashchain.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	imprint := sha256.Sum256(signed)
	p("The timestamp imprint of the checkpoint of the [worked example](#worked-example)\n")
	p("at the end of this page is SHA-256 of its %d note bytes (the `note` column):\n\n", len(signed))
	p("```\n%x\n```\n\n", imprint)
	p("so its tokens check with\n`openssl ts -verify -digest %x -token_in -in TOKEN.der -CAfile ROOTS.pem -attime GENTIME`\n(GENTIME: the token's `genTime` in POSIX seconds).\n\n", imprint)

	const name = "witness.example/w1"
	const when = 1714564802 // 2024-05-01T12:00:02Z
	priv, vkey := exampleWitnessKey(name)
	body := cp.Body()
	msg := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", when, body)
	keyID := sha256.Sum256(append([]byte(name+"\n"), append([]byte{0x04}, priv.Public().(ed25519.PublicKey)...)...))
	sig := append(append(append([]byte(nil), keyID[:4]...), binary.BigEndian.AppendUint64(nil, when)...), ed25519.Sign(priv, msg)...)
	line := fmt.Sprintf("— %s %s\n", name, base64.StdEncoding.EncodeToString(sig))
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(append(append([]byte(nil), signed...), line...), note.VerifierList(v)); err != nil {
		t.Fatalf("the example cosignature does not verify: %v", err)
	}
	p("A witness named `%s`, its key derived from a published seed\n", name)
	p("(SHA-256 of \"custody ledger-format example witness key — do not use\"), has\n")
	p("the verifier key\n\n```\n%s\n```\n\n", vkey)
	p("Cosigning the checkpoint at POSIX time %d it signs these %d bytes\n", when, len(msg))
	p("(the header line, the time line, then the checkpoint body):\n\n```\n%s```\n\n", msg)
	p("and returns this line: `—`, the name, and base64 of the key ID\n")
	p("`%x` (SHA-256(name ‖ \"\\n\" ‖ 04 ‖ public key)[:4]), the time\n", keyID[:4])
	p("`%016x` (8 bytes, big-endian) and the 64-byte Ed25519 signature:\n\n", uint64(when))
	p("```\n%s```\n\n", line)

	proof := leaf.Proof{Format: leaf.ProofFormat, Index: 1, TreeSize: 3, Leaf: leaves[1], LeafHash: hashes[1],
		Inclusion: []hashchain.Hash{hashes[0], hashes[2]}, Checkpoint: append(append([]byte(nil), signed...), line...)}
	tlog := leaf.MarshalTlogProof(proof)
	if _, err := leaf.VerifyProof(tlog, exampleVerifier(origin)); err != nil {
		t.Fatal(err)
	}
	p("The proof of entry 1 as a C2SP tlog-proof, with that cosignature on its\n")
	p("checkpoint:\n\n```\n%s```\n", tlog)
	return b.String()
}

func exampleVerifier(origin string) string { _, v := exampleKey(origin); return v }

// TestAttestationFormatDoc keeps the attestation example in
// docs/ledger-format.md true.
func TestAttestationFormatDoc(t *testing.T) {
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, attestBegin), strings.Index(s, attestEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the attestation example markers", formatDoc)
	}
	want := buildAttestExample(t)
	if got := s[i+len(attestBegin) : j]; got != want {
		if *update {
			s = s[:i+len(attestBegin)] + want + s[j:]
			if err := os.WriteFile(formatDoc, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("the attestation example in %s is out of date; rerun with -update", formatDoc)
	}
}
