package production

import (
	"errors"
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
