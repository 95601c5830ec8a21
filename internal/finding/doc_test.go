package finding

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/findings.md from the table")

const findingsDoc = "../../docs/findings.md"

// renderFindingsDoc is docs/findings.md: the glossary of finding kinds,
// made from the table so that the doc cannot drift from it.
func renderFindingsDoc() string {
	var b strings.Builder
	b.WriteString(`# Finding kinds

<!-- Generated from the table in internal/finding/finding.go by
     go test ./internal/finding -run TestFindingsDoc -update
     Edit the table, not this file. -->

` + "`custody diff`" + ` compares an old export with what custody captured from
Genesys Cloud, message by message, and reports each difference as a
*finding* of one of the kinds below. The summary lists them in this order.
Two kinds are **gaps** — a message one side has and the other lacks — that
` + "`custody refetch`" + ` asks Genesys about again; ` + "`erased`" + ` says which exported messages the
ledger could no longer compare (custody erase); the others describe what the
export did to the messages it kept. docs/diff.md says exactly when each is
reported.

| kind | in short | gap |
|---|---|---|
`)
	for _, in := range All() {
		gap := ""
		if in.Gap {
			gap = "yes"
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", in.Kind, in.Kind, in.Title, gap)
	}
	for _, in := range All() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s.** %s\n\n*Example:* %s\n", in.Kind, in.Title, in.Plain, in.Example)
		if in.Gap {
			b.WriteString("\nA gap: `custody refetch --diff latest` captures the conversation again and records what became of the message.\n")
		}
	}
	b.WriteString(`
## Causes

Each gap carries a ` + "`cause`" + `: the diff's best reading of why one side
lacks the message, from what it knows (capture times, ` + "`--export-time`" + `,
` + "`--retention`" + `, the captured text). A cause is a lead for whoever reads
the finding, not proof.

| cause | meaning |
|---|---|
`)
	for _, c := range Causes() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.Cause, c.Plain)
	}
	b.WriteString(`
## Why the numbers change after a refetch

A message custody never captured is one ` + "`not_captured`" + ` finding and nothing
else: there is nothing to compare it with. Once ` + "`custody refetch`" + ` has
captured it, the next diff compares it field by field, and whatever the
export did to it (a stripped sender, a shifted timestamp, …) appears
under the other kinds. So after a refetch ` + "`not_captured`" + ` falls and the
other counts may grow: the export is no worse, the comparison now sees
more of it. What stays ` + "`not_captured`" + ` is what the source no longer has or
never had (refetch reports those gaps ` + "`gone_at_source`" + ` or
` + "`not_at_source`" + `), and what is in a conversation erased with
` + "`custody erase`" + `, which is not captured again: refetch does not ask the
source and reports those gaps ` + "`erased`" + `, naming the erasure entry.
`)
	return b.String()
}

// TestFindingsDoc: docs/findings.md lists every kind of the table, in
// plain words with an example, exactly as the table says.
func TestFindingsDoc(t *testing.T) {
	want := renderFindingsDoc()
	if *update {
		if err := os.WriteFile(findingsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(findingsDoc)
	if err != nil {
		t.Fatalf("%v (go test ./internal/finding -run TestFindingsDoc -update writes it)", err)
	}
	if string(got) != want {
		t.Errorf("docs/findings.md is not what the table says: run go test ./internal/finding -run TestFindingsDoc -update")
	}
	for _, in := range All() {
		if in.Title == "" || in.Plain == "" || in.Example == "" {
			t.Errorf("kind %s: Title, Plain and Example must all be given", in.Kind)
		}
		if !strings.Contains(string(got), "\n## "+string(in.Kind)+"\n") {
			t.Errorf("docs/findings.md has no section for %s", in.Kind)
		}
	}
}

// TestCausesTable: every cause constant has a row, once.
func TestCausesTable(t *testing.T) {
	want := []Cause{CausePendingDataLake, CauseSensitiveDataExcluded, CauseDeletedByRetention, CauseNoRecording, CauseNotCaptured}
	seen := map[Cause]int{}
	for _, c := range Causes() {
		seen[c.Cause]++
		if c.Plain == "" {
			t.Errorf("cause %s has no plain text", c.Cause)
		}
	}
	for _, c := range want {
		if seen[c] != 1 {
			t.Errorf("cause %s has %d rows, want 1", c, seen[c])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("table has %d causes, want %d", len(seen), len(want))
	}
}
