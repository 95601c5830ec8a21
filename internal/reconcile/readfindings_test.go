package reconcile_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/diff"
	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestReadFindingsShape: the object custody diff --output json writes is
// read too; a file of another shape — an object with no findings member,
// a record that is not a finding (no kind, or one diff does not have) —
// is an error, not zero findings.
func TestReadFindingsShape(t *testing.T) {
	one := `{"kind":"not_captured","conversation_id":"c1","message_id":"m1"}`
	want := []diff.Finding{{Kind: finding.NotCaptured, ConversationID: "c1", MessageID: "m1"}}
	for name, tc := range map[string]struct {
		in   string
		want []diff.Finding
	}{
		"diff json":          {"{\"findings\": [\n  " + one + "\n],\n\"summary\": {\"files\": 3}}\n", want},
		"diff json recorded": {"{\"findings\": [\n  " + one + "\n],\n\"run_id\": \"diff-x\",\n\"seq\": 7,\n\"summary\": {}}\n", want},
		"diff json, none":    {"{\"findings\": [],\n\"summary\": {}}\n", []diff.Finding{}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := reconcile.ReadFindings(strings.NewReader(tc.in))
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for name, in := range map[string]string{
		"empty object":         `{}`,
		"unknown member":       `{"foo":1}`,
		"no kind":              `{"conversation_id":"c1"}`,
		"unknown kind":         `{"kind":"gremlins"}`,
		"no kind, 2nd line":    one + "\n{}\n",
		"no kind, in array":    `[{}]`,
		"object, then more":    `{"findings":[]}` + "\n" + one,
		"object, bad finding":  `{"findings":[{}]}`,
		"object, extra member": `{"findings":[],"foo":1}`,
		"findings not a list":  `{"findings":{}}`,
		"failed diff, lines":   one + "\n" + `{"error":"diff: cancelled"}` + "\n",
		"failed diff, json":    `{"findings":[` + one + `],"error":"diff: cancelled"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := reconcile.ReadFindings(strings.NewReader(in)); err == nil {
				t.Errorf("%q: read as %+v, want an error", in, got)
			}
		})
	}
}

// TestFindingsFileHash: the hash ReadFindingsFile gives a file is the one
// a recorded diff's findings_sha256 covers — the findings as JSON Lines —
// whether diff printed them as jsonl or json; a file cut short, or one
// finding's bytes changed (spaced out), hashes otherwise; a failed diff's
// output is refused with its error.
func TestFindingsFileHash(t *testing.T) {
	fs := []diff.Finding{
		{Kind: finding.NotCaptured, ConversationID: "c1", MessageID: "m1"},
		{Kind: finding.ValueAltered, ConversationID: "c1", MessageID: "m2", Field: "text", Expected: "a\u2028b", Got: "<b>"},
		{Kind: finding.FormatLacks, Field: "legal_hold", Count: 3},
	}
	var lines []byte
	for _, f := range fs {
		lines = append(f.AppendJSON(lines), '\n')
	}
	sum := sha256.Sum256(lines)
	want := hex.EncodeToString(sum[:])
	write := func(format string, n int, fail error) string {
		var b bytes.Buffer
		w, err := diff.NewWriter(format, &b)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs[:n] {
			if err := w.Write(f); err != nil {
				t.Fatal(err)
			}
		}
		if rw, ok := w.(diff.RecordWriter); ok {
			rw.SetRecord("diff-1", 4)
		}
		if fail != nil {
			err = w.Abort(fail)
		} else {
			err = w.Close(diff.Summary{})
		}
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, format := range []string{diff.OutputJSONL, diff.OutputJSON} {
		ff, err := reconcile.ReadFindingsFile(strings.NewReader(write(format, len(fs), nil)))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if ff.LinesSHA256 != want || !reflect.DeepEqual(ff.Findings, fs) {
			t.Errorf("%s: hash %s, findings %+v; want %s, %+v", format, ff.LinesSHA256, ff.Findings, want, fs)
		}
		if wantRun := map[string]string{diff.OutputJSON: "diff-1"}[format]; ff.RunID != wantRun {
			t.Errorf("%s: run id %q, want %q", format, ff.RunID, wantRun)
		}
		cut, err := reconcile.ReadFindingsFile(strings.NewReader(write(format, 2, nil)))
		if err != nil || cut.LinesSHA256 == want {
			t.Errorf("%s cut short: hash %s (the whole file's: %v), %v", format, cut.LinesSHA256, cut.LinesSHA256 == want, err)
		}
		if _, err := reconcile.ReadFindingsFile(strings.NewReader(write(format, 2, errors.New("boom")))); !errors.Is(err, reconcile.ErrNotFindings) || !strings.Contains(err.Error(), `failed ("boom")`) {
			t.Errorf("%s aborted: %v, want the diff's failure", format, err)
		}
	}
	spaced := strings.Replace(write(diff.OutputJSONL, len(fs), nil), `"kind":"not_captured"`, `"kind": "not_captured"`, 1)
	if ff, err := reconcile.ReadFindingsFile(strings.NewReader(spaced)); err != nil || ff.LinesSHA256 == want {
		t.Errorf("a record's bytes changed: %v, same hash %v", err, ff != nil && ff.LinesSHA256 == want)
	}
}
