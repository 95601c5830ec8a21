package leaf

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
)

// referenceLeaf builds the leaf the slow, obvious way: a generic JSON
// object canonicalized by hashchain (RFC 8785). AppendLeaf must agree.
func referenceLeaf(e Entry) ([]byte, error) {
	m := map[string]any{"v": 1, "kind": e.Kind, "matter": e.Matter, "at": FormatTime(e.At)}
	for k, v := range map[string]string{"conversation_id": e.ConversationID, "message_id": e.MessageID, "run_id": e.RunID} {
		if v != "" {
			m[k] = v
		}
	}
	if !e.PayloadSHA256.IsZero() {
		m["payload_sha256"] = e.PayloadSHA256.String()
	}
	if !e.EvidenceSHA256.IsZero() {
		m["evidence_sha256"] = e.EvidenceSHA256.String()
	}
	if s := e.Source; s != nil {
		m["source"] = map[string]any{"method": s.Method, "path": s.Path, "status": s.Status, "correlation_id": s.CorrelationID}
	}
	if c := e.Compliance; c != nil {
		refs := c.AuditRefs
		if refs == nil {
			refs = []string{}
		}
		var hold any
		if c.LegalHold != nil {
			hold = *c.LegalHold
		}
		m["compliance"] = map[string]any{"legal_hold": hold, "audit_refs": refs, "original_timestamp": c.OriginalTimestamp}
	}
	if e.Supersedes != nil {
		m["supersedes"] = *e.Supersedes
	}
	if len(e.Detail) > 0 {
		m["detail"] = e.Detail
	}
	return hashchain.CanonicalJSON(m)
}

// awkward strings for JSON escaping.
var awkward = []string{
	"", "plain", `quote " and backslash \`, "tab\tnewline\nreturn\rformfeed\fbackspace\b",
	"nul \x00 unit-sep \x1f del \x7f", "<script>&amp;</script>", "é ü ß 日本語 🙂", "\u2028\u2029",
	"\ufeffbom", "/slash/", "\u00a0nbsp", "emoji 👩‍⚖️ family",
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return awkward[r.IntN(len(awkward))]
	}
	var b []rune
	for n := r.IntN(12); n > 0; n-- {
		switch r.IntN(4) {
		case 0:
			b = append(b, rune(r.IntN(0x20)))
		case 1:
			b = append(b, rune(0x20+r.IntN(0x60)))
		case 2:
			b = append(b, rune(0xa0+r.IntN(0xd000)))
		default:
			b = append(b, rune(0x10000+r.IntN(0x1000)))
		}
	}
	return string(b)
}

func randomEntry(r *rand.Rand) Entry {
	e := Entry{
		Kind:   []string{KindMessage, KindConversation, KindRun, "x-1.y_z"}[r.IntN(4)],
		Matter: randomString(r) + "m",
		At:     time.UnixMilli(r.Int64N(253402300799999)).UTC(),
	}
	if r.IntN(2) == 0 {
		e.ConversationID = randomString(r)
	}
	if r.IntN(2) == 0 {
		e.MessageID = randomString(r)
	}
	if r.IntN(2) == 0 {
		e.RunID = randomString(r)
	}
	if r.IntN(2) == 0 {
		e.PayloadSHA256[r.IntN(32)] = byte(1 + r.IntN(255))
	}
	if r.IntN(2) == 0 {
		e.EvidenceSHA256[r.IntN(32)] = byte(1 + r.IntN(255))
	}
	if r.IntN(2) == 0 {
		e.Source = &Source{Method: randomString(r), Path: randomString(r), Status: r.IntN(1000), CorrelationID: randomString(r)}
	}
	if r.IntN(2) == 0 {
		c := &Compliance{OriginalTimestamp: randomString(r)}
		switch r.IntN(3) {
		case 0:
			t := true
			c.LegalHold = &t
		case 1:
			f := false
			c.LegalHold = &f
		}
		for n := r.IntN(4); n > 0; n-- {
			c.AuditRefs = append(c.AuditRefs, randomString(r))
		}
		e.Compliance = c
	}
	if r.IntN(2) == 0 {
		s := r.Uint64N(maxSafeInteger)
		e.Supersedes = &s
	}
	if r.IntN(2) == 0 {
		d := map[string]any{randomString(r): randomString(r), "n": r.Float64() * 1e6, "i": r.IntN(1 << 40), "nested": map[string]any{"b": true, "a": []any{nil, 1.5, "x"}}}
		e.Detail, _ = json.Marshal(d)
	}
	return e
}

func TestLeafIsJCS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		e := randomEntry(r)
		got, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := referenceLeaf(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("entry %d:\n got %s\nwant %s", i, got, want)
		}
		// And the leaf is its own canonical form.
		if c, err := hashchain.Canonicalize(got); err != nil || !bytes.Equal(c, got) {
			t.Fatalf("entry %d: leaf is not canonical: %v", i, err)
		}
		// Decoding gives the entry back.
		back, err := DecodeLeaf(got)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := back.AppendLeaf(nil)
		if !bytes.Equal(again, got) {
			t.Fatalf("entry %d: decode/encode round trip differs:\n%s\n%s", i, got, again)
		}
	}
}

func FuzzLeafEncoding(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, s, s, 200, true)
	}
	f.Fuzz(func(t *testing.T, a, b, c string, status int, hold bool) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || !utf8.ValidString(c) {
			return
		}
		e := Entry{Kind: KindMessage, Matter: "m" + a, At: time.Unix(0, 0), ConversationID: b, MessageID: c, RunID: a,
			Source:     &Source{Method: a, Path: b, Status: status, CorrelationID: c},
			Compliance: &Compliance{LegalHold: &hold, AuditRefs: []string{a, b, c}, OriginalTimestamp: c}}
		got, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := referenceLeaf(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func FuzzParseProof(f *testing.F) {
	proofs, key := testProofs(f, 5)
	for _, p := range proofs {
		data, _ := json.Marshal(p)
		f.Add(data)
	}
	sp, openings, _ := saltedProofs(f, 3)
	for i, p := range sp {
		if err := p.ProveFields(openings[i], []string{"from", "legal_hold", "timestamp", "audit_refs"}); err != nil {
			f.Fatal(err)
		}
		data, _ := json.Marshal(p)
		f.Add(data)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"custody-proof/v1","index":0,"tree_size":1,"leaf":"e30=","leaf_hash":"","inclusion":[],"checkpoint":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProof(data)
		if err != nil {
			return
		}
		// What parses must re-encode to something that parses the same.
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseProof(again)
		if err != nil {
			t.Fatalf("re-encoded proof does not parse: %v", err)
		}
		if q.Index != p.Index || q.TreeSize != p.TreeSize || !bytes.Equal(q.Leaf, p.Leaf) || !bytes.Equal(q.Checkpoint, p.Checkpoint) || len(q.Inclusion) != len(p.Inclusion) ||
			q.Format != p.Format || len(q.Fields) != len(p.Fields) {
			t.Fatal("round trip changed the proof")
		}
		// Verification may fail, but must not panic.
		p.Verify(key)
	})
}

var detailSeeds = []string{
	`{}`, `{"a":1,"b":[true,false,null],"c":{"z":"x","y":-12}}`,
	`{"b":1, "a" : "\u00e9\n\"\\\/\b\f\r\t\u0001\u001f\u007f"}`,
	`{"big":9007199254740993,"neg0":-0,"f":1.5,"e":1e3,"E":2E-3}`,
	`{"emoji":"\ud83d\ude00","lone":"\ud800","key\ud83d\ude00":1,"\u20ac":2,"\ufb01":3}`,
	`{"a":1,"a":2}`, `{"a":01}`, `{"a":1,}`, `[1,2]`, `{"a":"` + "\x01" + `"}`, `{"a":"\xff"}`,
	`{"html":"<&>","deep":[[[[[[[[[[[]]]]]]]]]]]}`, ` {"ws":	1 } `, `{"a":1} x`, `{"a" 1}`, `{"a":tru}`,
	`{"max":9007199254740991,"min":-9007199254740991,"zero":0,"n":-1}`,
	`{"a":"\u001f\u0000\n","b":[1,{"c":null}],"d":"é "}`, `{"a":"\u000a"}`, `{"a":"\u001F"}`, `{"b":1,"a":2}`,
	`{"a":1,"a":1}`, `{"a\n":1}`, `{"😀":1,"￿":2}`, `{"￿":1,"😀":2}`,
}

func FuzzCanonicalDetail(f *testing.F) {
	for _, s := range detailSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, err := hashchain.Canonicalize(raw)
		// The pooled hash: the canonical form's hash, or an error with it.
		if sum, herr := CanonicalSHA256(raw); (herr == nil) != (err == nil) || err == nil && sum != hashchain.Hash(sha256.Sum256(want)) {
			t.Fatalf("CanonicalSHA256(%q) = %s, %v; canonical form %q, %v", raw, sum, herr, want, err)
		}
		if isCanonical(raw) {
			if err != nil || !bytes.Equal(raw, want) {
				t.Fatalf("checker calls %q canonical; canonical form %q, %v", raw, want, err)
			}
		}
		if got, ok := appendJCS(nil, raw); ok {
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("streaming fast path: %q:\n got %s\nwant %s (%v)", raw, got, want, err)
			}
			if _, ok := parseJCS(raw); !ok {
				t.Fatalf("streaming fast path takes %q, which parseJCS declines", raw)
			}
		}
		v, ok := parseJCS(raw)
		if !ok {
			return // the general path decides
		}
		if err != nil {
			t.Fatalf("fast path accepted what the canonicalizer rejects (%v): %q", err, raw)
		}
		if got := v.appendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", raw, got, want)
		}
	})
}

func TestCanonicalDetailSeeds(t *testing.T) {
	fast := 0
	for _, s := range detailSeeds {
		// Twice: the second call reuses the pooled buffers the first left.
		for range 2 {
			sum, herr := CanonicalSHA256([]byte(s))
			want, wantErr := hashchain.Canonicalize([]byte(s))
			if (herr == nil) != (wantErr == nil) || wantErr == nil && sum != hashchain.Hash(sha256.Sum256(want)) {
				t.Errorf("CanonicalSHA256(%q) = %s, %v; want the hash of %s, %v", s, sum, herr, want, wantErr)
			}
		}
		if _, ok := parseJCS([]byte(s)); ok {
			fast++
		}
		got, gotErr := CanonicalDetail([]byte(s))
		want, wantErr := hashchain.Canonicalize([]byte(s))
		if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, %v; want %s, %v", s, got, gotErr, want, wantErr)
		}
	}
	if fast < 5 {
		t.Errorf("only %d seeds took the fast path", fast)
	}
	for s, want := range map[string]bool{
		`{"a":1,"b":[true,false,null],"c":{"y":-12,"z":"x"}}`: true,
		`{"a":"\u001f\n\"\\","b":"é <&>"}`:                    true,
		`{}`:                                                  true, `{"a":[]}`: true, `{"a":{}}`: true,
		`{"b":1,"a":2}`: false, `{"a":1,"a":1}`: false, `{"a":1.5}`: false, `{"a": 1}`: false,
		`{"a":"\u000a"}`: false, `{"a":"\u001F"}`: false, `{"a":"\/"}`: false, `{"a":"\u0041"}`: false,
		`{"a\n":1}`: false, `{"😀":1}`: false, `{"a":01}`: false, `{"a":-0}`: false,
	} {
		if isCanonical([]byte(s)) != want {
			t.Errorf("canonical(%s) = %v, want %v", s, !want, want)
		}
	}
}

// TestParseProofMembers checks that a proof reads the same to every
// reader: each member exactly once, spelled exactly.
func TestParseProofMembers(t *testing.T) {
	proofs, key := testProofs(t, 3)
	data, _ := json.Marshal(proofs[1])
	if _, err := VerifyProof(data, key); err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for name, edit := range map[string]string{
		"repeated":   strings.Replace(s, `"index":1,`, `"index":1,"index":2,`, 1),
		"case":       strings.Replace(s, `"index":`, `"Index":`, 1),
		"escaped":    strings.Replace(s, `"index":`, `"\u0069ndex":`, 1),
		"missing":    strings.Replace(s, `"index":1,`, ``, 1),
		"unknown":    strings.Replace(s, `"index":1,`, `"index":1,"note":"x",`, 1),
		"not object": `[` + s + `]`,
	} {
		_, err := ParseProof([]byte(edit))
		if name == "escaped" {
			// The same name, escaped: every JSON reader decodes it alike.
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformedProof) {
			t.Errorf("%s: %v, want ErrMalformedProof", name, err)
		}
	}
}
