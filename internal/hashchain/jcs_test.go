package hashchain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// rfc8785Sample is the input of RFC 8785 §3.2.2.
const rfc8785Sample = `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`

// rfc8785SampleHex is the UTF-8 output of RFC 8785 §3.2.4 for rfc8785Sample.
const rfc8785SampleHex = `
7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`

// rfc8785Sorting is the input of RFC 8785 §3.2.3. By code point U+1F600
// sorts before U+FB33, by UTF-16 code unit (D83D DE00) after it.
const rfc8785Sorting = `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`

func TestCanonicalizeRFC8785Sample(t *testing.T) {
	want, err := hex.DecodeString(strings.Join(strings.Fields(rfc8785SampleHex), ""))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Canonicalize([]byte(rfc8785Sample))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// §3.2.3 shows the same result as text.
	const wantText = `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	if string(got) != wantText {
		t.Fatalf("got  %s\nwant %s", got, wantText)
	}
}

func TestCanonicalizeRFC8785SortingUTF16(t *testing.T) {
	got, err := Canonicalize([]byte(rfc8785Sorting))
	if err != nil {
		t.Fatal(err)
	}
	// Escapes keep the expected bytes exact (no editor normalization).
	want := `{"\r":"Carriage Return","1":"One",` +
		"\"\u0080\":\"Control\"," +
		"\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\"," +
		"\"\U0001F600\":\"Emoji: Grinning Face\"," +
		"\"\uFB33\":\"Hebrew Letter Dalet With Dagesh\"}"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestCanonicalizeRFC8785Numbers runs the ES6 number samples of RFC 8785
// Appendix B through the full parser: each double is written in Go's
// shortest round-trip form and in 17 significant digits, and both must come
// out in ES6 form.
func TestCanonicalizeRFC8785Numbers(t *testing.T) {
	cases := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"}, // minus zero
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"}, // round to even
	}
	for _, c := range cases {
		f := math.Float64frombits(c.bits)
		for _, in := range []string{
			strconv.FormatFloat(f, 'g', -1, 64),
			strconv.FormatFloat(f, 'e', 16, 64),
		} {
			got, err := Canonicalize([]byte("[" + in + "]"))
			if err != nil {
				t.Errorf("%016x %s: %v", c.bits, in, err)
				continue
			}
			if string(got) != "["+c.want+"]" {
				t.Errorf("%016x %s: got %s, want [%s]", c.bits, in, got, c.want)
			}
		}
	}
	// NaN and Infinity (the table's error rows) have no JSON spelling; the
	// only way to reach Infinity is overflow, which I-JSON forbids.
	for _, in := range []string{"1e400", "-1e400", "[1.8e308]"} {
		if _, err := Canonicalize([]byte(in)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("Canonicalize(%s) error = %v, want ErrInvalidJSON", in, err)
		}
	}
}

func TestCanonicalizeCases(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"scalar true", ` true `, `true`},
		{"scalar null", "\n\tnull\r\n", `null`},
		{"scalar string", `"x"`, `"x"`},
		{"scalar number", `-0.0`, `0`},
		{"empty containers", `{ "b" : [ ] , "a" : { } }`, `{"a":{},"b":[]}`},
		{"nested sort", `{"b":{"z":1,"y":2},"a":[{"d":1,"c":2}]}`, `{"a":[{"c":2,"d":1}],"b":{"y":2,"z":1}}`},
		{"array order kept", `[3,1,2]`, `[3,1,2]`},
		{"integers", `[1.0, 10, 100e0, 1E2, 123456789012]`, `[1,10,100,100,123456789012]`},
		{"exponents", `[1e21, 1e-7, 1.5e-7, 12e20]`, `[1e+21,1e-7,1.5e-7,1.2e+21]`},
		{"big int loses precision", `[9007199254740993]`, `[9007199254740992]`},
		{"short escapes", `"\b\t\n\f\r\"\\"`, `"\b\t\n\f\r\"\\"`},
		{"control escapes lowercase", `"\u0000\u001F\u000B"`, `"\u0000\u001f\u000b"`},
		{"del and c1 raw", `"\u007f\u0085"`, "\"\u007f\u0085\""},
		{"solidus unescaped", `"\/"`, `"/"`},
		{"html raw", `"\u003c\u003e\u0026"`, `"<>&"`},
		{"line separator raw", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"surrogate pair", `"\uD83D\uDE00"`, `"😀"`},
		{"raw utf-8 kept", `"A` + "\u030a" + `"`, `"A` + "\u030a" + `"`},
		{"no normalization", `{"\u00c5":1,"A\u030a":2}`, `{"A` + "\u030a" + `":2,"` + "\u00c5" + `":1}`},
		{"key escapes", `{"\u0061":1}`, `{"a":1}`},
		{"ascii key order", `{"b":1,"B":2,"a":3,"A":4,"10":5,"1":6,"":7}`, `{"":7,"1":6,"10":5,"A":4,"B":2,"a":3,"b":1}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(c.in))
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", c.in, err)
			}
			if string(got) != c.want {
				t.Fatalf("Canonicalize(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	cases := map[string]string{
		"empty":                 ``,
		"whitespace only":       ` `,
		"trailing value":        `{} {}`,
		"trailing garbage":      `[1]x`,
		"bom":                   "\ufeff{}",
		"duplicate key":         `{"a":1,"a":2}`,
		"duplicate nested":      `{"x":{"a":1,"b":2,"a":3}}`,
		"duplicate via escape":  `{"a":1,"\u0061":2}`,
		"duplicate via pair":    `{"😀":1,"\ud83d\ude00":2}`,
		"lone high surrogate":   `"\ud83d"`,
		"lone high then char":   `"\ud83dx"`,
		"lone low surrogate":    `"\ude00"`,
		"high then high":        `"\ud83d\ud83d"`,
		"lone surrogate in key": `{"\udc00":1}`,
		"invalid utf-8":         "\"\xff\"",
		"truncated utf-8":       "\"\xe2\x82\"",
		"overlong utf-8":        "\"\xc0\xaf\"",
		"utf-8 surrogate":       "\"\xed\xa0\x80\"",
		"raw control char":      "\"a\tb\"",
		"bad escape":            `"\x"`,
		"short unicode escape":  `"\u12"`,
		"unterminated string":   `"abc`,
		"single quotes":         `'a'`,
		"leading zero":          `01`,
		"plus sign":             `+1`,
		"bare fraction":         `.5`,
		"trailing dot":          `1.`,
		"hex number":            `0x10`,
		"nan":                   `NaN`,
		"infinity":              `Infinity`,
		"overflow":              `1e309`,
		"trailing comma array":  `[1,]`,
		"trailing comma object": `{"a":1,}`,
		"missing colon":         `{"a" 1}`,
		"unquoted key":          `{a:1}`,
		"comment":               `[1 /* c */]`,
		"bad literal":           `tru`,
		"unclosed array":        `[1`,
		"unclosed object":       `{"a":1`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := Canonicalize([]byte(in))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("Canonicalize(%q) = %q, %v; want ErrInvalidJSON", in, out, err)
			}
			if !strings.HasPrefix(err.Error(), "hashchain: canonicalize: ") {
				t.Fatalf("error %q lacks operation prefix", err)
			}
		})
	}
	if _, err := Canonicalize(nil); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("Canonicalize(nil) error = %v, want ErrInvalidJSON", err)
	}
}

func TestCanonicalizeIsIdempotent(t *testing.T) {
	for _, in := range []string{rfc8785Sample, rfc8785Sorting, `[1e21,{"b":"\u2028","a":-0}]`} {
		once, err := Canonicalize([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		twice, err := Canonicalize(once)
		if err != nil {
			t.Fatal(err)
		}
		if string(once) != string(twice) {
			t.Fatalf("not idempotent:\n%s\n%s", once, twice)
		}
	}
}

func TestCanonicalJSON(t *testing.T) {
	type msg struct {
		ID   string            `json:"id"`
		Body string            `json:"body"`
		N    float64           `json:"n"`
		Tags map[string]string `json:"tags"`
	}
	got, err := CanonicalJSON(msg{ID: "m1", Body: "<b>&</b>", N: 1e21, Tags: map[string]string{"z": "1", "a": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json escapes HTML characters and writes 1e21 as 1e+21; JCS
	// undoes the former and sorts the keys.
	want := `{"body":"<b>&</b>","id":"m1","n":1e+21,"tags":{"a":"2","z":"1"}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	if _, err := CanonicalJSON(make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "hashchain: canonical json: ") {
		t.Fatalf("CanonicalJSON(chan) error = %v, want a marshal error", err)
	}
	if _, err := CanonicalJSON(math.NaN()); err == nil {
		t.Fatal("CanonicalJSON(NaN) succeeded")
	}
}

func TestPayloadHash(t *testing.T) {
	a, err := PayloadHash([]byte(`{"b": [1.0, "x"], "a": null}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := PayloadHash([]byte("{\"a\":null,\n\"b\":[1,\"\\u0078\"]}"))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("equivalent documents hash differently: %s vs %s", a, b)
	}
	if want := Hash(sha256.Sum256([]byte(`{"a":null,"b":[1,"x"]}`))); a != want {
		t.Fatalf("PayloadHash = %s, want SHA-256 of the JCS bytes %s", a, want)
	}
	c, err := PayloadHash([]byte(`{"a":null,"b":[1,"y"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Fatal("different documents hash equal")
	}
	if _, err := PayloadHash([]byte(`{"a":1,"a":1}`)); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("PayloadHash(duplicate) error = %v, want ErrInvalidJSON", err)
	}
}
