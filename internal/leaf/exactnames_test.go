package leaf

import (
	"errors"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// TestDetailNamesExact: a detail's member names are exact, as jq and the
// format's Python verifier read them. A v3 message whose commitment is
// only under a name in another case (or with a long s) lacks it and is
// refused by the strict check; one with both names reads as the exact
// one everywhere (encoding/json would keep the last, the variant).
func TestDetailNamesExact(t *testing.T) {
	e, o := salted(t, "conv-a", 1)
	good, err := e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	canon := func(s string) []byte {
		b, err := hashchain.Canonicalize([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, c := range map[string]struct{ old, new, says string }{
		"commitment in another case": {`"from_commitment":`, `"From_commitment":`, "from_commitment"},
		"commitment with a long s":   {`"content_sha256_commitment":`, `"content_ſha256_commitment":`, "content_sha256_commitment"},
		"commitment upper-case":      {`"to_commitment":`, `"TO_COMMITMENT":`, "to_commitment"},
		"opening with a long s":      {`"opening_evidence_sha256":`, `"opening_evidence_ſha256":`, "opening_evidence_sha256"},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(good), c.old) {
				t.Fatalf("%s not in the leaf", c.old)
			}
			b := canon(strings.Replace(string(good), c.old, c.new, 1))
			err := CheckLeaf(b)
			if !errors.Is(err, ErrNotEntry) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("CheckLeaf = %v, want ErrNotEntry naming %s", err, c.says)
			}
			if _, _, strict, _ := DecodeCheckedDetail(b); strict {
				t.Error("DecodeCheckedDetail calls it strict")
			}
		})
	}

	// Both names: the exact one is the commitment, as it is to Python.
	other, _ := salted(t, "conv-a", 2)
	od, err := DecodeDetail(KindMessage, other.Detail)
	if err != nil {
		t.Fatal(err)
	}
	y := od.(*MessageDetail).ContentCommitment
	for _, variant := range []string{"content_ſha256_commitment", "Content_sha256_commitment", "content_sha256_COMMITMENT"} {
		b := canon(strings.Replace(string(good), `"content_sha256_commitment":`, `"`+variant+`":"`+y+`","content_sha256_commitment":`, 1))
		if err := CheckLeaf(b); err != nil {
			t.Fatalf("%s: CheckLeaf = %v", variant, err)
		}
		ce, dd, strict, err := DecodeCheckedDetail(b)
		if err != nil || !strict {
			t.Fatalf("%s: DecodeCheckedDetail: %v, strict %v", variant, err, strict)
		}
		slow, err := DecodeDetail(KindMessage, ce.Detail)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []*MessageDetail{dd.(*MessageDetail), slow.(*MessageDetail)} {
			if d.ContentCommitment == y {
				t.Fatalf("%s: custody reads the commitment under the name in another case", variant)
			}
			if _, err := d.Open(o); err != nil {
				t.Errorf("%s: the message's own opening: %v", variant, err)
			}
		}
	}
}

// TestNamesExactElsewhere: the other typed details and the leaf object
// read names exactly too, nested ones (media) included.
func TestNamesExactElsewhere(t *testing.T) {
	const x, y = "1111111111111111111111111111111111111111111111111111111111111111", "2222222222222222222222222222222222222222222222222222222222222222"
	d, err := DecodeDetail(KindConversation, []byte(`{"Legal_hold":true,"hold_evidence_sha256":"`+x+`","hold_evidence_ſha256":"`+y+`","legal_hold":false,"messageſ":7}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := d.(*ConversationDetail); c.HoldEvidenceSHA256 != x || c.LegalHold || c.Messages != 0 {
		t.Errorf("conversation detail read %+v", c)
	}
	d, err = DecodeDetail(KindMessage, []byte(`{"from":"+1","media":[{"evidence_sha256":"`+x+`","id":"a","sha256":"`+x+`","ſha256":"`+y+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := d.(*MessageDetail); len(m.Media) != 1 || m.Media[0].SHA256 != x || m.From != "+1" {
		t.Errorf("message detail read %+v", m)
	}
	e, err := DecodeLeaf([]byte(`{"at":"2024-05-01T12:00:00.123Z","kind":"run","matter":"m","v":1,"\u212aind":"message"}`))
	if err != nil || e.Kind != KindRun {
		t.Errorf("leaf read as kind %q, %v", e.Kind, err)
	}
	e, err = DecodeLeaf([]byte(`{"at":"2024-05-01T12:00:00.123Z","kind":"run","matter":"m","source":{"method":"GET","path":"/a","pATH":"/b"},"v":1}`))
	if err != nil || e.Source == nil || e.Source.Path != "/a" {
		t.Errorf("leaf source read as %+v, %v", e.Source, err)
	}
}
