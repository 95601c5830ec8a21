package produce

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const refDir = "../../../shared/reference/rsmf"

// TestEmbeddedSchemaIsReference holds the embedded schema to Relativity's
// file in the shared reference folder, when it is there.
func TestEmbeddedSchemaIsReference(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join(refDir, "rsmf_schema_2_0_0.json"))
	if err != nil {
		t.Skipf("reference schema not here (%v); the embedded copy is checked by the sample tests", err)
	}
	if !bytes.Equal(ref, rsmfSchema) {
		t.Fatal("the embedded schema differs from the reference")
	}
}

// TestReferenceSamples runs the RSMF validation-walkthrough samples:
// sample1 (a participant without an id) and sample4 (a numeric id, an
// undefined participant) are invalid; sample3's .rsmf is valid.
func TestReferenceSamples(t *testing.T) {
	for _, name := range []string{"sample1_rsmf_manifest.json", "sample4_rsmf_manifest.json"} {
		data, err := os.ReadFile(filepath.Join(refDir, name))
		if err != nil {
			t.Skipf("reference samples not here: %v", err)
		}
		err = ValidateManifest(data, map[string]bool{})
		if !errors.Is(err, ErrInvalidRSMF) {
			t.Errorf("%s: accepted (err %v); it is invalid", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(refDir, "sample3_message.eml"))
	if err != nil {
		t.Skipf("reference samples not here: %v", err)
	}
	f, err := ReadRSMF(data)
	if err != nil {
		t.Fatalf("sample3: %v", err)
	}
	if _, ok := f.Files["AV1"]; !ok || !bytes.Contains([]byte(f.Text), []byte("This is body text.")) {
		t.Fatalf("sample3 read wrong: files %v text %q", len(f.Files), f.Text)
	}
}
