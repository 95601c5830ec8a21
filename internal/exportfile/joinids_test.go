package exportfile

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestJoinIDs: the comparable form of a set of ids is the set's alone —
// an id holding a comma or a quote cannot make two sets one form — and
// the usual ids read as they did: sorted, joined by commas.
func TestJoinIDs(t *testing.T) {
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{nil, ""},
		{[]string{" "}, ""},
		{[]string{" a1 "}, "a1"},
		{[]string{"b", "a", "b", " "}, "a,b"},
		{[]string{"a,b"}, `"a,b"`},
		{[]string{"a", "b,c"}, `a,"b,c"`},
		{[]string{`a"b`}, `"a""b"`},
		{[]string{`"a"`, "b"}, `"""a""",b`},
	} {
		if got := JoinIDs(tc.ids); got != tc.want {
			t.Errorf("JoinIDs(%q) = %q, want %q", tc.ids, got, tc.want)
		}
	}
	// Sets that an id's comma or quote made one form with "," as the
	// only separator.
	for _, pair := range [][2][]string{
		{{"a,b"}, {"a", "b"}},
		{{"a", "b,c"}, {"a,b", "c"}},
		{{`"a,b"`}, {"a,b"}},
		{{`"a`, `b"`}, {`"a,b"`}},
	} {
		if x, y := JoinIDs(pair[0]), JoinIDs(pair[1]); x == y {
			t.Errorf("JoinIDs(%q) = JoinIDs(%q) = %q: two sets, one form", pair[0], pair[1], x)
		}
	}
}

// idSet is the set JoinIDs stands for: the trimmed, non-empty ids.
func idSet(ids []string) map[string]bool {
	s := map[string]bool{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			s[id] = true
		}
	}
	return s
}

// FuzzJoinIDs holds JoinIDs to its contract: two lists of ids (the
// input split at NUL, then at the first SOH) have one form exactly when
// they name one set, whatever commas, quotes or spaces the ids hold.
func FuzzJoinIDs(f *testing.F) {
	for _, s := range []string{"a,b\x01a\x00b", "a\x00b,c\x01a,b\x00c", `"a,b"` + "\x01a,b", "a\x00b\x01b\x00a\x00 a ", `"a` + "\x00" + `b"` + "\x01" + `"a,b"`, "x\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, r, _ := strings.Cut(s, "\x01")
		a, b := strings.Split(l, "\x00"), strings.Split(r, "\x00")
		same := maps.Equal(idSet(a), idSet(b))
		if ja, jb := JoinIDs(a), JoinIDs(b); (ja == jb) != same {
			t.Fatalf("JoinIDs(%q) = %q, JoinIDs(%q) = %q; same set: %v", a, ja, b, jb, same)
		}
		// The order given makes no difference.
		c := slices.Clone(a)
		slices.Reverse(c)
		if JoinIDs(a) != JoinIDs(c) {
			t.Fatalf("JoinIDs(%q) = %q, of its reverse %q", a, JoinIDs(a), JoinIDs(c))
		}
	})
}
