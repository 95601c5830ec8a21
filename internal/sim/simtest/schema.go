package simtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// testdataDir is internal/sim/testdata, found from this file's path so
// that tests of any package can check bodies against the models.
func testdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Schema is the SDK models of internal/sim/testdata: model → field → type ("string",
// "float64", "bool", "interface{}", a model, "[]T", "map[string]T"), and
// model → field → enum values.
type Schema struct {
	models map[string]map[string]string
	enums  map[string]map[string][]string
}

func LoadSchema(t testing.TB) Schema {
	t.Helper()
	dir := testdataDir()
	sc := Schema{models: map[string]map[string]string{}}
	for _, f := range []string{"genesys-models.json", "genesys-models-extra.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sc.models); err != nil { // merges into the map
			t.Fatalf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "genesys-enums.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sc.enums); err != nil {
		t.Fatal(err)
	}
	return sc
}

// Check decodes body and returns every departure from the model typ: a
// field outside the model, a value of another JSON type (null included:
// Genesys leaves absent fields out), a string outside the field's enum.
func (sc Schema) Check(typ string, body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	sc.walk(&errs, "$", typ, "", "", v)
	return errs
}

func (sc Schema) walk(errs *[]string, path, typ, model, field string, v any) {
	bad := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if v == nil {
		bad("null where %s belongs", typ)
		return
	}
	switch {
	case typ == "interface{}":
	case strings.HasPrefix(typ, "[]"):
		a, ok := v.([]any)
		if !ok {
			bad("%T, want %s", v, typ)
			return
		}
		for k, e := range a {
			sc.walk(errs, fmt.Sprintf("%s[%d]", path, k), typ[2:], model, field, e)
		}
	case strings.HasPrefix(typ, "map[string]"):
		m, ok := v.(map[string]any)
		if !ok {
			bad("%T, want %s", v, typ)
			return
		}
		for k, e := range m {
			sc.walk(errs, path+"."+k, typ[len("map[string]"):], model, field, e)
		}
	case typ == "string":
		s, ok := v.(string)
		if !ok {
			bad("%T, want a string", v)
			return
		}
		if allowed := sc.enums[model][field]; allowed != nil && !slices.Contains(allowed, s) {
			bad("%q is not a value of %s.%s %v", s, model, field, allowed)
		}
	case typ == "float64":
		if _, ok := v.(json.Number); !ok {
			bad("%T, want a number", v)
		}
	case typ == "bool":
		if _, ok := v.(bool); !ok {
			bad("%T, want a bool", v)
		}
	default:
		fields, known := sc.models[typ]
		if !known {
			bad("model %s is not in testdata", typ)
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			bad("%T, want a %s object", v, typ)
			return
		}
		for k, e := range m {
			ft, ok := fields[k]
			if !ok {
				bad("field %q is not in model %s", k, typ)
				continue
			}
			sc.walk(errs, path+"."+k, ft, typ, k, e)
		}
	}
}
