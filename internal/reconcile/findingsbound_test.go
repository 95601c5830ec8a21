package reconcile_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/reconcile"
)

// filler reads head, then n bytes of c, then tail, making none of it
// before it is read: a findings file far larger than the test holds.
type filler struct {
	head, tail string
	n          int64
	c          byte
}

func (f *filler) Read(p []byte) (int, error) {
	switch {
	case f.head != "":
		k := copy(p, f.head)
		f.head = f.head[k:]
		return k, nil
	case f.n > 0:
		k := int64(len(p))
		if k > f.n {
			k = f.n
		}
		for i := range p[:k] {
			p[i] = f.c
		}
		f.n -= k
		return int(k), nil
	case f.tail != "":
		k := copy(p, f.tail)
		f.tail = f.tail[k:]
		return k, nil
	}
	return 0, io.EOF
}

const one = `{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}`

// TestReadFindingsBounded: a findings file whose record (a line of JSON
// Lines, an element of the array or of the json form's findings, its
// summary's one string, a run of white space) runs past MaxFindingBytes
// is refused once that much is read — ErrNotFindings naming the line the
// record starts on, in a message of a few hundred bytes — without reading
// the rest or holding more than a few times the bound.
func TestReadFindingsBounded(t *testing.T) {
	big := int64(4 * reconcile.MaxFindingBytes)
	for _, tc := range []struct {
		name string
		in   *filler
		line string
	}{
		{"line", &filler{head: one + "\n" + `{"kind":"not_captured","conversation_id":"`, n: big, c: 'a', tail: `","message_id":"m"}` + "\n"}, "line 2:"},
		{"array element", &filler{head: "[\n" + one + ",\n\n" + `{"kind":"not_captured","conversation_id":"`, n: big, c: 'a', tail: `"}]`}, "line 4:"},
		{"json form finding", &filler{head: "{\"findings\": [\n  " + one + ",\n  " + `{"kind":"not_captured","message_id":"`, n: big, c: 'a', tail: `"}],"summary":{}}`}, "line 3:"},
		{"json form summary", &filler{head: "{\"findings\": [\n  " + one + "\n],\n\"summary\": {\"source\": \"", n: big, c: 'a', tail: `"}}`}, "line 4:"},
		{"white space", &filler{head: one + "\n", n: big, c: ' ', tail: one}, "line 2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got, err := reconcile.ReadFindings(tc.in)
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, reconcile.ErrNotFindings) || !strings.Contains(err.Error(), tc.line) || !strings.Contains(err.Error(), "16 MiB") || len(err.Error()) > 400 {
				t.Fatalf("read %d findings, error %.500v; want ErrNotFindings naming %q and the 16 MiB bound, in a short message", len(got), err, tc.line)
			}
			if left := tc.in.n; left < big-2*reconcile.MaxFindingBytes {
				t.Errorf("read %d bytes of the %d-byte record: want it refused once the bound is passed", big-left, big)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*reconcile.MaxFindingBytes {
				t.Errorf("allocated %d MiB for a record refused at %d MiB", alloc>>20, reconcile.MaxFindingBytes>>20)
			}
		})
	}
}

// TestReadFindingsNamesLine: an error names the line its record starts
// on, in every form, blank lines and records spread over lines counted.
func TestReadFindingsNamesLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, line string
	}{
		{"lines", one + "\n\n" + one + "\n" + `{"kind":"gremlins"}` + "\n", "line 4:"},
		{"leading blank lines", "\n\n\n" + `{"foo":1}`, "line 4:"},
		{"record over lines", one + "\n{\n  \"kind\": \"not_captured\",\n  \"bar\": 1\n}\n", "line 2:"},
		{"syntax", one + "\n" + one + "\n{\"kind\":", "line 3:"},
		{"array", "[\n" + one + ",\n\n" + `{"foo":1}` + "\n]", "line 4:"},
		{"json form", "{\"findings\": [\n  " + one + ",\n  " + `{"kind":"gremlins"}` + "\n],\n\"summary\": {}}", "line 3:"},
		{"json form member", "{\"findings\": [\n  " + one + "\n],\n\"sumary\": {}}", "line 4:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := reconcile.ReadFindingsFile(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), "findings "+tc.line) {
				t.Errorf("%q: error %v, want it to name %s", tc.in, err, tc.line)
			}
		})
	}
}

// TestReadFindingsEchoesLittle: what a findings file holds is quoted in
// an error cut short — an unknown member or field, a kind, a failed
// diff's error, a run_id that is no custody run id (refused: it would be
// echoed naming the diff).
func TestReadFindingsEchoesLittle(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	for name, in := range map[string]string{
		"field":     `{"kind":"not_captured","` + huge + `":1}`,
		"kind":      `{"kind":"` + huge + `"}`,
		"member":    `{"findings":[],"` + huge + `":1}`,
		"error":     one + "\n" + `{"error":"` + huge + `"}`,
		"json form": `{"findings":[],"error":"` + huge + `"}`,
		"run_id":    `{"findings":[],"run_id":"` + huge + `","seq":1,"summary":{}}`,
		"bad runid": `{"findings":[],"run_id":"../x","seq":1,"summary":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := reconcile.ReadFindingsFile(strings.NewReader(in))
			if !errors.Is(err, reconcile.ErrNotFindings) || len(err.Error()) > 1200 {
				t.Errorf("error (%d bytes) %.300v…: want ErrNotFindings, its message short", len(fmtLen(err)), err)
			}
		})
	}
}

func fmtLen(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRefetchIDsValidated: a gap whose message id is not a Genesys id is
// not_refetchable too — no capture can hold such a message, and the id
// is neither asked for nor written to the ledger — and an id of such a gap
// longer than any Genesys id is shown cut, not echoed whole.
func TestRefetchIDsValidated(t *testing.T) {
	long := strings.Repeat("A", 10<<20)
	findings := []diff.Finding{
		{Kind: finding.NotCaptured, ConversationID: "c1", MessageID: "m 1"},
		{Kind: finding.MissingFromExport, ConversationID: "c2", MessageID: long},
		{Kind: finding.NotCaptured, ConversationID: long + "!", MessageID: "m3"},
	}
	res, err := reconcile.Refetch(context.Background(), export.Deps{}, findings, "", export.Options{}, reconcile.RefetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Gaps != 3 || res.Counts[reconcile.NotRefetchable] != 3 || res.Export != nil {
		t.Fatalf("gaps %d, counts %v: want 3 not_refetchable, nothing run", res.Gaps, res.Counts)
	}
	for i, want := range []string{"message id is not a Genesys id", "message id is not a Genesys id", "conversation id is not a Genesys id"} {
		oc := res.Outcomes[i]
		if !strings.Contains(oc.Detail, want) || len(oc.ConversationID)+len(oc.MessageID) > 600 {
			t.Errorf("outcome %d: detail %q, ids of %d and %d bytes; want %q, the ids cut", i, oc.Detail, len(oc.ConversationID), len(oc.MessageID), want)
		}
	}
	if oc := res.Outcomes[2]; !strings.HasPrefix(oc.ConversationID, strings.Repeat("A", 64)+"…") || !strings.HasSuffix(oc.ConversationID, "(10485761 bytes)") {
		t.Errorf("a long id is shown as %q, want its first 64 bytes, … and its length", oc.ConversationID)
	}
	if oc := res.Outcomes[0]; oc.MessageID != "m 1" || oc.ConversationID != "c1" {
		t.Errorf("short ids changed: %+v", oc)
	}
}

// FuzzReadFindingsFile: whatever the file, ReadFindingsFile returns (no
// panic), and an error quotes little of it: its message stays short
// however long what it is about.
func FuzzReadFindingsFile(f *testing.F) {
	f.Add([]byte(one + "\n"))
	f.Add([]byte("{\"findings\": [\n  " + one + "\n],\n\"run_id\": \"diff-x\",\n\"seq\": 7,\n\"summary\": {\"files\": 3}}\n"))
	f.Add([]byte(`{"findings":[],"error":"diff: cancelled"}`))
	f.Add([]byte("[\n" + one + ",\n" + `{"foo":1}` + "\n]"))
	f.Add([]byte(`{"kind":"` + strings.Repeat("k", 3000) + `"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := reconcile.ReadFindingsFile(strings.NewReader(string(b))); err != nil && len(err.Error()) > 2000 {
			t.Errorf("error of %d bytes: %.300s…", len(err.Error()), err)
		}
	})
}
