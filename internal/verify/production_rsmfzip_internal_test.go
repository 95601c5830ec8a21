package verify

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

// TestZipEventsRefusesUnsafeEntries: an rsmf.zip entry named so that an
// unzip could write it outside its folder is a finding; the names
// produce writes (the attachment's SHA-256 and type's extension) and
// those it wrote before (id and the sender's name made safe) are not.
func TestZipEventsRefusesUnsafeEntries(t *testing.T) {
	zipOf := func(names ...string) *zip.Reader {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		for _, n := range append(names, "rsmf_manifest.json") {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: n})
			if err != nil {
				t.Fatal(err)
			}
			if n == "rsmf_manifest.json" {
				w.Write([]byte(`{"events":[]}`))
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	for _, ok := range []string{strings.Repeat("ab", 32) + ".jpg", strings.Repeat("ab", 32) + "-2.pdf", "att-m0000000-_._.._etc_passwd", "att-1-photo.jpg"} {
		if _, err := zipEvents(zipOf(ok), "f.rsmf"); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"../x", "a/../../x", "/etc/passwd", `..\x`, `C:\x`, "a\x00b", "a\nb", ".hidden", strings.Repeat("a", 256)} {
		if _, err := zipEvents(zipOf(bad), "f.rsmf"); err == nil || !strings.Contains(err.Error(), "not a safe file name") {
			t.Errorf("entry %.40q: %v", bad, err)
		}
	}
}
