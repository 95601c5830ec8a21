package diff

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
)

// runDir diffs a folder and returns the findings in order.
func runDir(t testing.TB, dir string, idx Index, opts Options) ([]Finding, Summary) {
	t.Helper()
	src, err := exportfile.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	return runSource(t, src, idx, opts)
}

func runSource(t testing.TB, src exportfile.Source, idx Index, opts Options) ([]Finding, Summary) {
	t.Helper()
	var got []Finding
	s, err := Run(context.Background(), src, idx, opts, func(f Finding) error {
		got = append(got, f)
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got, s
}

// key is what identifies a finding for set comparisons.
type key struct {
	Kind             finding.Kind
	Conv, Msg, Field string
}

func (k key) String() string {
	return fmt.Sprintf("%s conv=%s msg=%s field=%s", k.Kind, k.Conv, k.Msg, k.Field)
}

func keysOf(fs []Finding) []key {
	out := make([]key, 0, len(fs))
	for _, f := range fs {
		out = append(out, key{f.Kind, f.ConversationID, f.MessageID, f.Field})
	}
	return out
}

// diffKeys compares two multisets of keys and describes the difference
// readably: what was expected but not found, and what was found but not
// expected.
func diffKeys(want, got []key) string {
	count := map[key]int{}
	for _, k := range want {
		count[k]++
	}
	for _, k := range got {
		count[k]--
	}
	var missed, invented []string
	for k, n := range count {
		for ; n > 0; n-- {
			missed = append(missed, k.String())
		}
		for ; n < 0; n++ {
			invented = append(invented, k.String())
		}
	}
	if len(missed) == 0 && len(invented) == 0 {
		return ""
	}
	slices.Sort(missed)
	slices.Sort(invented)
	var b strings.Builder
	fmt.Fprintf(&b, "%d expected findings missed, %d findings invented (want %d, got %d)\n", len(missed), len(invented), len(want), len(got))
	show := func(title string, l []string) {
		if len(l) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for i, s := range l {
			if i == 30 {
				fmt.Fprintf(&b, "  … and %d more\n", len(l)-30)
				break
			}
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	show("missed (in ground truth, not found by diff)", missed)
	show("invented (found by diff, not in ground truth)", invented)
	return b.String()
}

func ptr[T any](v T) *T { return &v }
