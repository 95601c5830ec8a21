package finding

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"testing"
)

// declaredKinds returns the Kind constants declared in the package's
// source, by name: what the code can use.
func declaredKinds(t *testing.T) map[string]Kind {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "finding.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Kind{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			for i, name := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				out[name.Name] = Kind(lit.Value[1 : len(lit.Value)-1])
			}
		}
	}
	return out
}

// TestTable: every declared kind has exactly one row, every row is a
// declared kind with a name reports can carry and a description, and
// Counts has a slot per row.
func TestTable(t *testing.T) {
	declared := declaredKinds(t)
	if len(declared) == 0 {
		t.Fatal("no Kind constants found in finding.go")
	}
	rows := map[Kind]int{}
	for _, in := range All() {
		rows[in.Kind]++
	}
	for name, k := range declared {
		if rows[k] != 1 {
			t.Errorf("kind %s (%q) has %d rows in the table, want 1", name, k, rows[k])
		}
	}
	values := map[Kind]bool{}
	for _, k := range declared {
		values[k] = true
	}
	valid := regexp.MustCompile(`^[a-z][a-z_]*[a-z]$`)
	for i, in := range All() {
		if in.Ledger != (i >= len(Kinds())) {
			t.Errorf("row %d: kind %q: the ledger's kinds must come after every kind about the export", i, in.Kind)
		}
		if !values[in.Kind] {
			t.Errorf("row %d: kind %q is not a declared constant", i, in.Kind)
		}
		if !valid.MatchString(string(in.Kind)) {
			t.Errorf("row %d: kind %q is not a lower-case snake_case name", i, in.Kind)
		}
		if in.Doc == "" {
			t.Errorf("row %d: kind %q has no description", i, in.Kind)
		}
		if got, ok := Lookup(in.Kind); !ok || got != in {
			t.Errorf("Lookup(%q) = %+v, %v", in.Kind, got, ok)
		}
	}
	if len(Counts{}) != len(All()) {
		t.Errorf("Counts has %d slots for %d kinds", len(Counts{}), len(All()))
	}
	if !IsGap(NotCaptured) || !IsGap(MissingFromExport) || IsGap(Duplicated) || IsGap("nonsense") {
		t.Error("IsGap: the gaps to refetch are not_captured and missing_from_export")
	}
}

func TestCounts(t *testing.T) {
	var c Counts
	c.Add(NotCaptured)
	c.Add(NotCaptured)
	c.Add(FileUnreadable)
	c.Add("nonsense")
	if c.Get(NotCaptured) != 2 || c.Get(FileUnreadable) != 1 || c.Get("nonsense") != 0 || c.Total() != 3 {
		t.Errorf("counts = %v", c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"file_unreadable":1,"not_captured":2}` {
		t.Errorf("json = %s", b)
	}
	var back Counts
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Errorf("round trip = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"nonsense":1}`), &back); err == nil {
		t.Error("unknown kind accepted")
	}
}

// The gaps refetch acts on: a message one side lacks. A conversation the
// export does not cover is not one (the ledger holds all of it).
func TestGaps(t *testing.T) {
	for _, in := range Kinds() {
		want := in.Kind == MissingFromExport || in.Kind == NotCaptured
		if IsGap(in.Kind) != want {
			t.Errorf("IsGap(%s) = %v, want %v", in.Kind, !want, want)
		}
	}
}
