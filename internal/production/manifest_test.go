package production

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	m := &Manifest{Format: Format, Matter: "m \"x\"", Origin: "o", Formats: []string{"rsmf"},
		Selection:  Selection{Conversations: []string{}, Interval: "a/b"},
		Checkpoint: Checkpoint{File: CheckpointFile, Size: 3, Root: "ab"}, VerifierKey: VerifierKeyFile,
		Conversations: []Conversation{{ID: "c", Seq: 1, Proof: ProofPath(1), RSMF: []string{"rsmf/c.rsmf"}}},
		Messages:      []Message{{Seq: 2, ConversationID: "c", MessageID: "m", Proof: ProofPath(2)}},
		Files:         []File{{Path: CheckpointFile}, {Path: VerifierKeyFile}, {Path: ProofPath(1)}, {Path: ProofPath(2)}, {Path: "rsmf/c.rsmf"}},
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip:\n%+v\n%+v", back, m)
	}
	empty := &Manifest{Format: Format, Checkpoint: Checkpoint{File: CheckpointFile}, VerifierKey: VerifierKeyFile,
		Files: []File{{Path: CheckpointFile}, {Path: VerifierKeyFile}}}
	if b, err = empty.Marshal(); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseManifest(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good := `{"format":"custody-production/v1","checkpoint":{"file":"proofs/checkpoint.txt"},"verifier_key":"custody.pub","files":[{"path":"proofs/checkpoint.txt"},{"path":"custody.pub"}%s]}`
	for name, extra := range map[string]string{
		"traversal": `,{"path":"../x"}`,
		"absolute":  `,{"path":"/etc/passwd"}`,
		"backslash": `,{"path":"a\\b"}`,
		"dot":       `,{"path":".hidden"}`,
		"twice":     `,{"path":"custody.pub"}`,
		"manifest":  `,{"path":"manifest.json"}`,
		"empty seg": `,{"path":"a//b"}`,
		"unknown":   `],"x":[1`,
		// Member names are exact: encoding/json alone would read these
		// as files, path and matter, and keep the last of a repeated one.
		"folded case":    `],"Formats":[`,
		"folded member":  `,{"Path":"x"}`,
		"long s":         `,{"path":"x","ſize":1}`,
		"repeated":       `],"verifier_key":"custody.pub","formats":[`,
		"repeated inner": `,{"path":"x","path":"y"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseManifest([]byte(strings.Replace(good, "%s", extra, 1)))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("accepted: %v", err)
			}
		})
	}
	if _, err := ParseManifest([]byte(strings.Replace(good, "%s", "", 1))); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "{", "[]", `{"format":"other"}`, strings.Replace(good, "%s", "", 1) + "{}"} {
		if _, err := ParseManifest([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestParseManifestFormats: v1 and v2 are read (v2, what produce writes
// when it lists an earlier capture, and v1 with earlier_capture_of, as
// custody wrote before v2); a format this custody does not know is said
// to be one, before its members are judged: a newer custody's manifest
// is not called malformed for a member its format added.
func TestParseManifestFormats(t *testing.T) {
	base := `{"format":%q,"checkpoint":{"file":"proofs/checkpoint.txt"},"verifier_key":"custody.pub","messages":[{"seq":1,"leaf_hash":"","conversation_id":"c","message_id":"m","proof":"custody.pub"%s}],"files":[{"path":"proofs/checkpoint.txt"},{"path":"custody.pub"}]}`
	for _, f := range []string{Format, FormatV2} {
		for _, extra := range []string{"", `,"earlier_capture_of":2`} {
			if _, err := ParseManifest(fmt.Appendf(nil, base, f, extra)); err != nil {
				t.Errorf("%s %s: %v", f, extra, err)
			}
		}
	}
	_, err := ParseManifest(fmt.Appendf(nil, base, "custody-production/v3", `,"new_member":1`))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `format "custody-production/v3"`) || !strings.Contains(err.Error(), "does not know") {
		t.Errorf("a newer format: %v", err)
	}
	if FormatOf(false) != Format || FormatOf(true) != FormatV2 {
		t.Errorf("FormatOf: %q %q", FormatOf(false), FormatOf(true))
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"custody-production/v1","checkpoint":{"file":"proofs/checkpoint.txt"},"verifier_key":"custody.pub","files":[{"path":"proofs/checkpoint.txt"},{"path":"custody.pub"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, x := range m.Files {
			if ValidPath(x.Path) != nil {
				t.Fatalf("accepted path %q", x.Path)
			}
		}
	})
}

func TestSafeName(t *testing.T) {
	for _, s := range []string{"", ".", "..", "a/b", "../../etc", strings.Repeat("x", 300), "ünï", "a b", ".x"} {
		n := SafeName(s)
		if ValidPath(n) != nil || strings.Contains(n, "/") || len(n) > 100 {
			t.Errorf("SafeName(%q) = %q", s, n)
		}
	}
	if SafeName("abc-1.json") != "abc-1.json" {
		t.Error("a safe name changed")
	}
}
