package exportfile

import (
	"errors"
	"slices"
	"testing"
)

// TestShapesTable: every shape has a distinct name that --format accepts
// and a default policy the readers can apply.
func TestShapesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range shapes {
		if s.Name() == "" || seen[s.Name()] || Format(s.Name()) == FormatAuto {
			t.Errorf("shape name %q empty, repeated or auto", s.Name())
		}
		seen[s.Name()] = true
		if f, err := ParseFormat(s.Name()); err != nil || f != Format(s.Name()) {
			t.Errorf("ParseFormat(%q) = %q, %v", s.Name(), f, err)
		}
	}
	if err := ValidateShapes(DefaultShapes()); err != nil {
		t.Errorf("default shapes: %v", err)
	}
	if _, err := ParseFormat("xml"); !errors.Is(err, ErrBadFormat) {
		t.Errorf("ParseFormat(xml) err = %v", err)
	}
	if f, err := ParseFormat(""); err != nil || f != FormatAuto {
		t.Errorf("ParseFormat(\"\") = %q, %v", f, err)
	}
	if !slices.Equal(Shapes(), []string{ShapeGenesys, ShapeReshape, ShapeJSONL}) {
		t.Errorf("Shapes() = %v", Shapes())
	}
}

// TestDetect: which shape reads a file, by name, auto-detected or forced.
func TestDetect(t *testing.T) {
	cp, err := compileDefault()
	if err != nil {
		t.Fatal(err)
	}
	names := func(sfs []*shapeFields) []string {
		var out []string
		for _, sf := range sfs {
			out = append(out, sf.name)
		}
		return out
	}
	cases := []struct {
		name   string
		format Format
		lines  string
		meta   string
		docs   []string
	}{
		{"org/conversation_id=c1/rec.json", FormatAuto, "", "", []string{ShapeGenesys, ShapeReshape}},
		{"org/conversation_id=c1/rec_metadata.json", FormatAuto, "", ShapeGenesys, []string{ShapeReshape}},
		{"a/lines.jsonl", FormatAuto, ShapeJSONL, "", []string{ShapeGenesys, ShapeReshape}},
		{"a/LINES.NDJSON", FormatAuto, ShapeJSONL, "", []string{ShapeGenesys, ShapeReshape}},
		{"rec_metadata.json", ShapeGenesys, "", ShapeGenesys, nil},
		{"rec_metadata.json", ShapeReshape, "", "", []string{ShapeReshape}},
		{"c1.json", ShapeJSONL, ShapeJSONL, "", nil},
		{"c1.jsonl", ShapeGenesys, "", "", []string{ShapeGenesys}},
	}
	for _, tc := range cases {
		p := &fileParser{cp: cp, format: tc.format, name: tc.name}
		p.detect()
		var lines, meta string
		if p.lines != nil {
			lines = p.lines.name
		}
		if p.meta != nil {
			meta = p.meta.name
		}
		if lines != tc.lines || meta != tc.meta || !slices.Equal(names(p.docShapes()), tc.docs) {
			t.Errorf("%s (%s): lines %q, metadata %q, documents %v; want %q, %q, %v",
				tc.name, tc.format, lines, meta, names(p.docShapes()), tc.lines, tc.meta, tc.docs)
		}
	}
}

func TestNameConversation(t *testing.T) {
	for _, tc := range []struct {
		s    Shape
		name string
		want string
	}{
		{reshapeShape{}, "org/whatsapp/2024-01-01/c1.json", "c1"},
		{reshapeShape{}, "c2", "c2"},
		{genesysShape{}, "org/conversation_id=c1/rec.json", ""},
		{jsonlShape{}, "c1.jsonl", ""},
	} {
		if got := tc.s.NameConversation(tc.name); got != tc.want {
			t.Errorf("%s.NameConversation(%q) = %q, want %q", tc.s.Name(), tc.name, got, tc.want)
		}
	}
}

func TestValidateShapes(t *testing.T) {
	bad := map[string]func(m map[string]ShapePolicy){
		"missing shape":   func(m map[string]ShapePolicy) { delete(m, ShapeReshape) },
		"no messages key": func(m map[string]ShapePolicy) { sp := m[ShapeGenesys]; sp.Messages = ""; m[ShapeGenesys] = sp },
		"same message key": func(m map[string]ShapePolicy) {
			sp := m[ShapeReshape]
			sp.Messages = "messagingTranscript"
			m[ShapeReshape] = sp
		},
		"nested doc conv": func(m map[string]ShapePolicy) {
			sp := m[ShapeReshape]
			sp.ConversationID = []string{"a.b"}
			m[ShapeReshape] = sp
		},
		"unknown field": func(m map[string]ShapePolicy) { m[ShapeJSONL].Fields["colour"] = []string{"c"} },
		"no message id": func(m map[string]ShapePolicy) { m[ShapeJSONL].Fields["message_id"] = nil },
		"bad key":       func(m map[string]ShapePolicy) { m[ShapeJSONL].Fields["sender"] = []string{"a,b"} },
	}
	for name, change := range bad {
		m := DefaultShapes()
		change(m)
		if err := ValidateShapes(m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// JSON Lines may name a nested conversation id: each line carries it.
	m := DefaultShapes()
	sp := m[ShapeJSONL]
	sp.ConversationID = []string{"conv.id"}
	m[ShapeJSONL] = sp
	if err := ValidateShapes(m); err != nil {
		t.Errorf("nested jsonl conversation id: %v", err)
	}
}
