package diff

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/finding"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// TestErasedSaid: an exported message whose capture was erased (custody
// erase) had a sender finding before; after, its content and sender are
// not compared, and the diff says so once for the message, naming the
// erasure entry, in the findings, the counts and the text summary,
// rather than dropping the finding without a word. Its other fields are
// still compared.
func TestErasedSaid(t *testing.T) {
	line := `{` + strings.Replace(strings.Replace(full, `+4411`, `+4412`, 1), ".123Z", ".124Z", 1) + `}` + "\n"
	dir := benchutil.WriteTree(t, map[string]string{"x.jsonl": line})
	k := func(kind finding.Kind, field string) key { return key{kind, "c1", "m1", field} }

	got, _ := runDir(t, dir, oneCapture(), Options{})
	if d := diffKeys([]key{k(finding.TimestampShifted, finding.FieldTimestamp), k(finding.ValueAltered, finding.FieldSender)}, keysOf(got)); d != "" {
		t.Fatalf("before the erasure: %s", d)
	}

	idx := &MemIndex{}
	c := oneCapture().items[0]
	c.ContentSHA256, c.Sender, c.Erased, c.ErasedBy = "", "", true, 614
	idx.Add(c)
	got, s := runDir(t, dir, idx, Options{})
	if d := diffKeys([]key{k(finding.TimestampShifted, finding.FieldTimestamp), k(finding.Erased, "")}, keysOf(got)); d != "" {
		t.Fatalf("after the erasure: %s\nfindings: %+v", d, got)
	}
	for _, f := range got {
		if f.Kind == finding.Erased && (f.Expected != "erasure entry 614" || !strings.Contains(f.Detail, "content and sender not compared") || !strings.Contains(f.Detail, "entry 614")) {
			t.Errorf("erased finding %+v: want the entry named in expected and detail", f)
		}
	}
	if s.Counts[finding.Erased] != 1 || s.Counts.Total() != 2 || len(s.ErasedEntries) != 1 || s.ErasedEntries[0] != 614 {
		t.Errorf("summary counts %v, erased entries %v", s.Counts, s.ErasedEntries)
	}
	var text bytes.Buffer
	if err := WriteSummary(&text, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 (1 of them erased: messages not compared, erased by custody erase, erasure entry 614)", "erased "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"erased":1`)) || !bytes.Contains(js, []byte(`"erased_entries":[614]`)) {
		t.Errorf("JSON summary: %s", js)
	}
}
