package exportfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
)

// trickyPolicy exercises what the fast paths must match exactly: keys
// that differ only in case (an exact match wins; others are folded by
// encoding/json), nested paths, and a shape's names shared with another.
func trickyPolicy() map[string]ShapePolicy {
	p := DefaultShapes()
	g := p[ShapeGenesys]
	g.Fields = map[string][]string{
		finding.FieldMessageID: {"ID", "id"}, finding.FieldTimestamp: {"timestamp"}, finding.FieldContent: {"messageText", "body.text"},
		finding.FieldSender: {"fromUser.id", "from"}, finding.FieldLegalHold: {"hold"}, finding.FieldAuditTrailID: {},
	}
	p[ShapeGenesys] = g
	j := p[ShapeJSONL]
	j.ConversationID = []string{"conv.id", "conversation_id"}
	j.Fields[finding.FieldSender] = []string{"Sender", "sender", "from"}
	p[ShapeJSONL] = j
	return p
}

// fastCase is one way a file is read: its name, the forced format, the policy.
type fastCase struct {
	name   string
	format Format
	policy func() (*compiled, error)
}

// The policies, compiled once: compiling is most of a small parse's time.
var (
	defaultCompiled = sync.OnceValues(func() (*compiled, error) { return compileDefault() })
	trickyCompiled  = sync.OnceValues(func() (*compiled, error) { return compileChecked(trickyPolicy()) })
)

var fastCases = []fastCase{
	{"org/year=2024/month=1/day=1/hour=0/conversation_id=c0/rec.json", FormatAuto, defaultCompiled},
	{"org/year=2024/month=1/day=1/hour=0/conversation_id=c0/rec_metadata.json", FormatAuto, defaultCompiled},
	{"meta/rec_metadata.json", ShapeGenesys, defaultCompiled},
	{"rec.json", ShapeGenesys, defaultCompiled},
	{"whatsapp/2024-01-01/c0.json", ShapeReshape, defaultCompiled},
	{"export.json", FormatAuto, defaultCompiled},
	{"lines.jsonl", FormatAuto, defaultCompiled},
	{"c1.json", ShapeJSONL, defaultCompiled},
	{"conversation_id=c0/rec.json", FormatAuto, trickyCompiled},
	{"x/rec_metadata.json", FormatAuto, trickyCompiled},
	{"c9.json", ShapeReshape, trickyCompiled},
	{"lines.ndjson", FormatAuto, trickyCompiled},
}

// fastTestReaders spares each parse of the fuzzer a 64 KiB buffer.
var fastTestReaders readerPool

// parseWay runs one parse of data; open wraps the file's reader.
func parseWay(t testing.TB, c fastCase, data []byte, fast bool, open func(io.Reader) io.Reader) ([]Item, error) {
	t.Helper()
	cp, err := c.policy()
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	p := &fileParser{cp: cp, format: c.format, maxLine: 4096, name: c.name, readers: &fastTestReaders, emit: func(it Item) error {
		items = append(items, it)
		return nil
	}}
	var r io.Reader = &limitReader{r: bytes.NewReader(data), n: 1 << 20}
	if open != nil {
		r = open(r)
	}
	err = p.parseWith(r, fast)
	return items, err
}

// sameItems fails unless the fast paths give what the reference gives.
func sameItems(t *testing.T, c fastCase, data []byte, open func(io.Reader) io.Reader) {
	t.Helper()
	want, werr := parseWay(t, c, data, false, open)
	got, gerr := parseWay(t, c, data, true, open)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) {
		t.Fatalf("%s: fast path returned %v, reference %v", c.name, gerr, werr)
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	for i := range max(len(got), len(want)) {
		var g, w any = "nothing", "nothing"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s (%s): item %d of %d/%d differs:\nfast:      %+v\nreference: %+v\ninput: %q", c.name, c.format, i, len(got), len(want), g, w, data)
		}
	}
}

var fastSeeds = []string{
	`{"conversationId":"c1","messagingTranscript":[{"ID":"m1","id":"m2"},{"Id":"m3"},{"iD":"x","ID":"y"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","K":1,"\u212a":2,"ſ":3,"ſender":4,"ⅰd":5}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"\u0069d":"m1"},{"i\"d":"m2"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","id":"m2","timestamp":null,"timestamp":"2024-01-01T00:00:00Z"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","messageText":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","messageText":"\uZZZZ"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","messageText":"\x"}]}`,
	"{\"conversationId\":\"c1\",\"messagingTranscript\":[{\"id\":\"m1\",\"messageText\":\"tab\there\"}]}",
	`{"conversationId":"c1","messagingTranscript":[{"id":-0.5e+10,"x":[1,2.0,-0,1E5,true,false,null,{"a":{}}]}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":01}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":1.}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":tru}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1"},]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1",}]}`,
	`{"conversationId":"c1","messagingTranscript":[],}`,
	`{"conversationId":"c1" , "messagingTranscript" : [ { "id" : "m1" } , { } ] }` + " \r\n\t",
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1"}]}x`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1"}]}{}`,
	`{"conversationId":["c1"],"conversationId":"c2","conversationId":"c3","messagingTranscript":[{"id":"m1"}]}`,
	`{"conversationId":"  ","messagingTranscript":[{"id":"m1"}]}`,
	`{"conversationId":7,"messages":[{"id":"m1"}]}`,
	`{"messages":[{"id":"m1"}],"conversation_id":"c8"}`,
	`{"messages":[{"id":"m1"}],"conversationId":"c0"}`,
	`{"messages":[{"id":"m1","legal_hold":"TRUE","auditTrailId":["b"," a","b"]}],"conversationId":"c0"}`,
	`{"messagingTranscript":[{"id":"m1","fromUser":{"id":"u1"},"body":{"text":"hi"}}]}`,
	`{"messagingTranscript":[{"id":"m1"}],"messages":[]}`,
	`{"conversationId":"c1","mediaType":"message","userIds":[]}`,
	`{"conversationId":{"id":"c1"}}`,
	`{"Conversationid":"c2"}`,
	`{}`,
	// Conflicting duplicate keys, the same key repeated alike, and text
	// that is not valid UTF-8 (never read as U+FFFD).
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","legalHold":true,"legalHold":false},{"id":"m2","id":"m2","from":"a","from":"a"},{"id":"m3","id":"m4"}]}`,
	"{\"conversationId\":\"c1\",\"messagingTranscript\":[{\"id\":\"m\xff\"},{\"id\":\"m\xfe\"},{\"id\":\"m5\",\"messageText\":\"a\xc3\"}]}",
	`{"conversationId":"c1","messagingTranscript":[{"id":"m\ud800"},{"id":"m\udc00x"},{"id":"m\ud83d\ude00"},{"id":"m\\ud800"}]}`,
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","body":{"text":"a","text":"b"},"body":{"text":"a"}}]}`,
	"{\"conversation_id\":\"c1\",\"conversation_id\":\"c2\",\"message_id\":\"m1\"}\n{\"conversation_id\":\"c\xff\",\"message_id\":\"m1\"}\n{\"conversation_id\":\"c1\",\"message_id\":\"m1\",\"legal_hold\":true,\"legal_hold\":false}",
	`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `,"messagingTranscript":[]}`,
	`{"conversation_id":"c1","message_id":"m1","Sender":"a","sender":"b","SENDER":"c"}` + "\n" + `{"conv":{"id":"c2"},"message_id":"m2"}`,
	`{"conversation_id":"c1","message_id":"m1"}   ` + "\n\v" + `{"conversation_id":"c1","message_id":"m2"}` + "\u00a0\n",
	"{\"conversation_id\":\"c1\",\"message_id\":\"m\xff\"}\n{\"\xff\":1,\"message_id\":\"x\"}",
	// Attachments: a set of ids, read element by element.
	`{"conversationId":"c1","messagingTranscript":[{"id":"m1","messageMediaAttachments":[{"id":"a1","id":"a2"},"a3",{"ID":"x"}]},{"id":"m2","messageMediaAttachments":[]},` +
		`{"id":"m3","messageStickerAttachments":{"id":"s1"}},{"id":"m4","messageMediaAttachments":[1,null,{"id":" "}]},{"id":"m5","messageMediaAttachments":[{"id":"a\u0031"},"a1"]}]}`,
}

// exportSeeds are files of simulated exports, one of each kind.
func exportSeeds(t testing.TB) [][]byte {
	org := sim.NewOrg(sim.OrgConfig{Seed: 3, Conversations: 6})
	var out [][]byte
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		dir := t.TempDir()
		if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, recexport.DefaultProfile(shape, 1)); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
			return nil
		})
	}
	for _, f := range benchJSONL(40) {
		out = append(out, f.data)
	}
	return out
}

func FuzzFastPath(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	for _, s := range recordingSeeds {
		f.Add([]byte(s))
	}
	for _, b := range exportSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range fastCases {
			sameItems(t, c, data, nil)
		}
	})
}

// TestFastPathSeeds runs the differential check on every seed without -fuzz
// (go test runs the seeds of FuzzFastPath too; this names the failures).
func TestFastPathReaders(t *testing.T) {
	seeds := exportSeeds(t)
	flaky := func(r io.Reader) io.Reader { return &flakyReader{r: r, after: 100} }
	for _, data := range seeds[:6] {
		for _, c := range fastCases[:7] {
			// A read error, once, mid-file; then an ending that could look
			// clean: both paths must report the same read failure.
			sameItems(t, c, data, flaky)
			sameItems(t, c, data, func(r io.Reader) io.Reader { return iotest.DataErrReader(r) })
			sameItems(t, c, data, func(r io.Reader) io.Reader { return iotest.OneByteReader(r) })
			// A file over the size limit, and one just at it.
			for _, n := range []int64{int64(len(data)) / 2, int64(len(data))} {
				sameItems(t, c, data, func(r io.Reader) io.Reader {
					return &limitReader{r: r, n: n}
				})
			}
		}
	}
	// Larger than the read buffer: the reference reads it, in both ways.
	big := `{"conversationId":"c1","messagingTranscript":[` + strings.Repeat(`{"id":"m1","messageText":"`+strings.Repeat("x", 1000)+`"},`, 80) + `{"id":"m2"}]}`
	sameItems(t, fastCases[0], []byte(big), nil)
}

// flakyReader fails once after some bytes, then reads on as if nothing
// happened: a reader that does not repeat its error.
type flakyReader struct {
	r      io.Reader
	after  int
	failed bool
}

func (f *flakyReader) Read(p []byte) (int, error) {
	if !f.failed && f.after <= 0 {
		f.failed = true
		return 0, errors.New("flaky read")
	}
	if !f.failed && len(p) > f.after {
		p = p[:f.after]
	}
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

// TestFastPathTaken: the files of a simulated export, every kind, go
// through the fast paths (which could otherwise give up on everything
// and still pass the differential tests).
func TestFastPathTaken(t *testing.T) {
	org := sim.NewOrg(sim.OrgConfig{Seed: 3, Conversations: 20})
	cp, err := compileDefault()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, shape := range []string{recexport.ShapeGenesys, recexport.ShapeReshape} {
		dir := t.TempDir()
		if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, recexport.CleanProfile(shape, 1)); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, path)
			p := &fileParser{cp: cp, format: FormatAuto, maxLine: 4096, name: filepath.ToSlash(rel), emit: func(Item) error { return nil }}
			p.detect()
			br := bufio.NewReaderSize(bytes.NewReader(data), docBufSize)
			done, err := p.fastDocument(br)
			if err != nil || !done {
				t.Fatalf("%s: fast path not taken (done %v, err %v)", rel, done, err)
			}
			kind := shape
			if strings.HasSuffix(rel, "_metadata.json") {
				kind = "metadata"
			}
			kinds[kind]++
			return nil
		})
	}
	if kinds[recexport.ShapeGenesys] == 0 || kinds["metadata"] == 0 || kinds[recexport.ShapeReshape] == 0 {
		t.Fatalf("files by kind: %v", kinds)
	}
	fl := newFastLine(cp.shape(ShapeJSONL).msg)
	lines := 0
	for _, f := range benchJSONL(50) {
		for line := range bytes.Lines(f.data) {
			if fl.decode(bytes.TrimSpace(line)) == nil {
				t.Fatalf("JSON Lines line not taken by the fast path: %s", line)
			}
			lines++
		}
	}
	if lines == 0 {
		t.Fatal("no JSON Lines lines")
	}
}

// TestPendingBounded: a document whose messages come before any
// conversation id is held back until the id is known, up to maxPending
// messages; one more is a file_unreadable finding, not memory hundreds of
// times the file's size (each message costs far more held than its `{}`
// in the file). The fast path and the reference agree.
func TestPendingBounded(t *testing.T) {
	c := fastCase{"export.json", FormatAuto, defaultCompiled}
	for _, n := range []int{maxPending, maxPending + 1} {
		data := []byte(`{"messagingTranscript":[` + strings.TrimSuffix(strings.Repeat(`{"id":"m"},`, n), ",") + `],"conversationId":"c1"}`)
		sameItems(t, c, data, nil)
		items, _ := parseWay(t, c, data, false, nil)
		msgs, problems := 0, ""
		for _, it := range items {
			switch it.Kind {
			case ItemMessage:
				msgs++
			case ItemProblem:
				problems += it.Problem.Detail
			}
		}
		over := n > maxPending
		if over != strings.Contains(problems, "before any conversation id") || (msgs == n) == over {
			t.Errorf("%d messages before the id: %d read, problems %q", n, msgs, problems)
		}
	}
}
