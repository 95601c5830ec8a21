package verify

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
)

// agreeCase is one message entry as messageRest receives it.
type agreeCase struct {
	e       leaf.Entry
	md      *genesys.MessageData
	payload hashchain.Hash
	held    *bool
	refs    []string
	media   []leaf.MediaRef
	op      *openingRead // nil: v1
}

// derivedCase is the entry derive.Message writes for md, v3 with an
// opening when sealed, and what verify derives it from.
func derivedCase(t testing.TB, md *genesys.MessageData, media []leaf.MediaRef, sealed bool) agreeCase {
	t.Helper()
	held := true
	c := agreeCase{md: md, payload: hashchain.Hash{7}, held: &held, refs: []string{"a1", "a2"}, media: media}
	var seal *derive.Seal
	if sealed {
		salt := sha256.Sum256([]byte(md.ID))
		ob := derive.Opening(md, salt).Encode()
		c.op = &openingRead{sum: hashchain.Hash(sha256.Sum256(ob)), bytes: ob}
		c.op.name = c.op.sum.String()
		seal = &derive.Seal{Salt: salt, Opening: c.op.sum}
	}
	e, err := derive.Message("c1", md, c.payload, held, c.refs, media, seal)
	if err != nil {
		t.Fatal(err)
	}
	e.Seq = 9
	c.e = e
	return c
}

// check holds messageAgrees to the reference (messageDerived): it may
// take an entry only when the reference finds nothing, and it must take
// one the reference finds nothing in unless the opening has an escape or
// the detail is not in its RFC 8785 form (both left to the reference).
// It returns what messageAgrees said.
func (c agreeCase) check(t *testing.T, name string) bool {
	t.Helper()
	lc := c.e.Compliance
	if lc == nil {
		lc = &leaf.Compliance{}
	}
	agrees := messageAgrees(&c.e, c.md, derive.MessageDetail(c.md, c.media), c.payload, lc, c.held, c.refs, c.media, c.op)
	fs := messageDerived(&c.e, c.md, derive.MessageDetail(c.md, c.media), c.payload, lc, c.held, c.refs, sources{}, c.media, c.op, nil)
	escaped := c.op != nil && bytes.Contains(c.op.bytes, []byte{'\\'})
	if cd, err := leaf.CanonicalDetail(c.e.Detail); err != nil || !bytes.Equal(cd, c.e.Detail) {
		escaped = true
	}
	if agrees && len(fs) > 0 || !agrees && len(fs) == 0 && !escaped {
		t.Fatalf("%s: messageAgrees %v, the reference finds %v", name, agrees, fs)
	}
	return agrees
}

func agreeMessage() *genesys.MessageData {
	return &genesys.MessageData{ID: "m1", ConversationID: "c1", ProviderMessageID: "wamid.1", FromAddress: "+15550100", ToAddress: "+15550199",
		TextBody: "hello", Direction: "inbound", MessengerType: "whatsapp", Timestamp: "2026-01-02T03:04:05.000Z"}
}

// TestMessageAgrees: the fast path of messageRest takes the entry
// derivation writes, v1 and v3, and turns away every edit the reference
// finds, each of which then gets the reference's findings.
func TestMessageAgrees(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, sealed := range []bool{false, true} {
		for _, media := range [][]leaf.MediaRef{nil, {{ID: "att1", SHA256: h, Evidence: h}}} {
			md := agreeMessage()
			if media != nil {
				md.NormalizedMessage = &genesys.NormalizedMessage{Content: []genesys.MessageContent{{Attachment: &genesys.ContentAttachment{ID: "att1", URL: "https://x"}}}}
			}
			base := derivedCase(t, md, media, sealed)
			if !base.check(t, "as derived") {
				t.Fatalf("sealed %v media %v: the derived entry is not taken", sealed, media)
			}
			edits := map[string]func(c *agreeCase){
				"message id":  func(c *agreeCase) { c.e.MessageID = "m2" },
				"payload":     func(c *agreeCase) { c.e.PayloadSHA256[0] ^= 1 },
				"timestamp":   func(c *agreeCase) { c.e.Compliance.OriginalTimestamp += "x" },
				"hold":        func(c *agreeCase) { f := false; c.e.Compliance.LegalHold = &f },
				"hold absent": func(c *agreeCase) { c.e.Compliance.LegalHold = nil },
				"no hold known": func(c *agreeCase) {
					c.held = nil // the leaf's hold is then judged against nothing
				},
				"refs":        func(c *agreeCase) { c.e.Compliance.AuditRefs = []string{"a1"} },
				"refs nil":    func(c *agreeCase) { c.e.Compliance.AuditRefs, c.refs = nil, []string{} },
				"md text":     func(c *agreeCase) { c.md = &genesys.MessageData{ID: "m1", TextBody: "other"} },
				"detail byte": func(c *agreeCase) { c.e.Detail = append(bytes.Clone(c.e.Detail[:len(c.e.Detail)-1]), ' ', '}') },
				"detail member": func(c *agreeCase) {
					c.e.Detail = append([]byte(`{"a":1,`), c.e.Detail[1:]...)
				},
				"media hash": func(c *agreeCase) {
					if len(c.media) > 0 {
						c.media = []leaf.MediaRef{{ID: "att1", SHA256: h, Evidence: strings.ToUpper(h)}}
					}
				},
				"media other": func(c *agreeCase) {
					if len(c.media) > 0 {
						c.media = []leaf.MediaRef{{ID: "att2", SHA256: h, Evidence: h}}
					}
				},
			}
			if sealed {
				edits["opening of another message"] = func(c *agreeCase) {
					o := derive.Opening(&genesys.MessageData{ID: "m2"}, sha256.Sum256([]byte("m1")))
					c.op = &openingRead{sum: c.op.sum, name: c.op.name, bytes: o.Encode()}
				}
				edits["opening from"] = func(c *agreeCase) {
					c.op = &openingRead{sum: c.op.sum, name: c.op.name, bytes: bytes.Replace(c.op.bytes, []byte("+15550100"), []byte("+15550101"), 1)}
				}
				edits["opening address"] = func(c *agreeCase) { c.op = &openingRead{sum: hashchain.Hash{1}, name: c.op.name, bytes: c.op.bytes} }
				edits["opening salt"] = func(c *agreeCase) {
					b := bytes.Clone(c.op.bytes)
					b[len(b)-3] ^= 1 // a hex digit of the salt, another digit still
					c.op = &openingRead{sum: c.op.sum, name: c.op.name, bytes: b}
				}
			}
			for name, edit := range edits {
				c := derivedCase(t, agreeMessage(), media, sealed)
				c.md = md
				edit(&c)
				c.check(t, name)
			}
			// Every one-byte edit of the detail and of the opening.
			for j := range base.e.Detail {
				for _, b := range []byte{'"', '0', 'a', 'F', base.e.Detail[j] + 1} {
					c := derivedCase(t, md, media, sealed)
					c.e.Detail = bytes.Clone(c.e.Detail)
					c.e.Detail[j] = b
					c.check(t, "detail edit")
				}
			}
			if sealed {
				for j := range base.op.bytes {
					for _, b := range []byte{'"', '\\', '0', 'a', base.op.bytes[j] + 1} {
						c := derivedCase(t, md, media, sealed)
						ob := bytes.Clone(c.op.bytes)
						ob[j] = b
						c.op = &openingRead{sum: c.op.sum, name: c.op.name, bytes: ob}
						c.check(t, "opening edit")
					}
				}
			}
		}
	}
}

func FuzzMessageAgrees(f *testing.F) {
	base := derivedCase(f, agreeMessage(), nil, true)
	f.Add([]byte(base.e.Detail), base.op.bytes, "m1", "hello", "+15550100", true)
	f.Add([]byte(`{}`), []byte(`{}`), "", "", "", false)
	f.Fuzz(func(t *testing.T, detail, opening []byte, id, text, from string, hold bool) {
		md := agreeMessage()
		md.TextBody, md.FromAddress = text, from
		c := derivedCase(t, agreeMessage(), nil, true)
		c.md = md
		c.e.MessageID, c.e.Detail = id, detail
		c.e.Compliance.LegalHold = &hold
		c.op = &openingRead{sum: c.op.sum, name: c.op.name, bytes: opening}
		c.check(t, "fuzz")
		c.op = nil
		c.check(t, "fuzz v1")
	})
}
