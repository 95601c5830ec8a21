package leaf

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/hashchain"
)

// exportMessage is a message entry shaped like the ones internal/export
// writes (export.MessageEntry): UUID conversation id, 32-hex message id,
// the bulk-messages source, no audit refs (most messages have none) and a
// sorted detail map: an 857-byte leaf.
func exportMessage(i int) Entry {
	conv := "0b8e4c2a-7d61-4f0e-9c3b-5a2d1e6f7a80"
	e := message(conv, i)
	e.Matter = "acme-v-smith"
	e.RunID = "run-20240501-120000"
	e.At = t0.Add(time.Duration(i) * time.Millisecond)
	e.Compliance.AuditRefs = []string{}
	e.Detail = mustJSON(map[string]any{"content_sha256": strings.Repeat("ab", 32), "direction": "inbound",
		"from": "+15555550100", "messenger_type": "whatsapp", "to": "+15555550199"})
	return e
}

// leafTable is an entry of every kind and shape custody writes.
func leafTable() map[string]Entry {
	yes, no := true, false
	sup := uint64(41)
	h := func(s string) hashchain.Hash { return hashchain.Hash(sha256.Sum256([]byte(s))) }
	src := &Source{Method: "GET", Path: "/api/v2/conversations/messages/c1", Status: 200, CorrelationID: "corr-1"}
	base := func(kind string) Entry { return Entry{Kind: kind, Matter: "acme-v-smith", At: t0, RunID: "run-1"} }
	msg := func(hold *bool, refs []string) Entry {
		e := base(KindMessage)
		e.ConversationID, e.MessageID = "c1", "m1"
		e.PayloadSHA256, e.EvidenceSHA256 = h("p"), h("e")
		e.Source = src
		e.Compliance = &Compliance{LegalHold: hold, AuditRefs: refs, OriginalTimestamp: "2024-04-30T09:15:27.481Z"}
		e.Detail = json.RawMessage(`{"direction":"inbound","from":"+1555"}`)
		return e
	}
	t := map[string]Entry{
		"export message":          exportMessage(1),
		"helper message":          message("conv-01", 3),
		"message hold true":       msg(&yes, []string{"a1"}),
		"message hold false":      msg(&no, []string{}),
		"message hold null":       msg(nil, nil),
		"message three refs":      msg(&yes, []string{"a1", "a2", "a3"}),
		"message five refs":       msg(&no, []string{"a1", "a2", "a3", "a4", "a5"}),
		"message no detail":       func() Entry { e := msg(&yes, nil); e.Detail = nil; return e }(),
		"message no source":       func() Entry { e := msg(&yes, nil); e.Source = nil; return e }(),
		"message no evidence":     func() Entry { e := msg(&yes, nil); e.EvidenceSHA256 = hashchain.Hash{}; return e }(),
		"message supersedes":      func() Entry { e := msg(&yes, nil); e.Supersedes = &sup; return e }(),
		"message supersedes zero": func() Entry { z := uint64(0); e := msg(&yes, nil); e.Supersedes = &z; return e }(),
		"message supersedes max":  func() Entry { m := uint64(maxSafeInteger - 1); e := msg(&yes, nil); e.Supersedes = &m; return e }(),
		"message POST status 0":   func() Entry { e := msg(&yes, nil); e.Source = &Source{Method: "POST", Path: "/p"}; return e }(),
		"message other method": func() Entry {
			e := msg(&yes, nil)
			e.Source = &Source{Method: "PATCH", Path: "/p", Status: 999}
			return e
		}(),
		"message escapes": func() Entry {
			e := msg(&yes, []string{`quote " back \`, "ctl \x00\x1f\x7f", "tab\tnl\ncr\rff\fbs\b"})
			e.ConversationID, e.MessageID = "é ü 日本語 🙂", "\u2028\u2029"
			e.Compliance.OriginalTimestamp = "<&>/"
			e.Source = &Source{Method: "GET", Path: "/a\\b\"c", CorrelationID: "\x01"}
			return e
		}(),
		"message nested detail": func() Entry {
			e := msg(&no, nil)
			e.Detail = json.RawMessage(`{"a":[1,-2,3.5,1e-7,true,false,null,{"b":"\u0001\n\"\\"}],"media":[{"sha256":"00","size":0}],"z":{}}`)
			return e
		}(),
		"conversation": func() Entry {
			e := base(KindConversation)
			e.ConversationID, e.PayloadSHA256, e.EvidenceSHA256, e.Source = "c1", h("conv"), h("ev"), src
			e.Detail = json.RawMessage(`{"audit_refs":["a1"],"legal_hold":true,"participants":2}`)
			return e
		}(),
		"run start": func() Entry {
			e := base(KindRun)
			e.Detail = json.RawMessage(`{"event":"start","interval":"2024-05-01T00:00:00Z/2024-05-02T00:00:00Z"}`)
			return e
		}(),
		"run end": func() Entry {
			e := base(KindRun)
			e.Detail = json.RawMessage(`{"event":"end","exported":1,"status":"done"}`)
			return e
		}(),
		"diff": func() Entry {
			e := base(KindDiff)
			e.PayloadSHA256 = h("findings")
			e.Detail = json.RawMessage(`{"findings":3}`)
			return e
		}(),
		"refetch": func() Entry { e := base(KindRefetch); e.ConversationID, e.MessageID = "c1", "m1"; return e }(),
		"hold": func() Entry {
			e := base(KindHold)
			e.ConversationID = "c1"
			e.Detail = json.RawMessage(`{"legal_hold":false}`)
			return e
		}(),
		"other kind, no run": func() Entry {
			return Entry{Kind: "x-1.y_z", Matter: "m", At: time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC)}
		}(),
		"year 1":    {Kind: KindRun, Matter: "m", At: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year 9999": {Kind: KindRun, Matter: "m", At: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	return t
}

// TestDecodeLeafFastPath checks that every leaf AppendLeaf writes takes
// the fast path — else the speed-up silently disappears — and decodes to
// what encoding/json gives.
func TestDecodeLeafFastPath(t *testing.T) {
	check := func(t *testing.T, e Entry) {
		t.Helper()
		leaf, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := decodeLeafFast(leaf)
		if !ok {
			t.Fatalf("fast path declined a leaf AppendLeaf wrote:\n%s", leaf)
		}
		want, err := decodeLeafJSON(leaf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("leaf %s\n got %+v\nwant %+v", leaf, got, want)
		}
	}
	for name, e := range leafTable() {
		t.Run(name, func(t *testing.T) { check(t, e) })
	}
	t.Run("random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for range 2000 {
			check(t, randomEntry(r))
		}
	})
}

// TestDecodeLeafFallback checks leaves the fast path must leave to
// encoding/json, and that DecodeLeaf still gives exactly its answer.
func TestDecodeLeafFallback(t *testing.T) {
	msg := exportMessage(1)
	leaf, err := msg.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(leaf)
	for name, m := range map[string]string{
		"key case":         strings.Replace(s, `"kind":`, `"Kind":`, 1),
		"duplicate":        strings.Replace(s, `"v":1}`, `"v":1,"v":1}`, 1),
		"unknown member":   strings.Replace(s, `"v":1}`, `"v":1,"w":2}`, 1),
		"misordered":       strings.Replace(s, `"kind":"message","matter":"acme-v-smith"`, `"matter":"acme-v-smith","kind":"message"`, 1),
		"whitespace":       strings.Replace(s, `"v":1}`, `"v": 1}`, 1),
		"trailing data":    s + " ",
		"v float":          strings.Replace(s, `"v":1}`, `"v":1.0}`, 1),
		"v 2":              strings.Replace(s, `"v":1}`, `"v":2}`, 1),
		"supersedes -0":    strings.Replace(s, `"v":1}`, `"supersedes":-0,"v":1}`, 1),
		"supersedes 1e3":   strings.Replace(s, `"v":1}`, `"supersedes":1e3,"v":1}`, 1),
		"supersedes null":  strings.Replace(s, `"v":1}`, `"supersedes":null,"v":1}`, 1),
		"status negative":  strings.Replace(s, `"status":200`, `"status":-200`, 1),
		"matter null":      strings.Replace(s, `"matter":"acme-v-smith"`, `"matter":null`, 1),
		"compliance null":  s[:strings.Index(s, `"compliance"`)] + `"compliance":null` + s[strings.Index(s, `,"conversation_id"`):],
		"refs null":        strings.Replace(s, `"audit_refs":[]`, `"audit_refs":null`, 1),
		"invalid utf-8":    strings.Replace(s, `"acme-v-smith"`, "\"acme-\xff\"", 1),
		"escaped key":      strings.Replace(s, `"kind":`, `"\u006bind":`, 1),
		"lone surrogate":   strings.Replace(s, `"acme-v-smith"`, `"\ud83d"`, 1),
		"detail null":      strings.Replace(s, `"detail":{`, `"detail":null,"x":{`, 1),
		"empty hash":       s[:strings.Index(s, `"payload_sha256":"`)+len(`"payload_sha256":"`)] + s[strings.Index(s, `"payload_sha256":"`)+len(`"payload_sha256":"`)+64:],
		"leap second":      strings.Replace(s, `T12:00:00.124Z`, `T23:59:60.000Z`, 1),
		"feb 29 1900":      strings.Replace(s, `2024-05-01T`, `1900-02-29T`, 1),
		"hour 24":          strings.Replace(s, `T12:00:00.124Z`, `T24:00:00.000Z`, 1),
		"at offset":        strings.Replace(s, `T12:00:00.124Z`, `T12:00:00.124+00:00`, 1),
		"missing v":        strings.Replace(s, `,"v":1}`, `}`, 1),
		"missing at":       `{"kind":"run","matter":"m","v":1}`,
		"empty":            ``,
		"not an object":    `[]`,
		"detail bad utf-8": strings.Replace(s, `"detail":{"content_sha256"`, "\"detail\":{\"\xff\":1,\"content_sha256\"", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := decodeLeafFast([]byte(m)); ok {
				t.Errorf("fast path took %q", m)
			}
			compareDecoders(t, []byte(m))
		})
	}
	// Leaves AppendLeaf would not write but the fast path takes, exactly
	// as encoding/json and time.Parse do: hex.Decode takes upper-case
	// digits; year 0000 and leap days parse; surrogate pairs decode;
	// whitespace inside the detail stays in its raw bytes.
	p := msg.PayloadSHA256.String()
	for _, m := range []string{
		strings.Replace(s, p, strings.ToUpper(p), 1),
		strings.Replace(s, `2024-05-01T12:00:00.124Z`, `0000-02-29T00:00:00.000Z`, 1),
		strings.Replace(s, `2024-05-01T12:00:00.124Z`, `2000-02-29T23:59:59.999Z`, 1),
		strings.Replace(s, `"matter":"acme-v-smith"`, `"matter":"\/\u00e9\u2028\uFFFD"`, 1),
		strings.Replace(s, `"acme-v-smith"`, `"\ud83d\ude00"`, 1),
		strings.Replace(s, `"detail":{"content_sha256"`, `"detail":{ "content_sha256"`, 1),
	} {
		if _, ok := decodeLeafFast([]byte(m)); !ok {
			t.Errorf("fast path declined %q", m)
		}
		compareDecoders(t, []byte(m))
	}
}

// TestDecodeLeafEdits makes every one-byte edit of a few kinds at every
// position of some leaves, and checks that DecodeLeaf still agrees with
// encoding/json. Many edits keep the leaf valid — a changed letter in a
// string, an upper-case key, a space — which arbitrary bytes rarely do.
func TestDecodeLeafEdits(t *testing.T) {
	table := leafTable()
	fast := 0
	for _, name := range []string{"export message", "message escapes", "message nested detail"} {
		e := table[name]
		leaf, err := e.AppendLeaf(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range leaf {
			for _, c := range []byte{' ', '0', 'A', '"', '\\', '}', 0xff} {
				for _, edit := range [][]byte{
					append(append(bytes.Clone(leaf[:i]), c), leaf[i+1:]...), // replace
					append(append(bytes.Clone(leaf[:i]), c), leaf[i:]...),   // insert
				} {
					if _, ok := decodeLeafFast(edit); ok {
						fast++
					}
					compareDecoders(t, edit)
				}
			}
			compareDecoders(t, append(bytes.Clone(leaf[:i]), leaf[i+1:]...)) // delete
		}
	}
	if fast == 0 {
		t.Error("no edit took the fast path")
	}
	t.Logf("%d edits took the fast path", fast)
}

// TestDecodeLeafDetailIsClipped checks that appending to a decoded Detail
// cannot overwrite the leaf it is a slice of.
func TestDecodeLeafDetailIsClipped(t *testing.T) {
	msg := exportMessage(2)
	leaf, err := msg.AppendLeaf(nil)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(leaf)
	e, err := DecodeLeaf(leaf)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(e.Detail, "xxxxxxxx"...)
	if !bytes.Equal(leaf, before) {
		t.Fatal("appending to Detail changed the leaf")
	}
}

// compareDecoders fails unless DecodeLeaf and decodeLeafJSON agree on leaf:
// the same entry, or the same error.
func compareDecoders(t *testing.T, leaf []byte) {
	t.Helper()
	got, gotErr := DecodeLeaf(leaf)
	want, wantErr := decodeLeafJSON(leaf)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("%q: DecodeLeaf error %v, encoding/json error %v", leaf, gotErr, wantErr)
	case gotErr != nil:
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: DecodeLeaf error %v, encoding/json error %v", leaf, gotErr, wantErr)
		}
	case !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\n got %+v\nwant %+v", leaf, got, want)
	}
}

// leafMutations are small edits that keep a leaf near the fast path's
// edge, for the fuzzer to start from.
var leafMutations = [][2]string{
	{`"kind":`, `"KIND":`}, {`"v":1}`, `"v":1,"v":1}`}, {`"v":1}`, `"v":1.0}`}, {`"v":1}`, `"v" :1}`},
	{`"v":1}`, `"supersedes":-0,"v":1}`}, {`"v":1}`, `"supersedes":1e3,"v":1}`}, {`"v":1}`, `"supersedes":18446744073709551616,"v":1}`},
	{`"v":1}`, `"v":1}x`}, {`"legal_hold":true`, `"legal_hold":null`}, {`"legal_hold":false`, `"legal_hold":"false"`},
	{`"status":200`, `"status":-0`}, {`"status":200`, `"status":2e2`}, {`"audit_refs":[`, `"audit_refs":null,"x":[`},
	{`"matter":"`, `"matter":"\u00e9\ud800`}, {`"matter":"`, `"matter":"` + "\xff"}, {`.`, `.1`},
	{`"at":"2024-05-01`, `"at":"2023-02-29`}, {`"detail":{`, `"detail":{"":[{}],`}, {`"run_id"`, `"Run_Id"`},
}

func FuzzDecodeLeaf(f *testing.F) {
	for _, e := range leafTable() {
		leaf, err := e.AppendLeaf(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(leaf)
		for _, m := range leafMutations {
			if s := string(leaf); strings.Contains(s, m[0]) {
				f.Add([]byte(strings.Replace(s, m[0], m[1], 1)))
			}
		}
	}
	v3, _ := salted(f, "conv-01", 2)
	if b, err := v3.AppendLeaf(nil); err == nil {
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `{"v":1}`, `{"v":3}`, `{"at":"2024-05-01T12:00:00.000Z","kind":"run","matter":"m","v":3}`, `{"at":"2024-05-01T12:00:00.000Z","kind":"run","matter":"m","v":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, leaf []byte) {
		compareDecoders(t, leaf)
	})
}

// BenchmarkDecodeLeaf decodes a message leaf like those exports write:
// reference is encoding/json (decodeLeafJSON), fast is DecodeLeaf.
func BenchmarkDecodeLeaf(b *testing.B) {
	msg := exportMessage(1)
	leaf, err := msg.AppendLeaf(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte) (Entry, error)
	}{{"reference", decodeLeafJSON}, {"fast", DecodeLeaf}} {
		b.Run(fmt.Sprintf("decoder=%s", bc.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.decode(leaf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(leaf)), "leaf-bytes")
		})
	}
}
