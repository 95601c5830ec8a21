package produce

import (
	"testing"
)

// TestIsJPEG: the OPT lists an attachment only when its bytes are a
// JPEG's, whatever the API states: a PNG or WebP named photo.jpg with
// image/jpeg, or an attachment custody has no bytes of, is not listed
// (an image load refuses it); a real JPEG is.
func TestIsJPEG(t *testing.T) {
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8 ")
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"jpeg", jpeg, true},
		{"png called .jpg", png, false},
		{"webp called .jpg", webp, false},
		{"no bytes (expired)", nil, false},
		{"two bytes", []byte{0xFF, 0xD8}, false},
	} {
		a := &attachment{mime: "image/jpeg", filename: "photo.jpg", data: tc.data}
		if got := optImage(a.mime, ".jpg") && isJPEG(a); got != tc.want {
			t.Errorf("%s: listed %v, want %v", tc.name, got, tc.want)
		}
	}
}
