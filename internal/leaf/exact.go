package leaf

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// unmarshalExact is json.Unmarshal(raw, v) with member names read as the
// ledger format reads them: exactly, byte for byte. encoding/json matches
// a member name without regard to case (and folds ſ to s and the Kelvin
// sign to k) when no field has it exactly, and keeps the last of the
// members it matched, so a detail with "From_commitment" alone, or
// "content_ſha256_commitment" after "content_sha256_commitment", would
// read to custody as something jq and the format's Python verifier do not
// see. Here such a member is what it is to them: unknown, and ignored
// like any unknown member of a leaf's open objects (the details).
//
// It reads raw with jsonscan for members that fold onto one of v's
// fields (at every depth encoding/json decodes into a struct) without
// being it, and when there is one — never in what custody writes — hands
// encoding/json raw without them. JSON jsonscan does not read (invalid
// UTF-8, a member name with a lone surrogate: not I-JSON, so the strict
// check refuses the leaf) goes to encoding/json as it is.
func unmarshalExact(raw []byte, v any) error {
	if s := namesOf(reflect.TypeOf(v)); s != nil {
		i := jsonscan.Space(raw, 0)
		w := exactWalk{b: raw}
		if end, err := w.value(i, s, 0); err == nil && w.folded && jsonscan.Space(raw, end) == len(raw) {
			w = exactWalk{b: raw, write: true, out: make([]byte, 0, len(raw))}
			if _, err := w.value(i, s, 0); err == nil {
				raw = w.out
			}
		}
	}
	return json.Unmarshal(raw, v)
}

// jsonNames are the member names encoding/json decodes an object into: a
// struct's fields by their JSON names, each with the names of its value
// (nil: nothing in it is matched by name), or, for a map, the names of
// every member's value (elem).
type jsonNames struct {
	names []string
	of    []*jsonNames
	elem  *jsonNames
}

// lookup returns whether key is one of n's names exactly and, if so, the
// names of its value; folds reports a key that encoding/json would take
// for one of them without regard to case (its match is bytes.EqualFold).
func (n *jsonNames) lookup(key []byte) (of *jsonNames, exact, folds bool) {
	if n.names == nil {
		return n.elem, true, false // a map: every key is itself
	}
	for k, name := range n.names {
		if name == string(key) {
			return n.of[k], true, false
		}
	}
	for _, name := range n.names {
		if strings.EqualFold(string(key), name) {
			return nil, false, true
		}
	}
	return nil, false, false
}

var (
	namesCache      sync.Map // reflect.Type → *jsonNames
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// namesOf returns the names encoding/json matches in a value of type t,
// nil when it matches none.
func namesOf(t reflect.Type) *jsonNames {
	if n, ok := namesCache.Load(t); ok {
		return n.(*jsonNames)
	}
	n := buildNames(t, map[reflect.Type]*jsonNames{})
	namesCache.Store(t, n)
	return n
}

func buildNames(t reflect.Type, seen map[reflect.Type]*jsonNames) *jsonNames {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // reads itself (json.RawMessage, EvidenceList)
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return buildNames(t.Elem(), seen) // each element's
	case reflect.Map:
		if e := buildNames(t.Elem(), seen); e != nil {
			return &jsonNames{elem: e}
		}
		return nil
	case reflect.Struct:
	default:
		return nil
	}
	if n, ok := seen[t]; ok {
		return n
	}
	n := &jsonNames{}
	seen[t] = n
	addFields(n, t, seen)
	if len(n.names) == 0 {
		n.names = []string{} // not a map: no key is one of its names
	}
	return n
}

// addFields adds t's fields to n as encoding/json names them, those of
// an embedded struct without a name of its own among them.
func addFields(n *jsonNames, t reflect.Type, seen map[reflect.Type]*jsonNames) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(n, ft, seen)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		n.names = append(n.names, name)
		n.of = append(n.of, buildNames(f.Type, seen))
	}
}

// exactWalk reads a JSON value against the names decoded from it: folded
// reports a member whose name only folds onto one of them. With write,
// it also appends the value to out without any member that is not one of
// the names exactly (encoding/json ignores those anyway).
type exactWalk struct {
	b      []byte
	out    []byte
	write  bool
	folded bool
}

var errTooDeep = errors.New("json nested too deeply")

// value reads the value at b[i], nested depth levels, decoded into names
// n, and returns the index past it.
func (w *exactWalk) value(i int, n *jsonNames, depth int) (int, error) {
	if n == nil || i >= len(w.b) || w.b[i] != '{' && w.b[i] != '[' {
		end, err := jsonscan.Skip(w.b, i, jsonscan.MaxDepth-depth)
		if err == nil && w.write {
			w.out = append(w.out, w.b[i:end]...)
		}
		return end, err
	}
	if depth >= jsonscan.MaxDepth {
		return i, errTooDeep
	}
	if w.b[i] == '[' { // a slice of structs: each element
		w.put('[')
		first := true
		end, err := jsonscan.Array(w.b, i, func(v int) (int, error) {
			if !first {
				w.put(',')
			}
			first = false
			return w.value(v, n, depth+1)
		})
		w.put(']')
		return end, err
	}
	w.put('{')
	first := true
	end, err := jsonscan.Object(w.b, i, func(key []byte, v int) (int, error) {
		of, exact, folds := n.lookup(key)
		if !exact {
			w.folded = w.folded || folds
			return jsonscan.Skip(w.b, v, jsonscan.MaxDepth-depth-1)
		}
		if w.write {
			if !first {
				w.out = append(w.out, ',')
			}
			w.out = append(jsonscan.AppendStringRFC8785(w.out, string(key)), ':')
		}
		first = false
		return w.value(v, of, depth+1)
	})
	w.put('}')
	return end, err
}

func (w *exactWalk) put(c byte) {
	if w.write {
		w.out = append(w.out, c)
	}
}
