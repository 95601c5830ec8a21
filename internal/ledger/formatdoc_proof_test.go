package ledger

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/leaf"
)

// TestProofFilesTableComplete: the "Proof files" table of
// docs/ledger-format.md lists every member a proof file written by custody
// can carry — the optional ones (timestamps, a field proof's fields)
// included, marked so — since the text after it allows no other member.
func TestProofFilesTableComplete(t *testing.T) {
	doc, err := os.ReadFile(formatDoc)
	if err != nil {
		t.Fatal(err)
	}
	sec := string(doc)
	i := strings.Index(sec, "\n## Proof files\n")
	if i < 0 {
		t.Fatal("no Proof files section")
	}
	sec = sec[i+1:]
	if j := strings.Index(sec[3:], "\n## "); j >= 0 {
		sec = sec[:j+3]
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|(.*)\\|$").FindAllStringSubmatch(sec, -1) {
		rows[m[1]] = m[2]
	}
	// Every member of a v3 field proof carrying a timestamp.
	p := leaf.Proof{Format: leaf.FieldProofFormat, Leaf: []byte("{}"),
		Fields:     []leaf.ProvedField{{Name: "legal_hold", Value: json.RawMessage("true")}},
		Timestamps: []leaf.ProofTimestamp{{TSA: "http://tsa.example/", Token: []byte{1}}}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		t.Fatal(err)
	}
	for m := range members {
		if _, ok := rows[m]; !ok {
			t.Errorf("the Proof files table does not list member %q", m)
		}
	}
	for m := range rows {
		if _, ok := members[m]; !ok {
			t.Errorf("the Proof files table lists %q, which no proof file has", m)
		}
	}
	for _, m := range []string{"timestamps", "fields"} {
		if row := rows[m]; !strings.Contains(row, "optional") && !strings.Contains(row, "only") {
			t.Errorf("member %q is not marked optional in the table: %s", m, row)
		}
	}
	if !slices.ContainsFunc(strings.Split(string(doc), "\n\n"), func(par string) bool {
		return strings.Contains(par, "`custody.pub`") && strings.Contains(par, "first two")
	}) {
		t.Error("the verifier key's format does not say to split it at its first two +")
	}
}
