package produce

import (
	"strings"
	"testing"
)

// TestBuildZipRefusesUnsafeNames: whatever names the caller passes,
// none that an unzip could write outside its folder (zip slip), or that
// hides what it is, reaches rsmf.zip.
func TestBuildZipRefusesUnsafeNames(t *testing.T) {
	for _, name := range []string{"../x", "a/../../x", "/etc/passwd", `..\x`, `C:\x`, "a\\b", "a\x00b", "a\nb", "a\u202eb",
		".hidden", "..", "", "a/b", strings.Repeat("a", 256)} {
		if _, err := buildZip([]zipFile{{name: name, data: []byte("x")}}); err == nil {
			t.Errorf("buildZip accepted the entry name %.40q", name)
		}
	}
	if _, err := buildZip([]zipFile{{name: RSMFManifest, data: []byte("{}")}, {name: strings.Repeat("0", 64) + ".jpg"}}); err != nil {
		t.Fatal(err)
	}
}
