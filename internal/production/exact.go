package production

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/custodyhq/custody/internal/jsonscan"
)

// maxManifestDepth bounds the nesting a manifest reader walks: the
// manifest's own is four levels.
const maxManifestDepth = 64

// manifestNames are the member names Manifest's types spell, at any level.
var manifestNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				names[name] = true
			}
			add(f.Type)
		}
	}
	add(reflect.TypeFor[Manifest]())
	return names
})

// exactMembers refuses a manifest in which an object names a member twice
// or names one no manifest field spells exactly. encoding/json, which
// decodes it, matches member names case-insensitively (folding ſ to s and
// the Kelvin sign to k) and keeps the last of a repeated one, so "Files"
// beside "files", or "files" twice, would read one way to custody and
// another to jq or Python; the unknown members encoding/json refuses
// itself (DisallowUnknownFields).
func exactMembers(data []byte) error {
	i := jsonscan.Space(data, 0)
	if _, err := jsonscan.UniqueKeys(data, i, maxManifestDepth); err != nil {
		return err
	}
	names := manifestNames()
	var walk func(i, depth int) (int, error)
	walk = func(i, depth int) (int, error) {
		switch {
		case i < len(data) && data[i] == '{':
			return jsonscan.Object(data, i, func(key []byte, v int) (int, error) {
				if !names[string(key)] {
					return v, fmt.Errorf("member %q: not a manifest member (member names are exact: case-sensitive, no Unicode folding)", key)
				}
				return walk(v, depth+1)
			})
		case i < len(data) && data[i] == '[':
			return jsonscan.Array(data, i, func(v int) (int, error) { return walk(v, depth+1) })
		}
		return jsonscan.Skip(data, i, maxManifestDepth-depth)
	}
	_, err := walk(i, 0)
	return err
}
