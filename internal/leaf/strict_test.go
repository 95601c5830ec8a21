package leaf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// strictCases are edits of a genuine leaf and the reason CheckLeaf must
// give (nil: the leaf is fine).
func strictCases(t testing.TB) (genuine string, cases []struct {
	name, leaf string
	want       error
}) {
	e := message("conv-01", 3)
	b, err := e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := string(b)
	run := Entry{Kind: KindRun, Matter: "m", At: t0, RunID: "r", Detail: []byte(`{"event":"end","status":"done"}`)}
	rb, _ := run.AppendLeaf(nil)
	r := string(rb)
	rep := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q not in the leaf", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	v3e, _ := salted(t, "conv-01", 3)
	v3b, err := v3e.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	v3 := string(v3b)
	hash := strings.Repeat("ab", 32)
	detail := `"detail":{"content_sha256":"` + hash + `","direction":"inbound","from":"+15555550100","messenger_type":"whatsapp","to":"+15555550199"},`
	cases = []struct {
		name, leaf string
		want       error
	}{
		{"genuine message", g, nil},
		{"genuine run", r, nil},
		{"escaped but canonical control character", rep(r, `"r",`, `"r\n",`), nil},
		{"supplementary-plane character", rep(r, `"m"`, `"m😀"`), nil},
		{"whitespace between members", rep(g, `,"kind"`, `, "kind"`), ErrNotCanonical},
		{"members out of order", rep(r, `"kind":"run","matter":"m"`, `"matter":"m","kind":"run"`), ErrNotCanonical},
		{"needless escape", rep(r, `"m"`, `"\u006d"`), ErrNotCanonical},
		{"upper-case unicode escape", rep(r, `"r",`, `"r\u001F",`), ErrNotCanonical},
		{"number with a fraction", rep(r, `"v":1}`, `"v":1.0}`), ErrNotCanonical},
		{"trailing newline", g + "\n", ErrNotCanonical},
		{"kind twice", rep(r, `"kind":"run",`, `"kind":"run","kind":"run",`), ErrDuplicateMember},
		{"kind twice, last differs", rep(g, `"kind":"message",`, `"kind":"message","kind":"run",`), ErrDuplicateMember},
		{"duplicate inside detail", rep(r, `"status":"done"`, `"status":"done","status":"failed"`), ErrDuplicateMember},
		{"duplicate by escape", rep(r, `"status":"done"`, `"status":"done","\u0073tatus":"x"`), ErrDuplicateMember},
		{"invalid utf-8", rep(r, `"m"`, "\"m\xff\""), ErrNotIJSON},
		{"lone surrogate", rep(r, `"m"`, `"\ud800"`), ErrNotIJSON},
		{"number at 2^53", rep(r, `"status":"done"`, `"n":9007199254740992,"status":"done"`), ErrNotIJSON},
		{"number far beyond", rep(r, `"status":"done"`, `"n":1e400,"status":"done"`), ErrNotIJSON},
		{"not json", g[:len(g)-1], ErrNotIJSON},
		{"unknown member", rep(r, `"v":1}`, `"v":1,"x":1}`), ErrNotEntry},
		{"version 2", rep(r, `"v":1}`, `"v":2}`), ErrNotEntry},
		// v3 is a message's version alone, and an empty id is omitted:
		// no custody wrote either.
		{"version 3 on a run", rep(r, `"v":1}`, `"v":3}`), ErrNotEntry},
		{"empty run_id", rep(r, `"run_id":"r"`, `"run_id":""`), ErrNotEntry},
		{"empty conversation_id", rep(r, `"detail":`, `"conversation_id":"","detail":`), ErrNotEntry},
		{"empty message_id", rep(r, `"run_id":"r"`, `"message_id":"","run_id":"r"`), ErrNotEntry},
		{"ids on a run", rep(rep(r, `"detail":`, `"conversation_id":"c","detail":`), `"run_id":"r"`, `"message_id":"x","run_id":"r"`), nil},
		{"kind missing", rep(r, `"kind":"run",`, ``), ErrNotEntry},
		{"null member", rep(r, `"run_id":"r"`, `"run_id":null`), ErrNotEntry},
		{"kind not an identifier", rep(r, `"kind":"run"`, `"kind":"Run"`), ErrNotEntry},
		{"upper-case hash", strings.Replace(g, e.PayloadSHA256.String(), strings.ToUpper(e.PayloadSHA256.String()), 1), ErrNotEntry},
		{"source member missing", rep(g, `"method":"POST",`, ``), ErrNotEntry},
		{"compliance with an extra member", rep(g, `"legal_hold":`, `"extra":"x","legal_hold":`), ErrNotEntry},
		{"message without message_id", strings.Replace(g, `"message_id":"`+e.MessageID+`",`, "", 1), ErrNotEntry},
		{"detail not an object", rep(r, `"detail":{"event":"end","status":"done"}`, `"detail":[]`), ErrNotEntry},
		{"bad time", rep(r, `"at":"2024-05-01T12:00:00.123Z"`, `"at":"2024-05-01T12:00:00Z"`), ErrNotEntry},
		// time.Parse takes a comma for the dot; the format does not.
		{"time with a comma", rep(r, `"at":"2024-05-01T12:00:00.123Z"`, `"at":"2024-05-01T12:00:00,123Z"`), ErrNotEntry},
		// A message's detail is of its version's form: v1 has the
		// personal fields in clear, v3 commitments instead.
		{"v1 message with an unknown detail member", rep(g, `"to":"+15555550199"}`, `"to":"+15555550199","zz":{"a":null}}`), nil},
		{"v1 message with from empty", rep(g, `"from":"+15555550100"`, `"from":""`), nil},
		{"v1 message with v3 commitments", rep(v3, `"v":3}`, `"v":1}`), ErrNotEntry},
		{"v3 message with v1 fields", rep(rep(g, `"v":1}`, `"v":3}`), `"content_sha256":"`+hash+`"`, `"content_sha256":""`), ErrNotEntry},
		{"v1 message with a commitment beside its fields", rep(g, `"from":"+15555550100",`, `"from":"+15555550100","from_commitment":"`+hash+`",`), ErrNotEntry},
		{"v1 message with an opening", rep(g, `"messenger_type":"whatsapp",`, `"messenger_type":"whatsapp","opening_evidence_sha256":"`+hash+`",`), ErrNotEntry},
		{"v1 message with to null", rep(g, `"to":"+15555550199"`, `"to":null`), ErrNotEntry},
		{"v1 message with media not an array", rep(g, `"messenger_type":`, `"media":{},"messenger_type":`), ErrNotEntry},
		// Which personal fields a capture has is derivation's to judge.
		{"v1 message without content_sha256", rep(g, `"content_sha256":"`+hash+`",`, ``), nil},
		{"v1 message without from", rep(g, `"from":"+15555550100",`, ``), nil},
		{"v1 message without detail", rep(g, detail, ``), nil},
		{"time with Arabic-Indic digits", rep(r, `"at":"2024-05-01T12:00:00.123Z"`, `"at":"2024-05-01T12:00:0١.123Z"`), ErrNotEntry},
	}
	return g, cases
}

func TestCheckLeaf(t *testing.T) {
	_, cases := strictCases(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLeaf([]byte(tc.leaf))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			t.Log(err)
			// The fast path and the slow path agree.
			if slow := checkLeafSlow([]byte(tc.leaf)); !errors.Is(slow, tc.want) {
				t.Errorf("slow path: %v", slow)
			}
		})
	}
	// Every leaf AppendLeaf writes passes, on the fast path.
	for i := range 50 {
		e := message(fmt.Sprintf("conv-%02d", i%4), i)
		b, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckLeaf(b); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if err := checkLeafSlow(b); err != nil {
			t.Fatalf("leaf %d, slow path: %v", i, err)
		}
	}
}

// addLeafSeeds seeds a leaf fuzzer: the strict cases, a v3 message leaf
// and the same with a member the format does not have.
func addLeafSeeds(f *testing.F) {
	_, cases := strictCases(f)
	for _, tc := range cases {
		f.Add([]byte(tc.leaf))
	}
	v3, _ := salted(f, "conv-01", 1)
	if b, err := v3.AppendLeaf(nil); err == nil {
		f.Add(b)
		f.Add([]byte(strings.Replace(string(b), `"direction":"inbound",`, `"direction":"inbound","from":"+1",`, 1)))
	}
}

// FuzzCheckLeaf holds CheckLeaf's fast path to its slow path.
func FuzzCheckLeaf(f *testing.F) {
	addLeafSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, slow := CheckLeaf(b), checkLeafSlow(b)
		if (fast == nil) != (slow == nil) {
			t.Fatalf("fast %v, slow %v", fast, slow)
		}
	})
}

func BenchmarkCheckLeaf(b *testing.B) {
	e := message("conv-01", 3)
	leaf, _ := e.AppendLeaf(nil)
	b.SetBytes(int64(len(leaf)))
	for b.Loop() {
		if err := CheckLeaf(leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeChecked: DecodeChecked gives what DecodeLeaf gives and says
// strict exactly when CheckLeaf accepts.
func FuzzDecodeChecked(f *testing.F) {
	addLeafSeeds(f)
	m := message("conv-01", 3)
	if b, err := m.AppendLeaf(nil); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, strict, err := DecodeChecked(b)
		want, werr := DecodeLeaf(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeChecked %v, DecodeLeaf %v", err, werr)
		}
		if strict != (CheckLeaf(b) == nil) {
			t.Fatalf("strict %v, CheckLeaf %v", strict, CheckLeaf(b))
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeChecked %+v\nDecodeLeaf    %+v", got, want)
		}
	})
}
