package leaf

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/hashchain"
)

// salted returns message(conv, i) in the v3 form: its personal fields
// committed under a fixed salt, and the opening that opens them.
func salted(t testing.TB, conv string, i int) (Entry, *Opening) {
	t.Helper()
	e := message(conv, i)
	dd, err := DecodeDetail(KindMessage, e.Detail)
	if err != nil {
		t.Fatal(err)
	}
	d := dd.(*MessageDetail)
	o := &Opening{MessageID: e.MessageID, Fields: map[string]string{
		"content_sha256": d.ContentSHA256, "from": d.From, "provider_message_id": d.ProviderMessageID, "to": d.To}}
	copy(o.Salt[:], bytes.Repeat([]byte{byte(i + 1)}, SaltSize))
	d.SetCommitments(o, hashchain.Hash(sha256.Sum256(o.Encode())))
	if e.Detail, err = EncodeDetail(d); err != nil {
		t.Fatal(err)
	}
	return e, o
}

// TestCommitmentDefinition recomputes a field salt and a commitment from
// the definition in docs/ledger-format.md with nothing but the standard
// library.
func TestCommitmentDefinition(t *testing.T) {
	salt := bytes.Repeat([]byte{0x5a}, SaltSize)
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("custody/field/v3\x00from"))
	fs := m.Sum(nil)
	if got := FieldSalt(salt, "from"); !bytes.Equal(got[:], fs) {
		t.Fatalf("field salt %x, want %x", got, fs)
	}
	want := sha256.Sum256(append(append([]byte("custody/commit/v3\x00"), fs...), "+15555550100"...))
	if got := Commitment(FieldSalt(salt, "from"), "+15555550100"); got != hashchain.Hash(want) {
		t.Fatalf("commitment %s, want %x", got, want)
	}
	if FieldSalt(salt, "from") == FieldSalt(salt, "to") {
		t.Fatal("two fields share a salt")
	}
}

// TestSaltedLeaf: a v3 message leaf says "v":3, passes the strict checks,
// holds none of the personal values nor their plain hashes, and opens
// with its opening only.
func TestSaltedLeaf(t *testing.T) {
	e, o := salted(t, "conv-a", 0)
	b, err := e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.V != FormatV3 || !bytes.HasSuffix(b, []byte(`,"v":3}`)) {
		t.Fatalf("v3 leaf %s", b)
	}
	if err := CheckLeaf(b); err != nil {
		t.Fatalf("strict: %v", err)
	}
	if err := checkLeafSlow(b); err != nil {
		t.Fatalf("strict (slow path): %v", err)
	}
	for _, f := range PersonalFields {
		v := o.Fields[f]
		if v == "" {
			continue
		}
		h := sha256.Sum256([]byte(v))
		if bytes.Contains(b, []byte(v)) || bytes.Contains(b, []byte(hex.EncodeToString(h[:]))) {
			t.Errorf("the leaf holds %s (%q) or its hash", f, v)
		}
	}
	back, err := DecodeLeaf(b)
	if err != nil || back.V != FormatV3 {
		t.Fatalf("decode: %v %d", err, back.V)
	}
	dd, _ := DecodeDetail(KindMessage, back.Detail)
	d := dd.(*MessageDetail)
	od, err := d.Open(o)
	if err != nil || od.From != "+15555550100" || od.ContentSHA256 != strings.Repeat("ab", 32) {
		t.Fatalf("open: %+v %v", od, err)
	}
	other := *o
	other.Fields = map[string]string{"content_sha256": o.Fields["content_sha256"], "from": "+15555550101", "to": o.Fields["to"]}
	if _, err := d.Open(&other); err == nil {
		t.Error("an opening with another sender opens the commitment")
	}
	other = *o
	other.Salt[0] ^= 1
	if _, err := d.Open(&other); err == nil {
		t.Error("an opening with another salt opens the commitment")
	}
}

// TestSaltedRules: a v3 message may not carry a personal field in clear
// nor lack a commitment; v1 leaves stay valid; v is 1 or 3.
func TestSaltedRules(t *testing.T) {
	e, _ := salted(t, "conv-a", 1)
	good, err := e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(string) string{
		"from in clear": func(s string) string {
			return strings.Replace(s, `"direction"`, `"direction":"inbound","from":"+15555550100","x_direction"`, 1)
		},
		"commitment missing":    func(s string) string { return strings.Replace(s, `"from_commitment"`, `"from_commitmenx"`, 1) },
		"commitment not a hash": func(s string) string { return strings.Replace(s, `"to_commitment":"`, `"to_commitment":"zz`, 1) },
		"v 2":                   func(s string) string { return strings.Replace(s, `"v":3}`, `"v":2}`, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			b := []byte(edit(string(good)))
			if canon, err := hashchain.Canonicalize(b); err == nil {
				b = canon
			}
			if err := CheckLeaf(b); !errors.Is(err, ErrNotEntry) {
				t.Errorf("CheckLeaf = %v, want ErrNotEntry", err)
			}
		})
	}
	v1 := message("conv-a", 2)
	b, err := v1.AppendLeaf(nil)
	if err != nil || v1.V != FormatV1 || CheckLeaf(b) != nil {
		t.Fatalf("v1 leaf: %v %d %v", err, v1.V, CheckLeaf(b))
	}
	forced := message("conv-a", 3)
	forced.V = FormatV3
	if _, err := forced.AppendLeaf(nil); err == nil {
		if err := forced.Validate(); err == nil {
			t.Error("a v3 message with its personal fields in clear validates")
		}
	}
}

// TestOpeningParse: openings are hostile input; one spelling each.
func TestOpeningParse(t *testing.T) {
	_, o := salted(t, "conv-a", 4)
	b := o.Encode()
	back, err := ParseOpening(b)
	if err != nil || !bytes.Equal(back.Encode(), b) {
		t.Fatalf("round trip: %v", err)
	}
	for name, bad := range map[string]string{
		"spaces":        strings.Replace(string(b), `{"fields":`, `{ "fields":`, 1),
		"unknown field": strings.Replace(string(b), `"to":`, `"tox":`, 1),
		"format":        strings.Replace(string(b), OpeningFormat, "custody-opening/v9", 1),
		"short salt":    strings.Replace(string(b), `"salt":"`, `"salt":"00`, 1)[:len(b)-4] + `"}`,
		"not json":      string(b[:len(b)-1]),
		"extra member":  strings.Replace(string(b), `{"fields":`, `{"extra":1,"fields":`, 1),
	} {
		if _, err := ParseOpening([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// Names are exact: encoding/json would read each of these as the
	// genuine member.
	for name, c := range map[string][2]string{
		"salt in another case":   {`"salt":`, `"Salt":`},
		"field with a long s":    {`"content_sha256":`, `"content_ſha256":`},
		"field twice, in case":   {`"to":`, `"TO":"+10000000000","to":`},
		"message_id with Kelvin": {`"message_id":`, `"message_id":"x","Kessage_id":`},
	} {
		bad := strings.Replace(string(b), c[0], c[1], 1)
		_, err := ParseOpening([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), "member") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseOpening(f *testing.F) {
	_, o := func() (Entry, *Opening) { return salted(f, "c", 1) }()
	f.Add(o.Encode())
	f.Add([]byte(`{"fields":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOpening(b)
		if err == nil && !bytes.Equal(o.Encode(), b) {
			t.Fatalf("accepted a second spelling: %q", b)
		}
	})
}

// BenchmarkCheckLeafV3 is BenchmarkCheckLeaf on the same message as a v3
// leaf: the strict check also decodes its detail for the v3 rule.
func BenchmarkCheckLeafV3(b *testing.B) {
	e, _ := salted(b, "conv-01", 3)
	leaf, _ := e.AppendLeaf(nil)
	b.SetBytes(int64(len(leaf)))
	for b.Loop() {
		if err := CheckLeaf(leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// plainHash is a hash whose state cannot be saved.
type plainHash struct{ hash.Hash }

// TestFieldSaltsStateless: states that cannot be saved make derive fail,
// never panic and never give salts (fieldSalts then takes FieldSalt's).
func TestFieldSaltsStateless(t *testing.T) {
	var salt [SaltSize]byte
	for _, st := range []*saltState{
		{inner: plainHash{sha256.New()}, outer: sha256.New()},
		{inner: sha256.New(), outer: plainHash{sha256.New()}},
	} {
		if err := st.derive(&salt); !errors.Is(err, errNoState) {
			t.Errorf("derive with a state that cannot be saved: %v", err)
		}
	}
}

// BenchmarkFieldSalts derives a message's four field salts.
func BenchmarkFieldSalts(b *testing.B) {
	var salt [SaltSize]byte
	for i := range salt {
		salt[i] = byte(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		fieldSalts(&salt)
	}
}

// TestFieldSaltsAllocate: deriving the salts allocates nothing once the
// pool holds a state (a buffer on the stack handed to a hash.Hash would
// escape, one allocation a message each).
func TestFieldSaltsAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIPPED under -race: sync.Pool drops states at random there; make test runs this without it")
	}
	var salt [SaltSize]byte
	fieldSalts(&salt)
	if n := testing.AllocsPerRun(100, func() { fieldSalts(&salt) }); n > 0 {
		t.Errorf("fieldSalts allocates %.1f times a call", n)
	}
}

// TestCommitmentsShared holds commitments (HMAC-SHA256 spelled out, the
// padded key hashed once for all fields: fieldSalts) to the definition,
// FieldSalt through crypto/hmac and Commitment, field by field, for 50
// salts — also when the states kept between messages come from another
// salt.
func TestCommitmentsShared(t *testing.T) {
	for k := range 50 {
		o := &Opening{MessageID: "m", Fields: map[string]string{}}
		for i := range o.Salt {
			o.Salt[i] = byte(k*31 + i*7)
		}
		for i, f := range PersonalFields {
			o.Fields[f] = strings.Repeat("v", k*i*3) + f // past the 256-byte stack buffer too
		}
		c := o.commitments()
		salts := fieldSalts(&o.Salt)
		for i, f := range PersonalFields {
			if salts[i] != FieldSalt(o.Salt[:], f) {
				t.Fatalf("salt %d, %s: fieldSalts differs from FieldSalt", k, f)
			}
			if want := Commitment(FieldSalt(o.Salt[:], f), o.Fields[f]); c[i] != want {
				t.Fatalf("salt %d, %s: %s, want %s", k, f, c[i], want)
			}
		}
		// PersonalFields order is what SetCommitments assumes.
		var d MessageDetail
		d.SetCommitments(o, hashchain.Hash{})
		for i, f := range PersonalFields {
			if d.Commitment(f) != c[i].String() {
				t.Fatalf("SetCommitments put %s's commitment elsewhere", f)
			}
		}
	}
}

// FuzzCheckedClearDetail holds clearDetailPlain, the v1 detail's fast
// path, to the three passes it stands in for: whatever it takes as
// plain, checkedClearDetailAll has nothing to say of.
func FuzzCheckedClearDetail(f *testing.F) {
	for _, s := range []string{
		`{"content_sha256":"ab","direction":"inbound","from":"+1","messenger_type":"whatsapp","to":"+2"}`,
		`{"from":null}`, `{"from":1}`, ` {"to":"x"} `, `{"to":"x"}x`, `{"media":[]}`, `{"media":[{"id":1}]}`,
		`{"from_commitment":"ab"}`, `{"opening_evidence_sha256":"ab"}`, `{"x_commitment":1}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"\u0066rom":1}`, `{"from":"\ud800"}`, `{"from":"a\"b"}`, `{}`, ``, `[]`, `{"a":1,}`, `{"a" 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if clearDetailPlain(raw) {
			if err := checkedClearDetailAll(raw); err != nil {
				t.Fatalf("%q: taken as plain, but the full check says %v", raw, err)
			}
		}
	})
}

// TestClearDetailPlain: the details v1 exports wrote take the fast path;
// anything the full check has to judge does not.
func TestClearDetailPlain(t *testing.T) {
	for s, want := range map[string]bool{
		`{"content_sha256":"ab","direction":"inbound","from":"+1","messenger_type":"whatsapp","to":"+2"}`: true,
		` {"to":"x","other":{"n":[1,null]}} `: true,
		`{"from":null}`:                       false,
		`{"media":[]}`:                        false,
		`{"from_commitment":"ab"}`:            false,
		`{"opening_evidence_sha256":"ab"}`:    false,
		`{"to":"x"}x`:                         false,
		`{"to":"x"`:                           false,
		``:                                    false,
	} {
		if got := clearDetailPlain([]byte(s)); got != want {
			t.Errorf("clearDetailPlain(%q) = %v, want %v", s, got, want)
		}
	}
}
