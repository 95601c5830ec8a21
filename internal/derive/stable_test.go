package derive

import "testing"

// TestStableHash: two reads of a message that differ only in the
// pre-signature of an attachment url (or of a template's header media)
// hash alike; any other difference, including the url's host or path,
// does not.
func TestStableHash(t *testing.T) {
	msg := func(url, text string) []byte {
		return []byte(`{"id":"m1","normalizedMessage":{"text":"` + text + `","content":[{"contentType":"Attachment","attachment":{"id":"a1","url":"` + url + `"}}]},"timestamp":"2024-01-01T00:00:00.000Z"}`)
	}
	h := func(b []byte) string {
		t.Helper()
		s, err := StableHash(b)
		if err != nil {
			t.Fatal(err)
		}
		return s.String()
	}
	base := h(msg("https://media.example/a1?X-Amz-Date=1&X-Amz-Signature=aa", "hi"))
	if got := h(msg("https://media.example/a1?X-Amz-Date=2&X-Amz-Signature=bb", "hi")); got != base {
		t.Error("a new signature changed the stable hash")
	}
	for _, other := range [][]byte{
		msg("https://media.example/a2?X-Amz-Date=1", "hi"),
		msg("https://other.example/a1?X-Amz-Date=1", "hi"),
		msg("https://media.example/a1?X-Amz-Date=1", "hi!"),
	} {
		if h(other) == base {
			t.Errorf("%s hashes like the original", other)
		}
	}
	// A template's header media url too.
	tmpl := func(url string) []byte {
		return []byte(`{"id":"m2","normalizedMessage":{"content":[{"contentType":"Notification","template":{"id":"t","header":{"type":"Media","media":{"id":"h1","url":"` + url + `"}}}}]}}`)
	}
	if h(tmpl("https://media.example/h1?X-Amz-Date=1&X-Amz-Signature=aa")) != h(tmpl("https://media.example/h1?X-Amz-Date=2&X-Amz-Signature=bb")) {
		t.Error("a new signature of a template's header media changed the stable hash")
	}
	if h(tmpl("https://media.example/h1?X-Amz-Date=1")) == h(tmpl("https://media.example/h2?X-Amz-Date=1")) {
		t.Error("another header media path hashes alike")
	}
	if _, err := StableHash([]byte(`{"id":`)); err == nil {
		t.Error("malformed JSON hashed")
	}
	p1, _ := PayloadHash(msg("https://media.example/a1?s=1", "hi"))
	p2, _ := PayloadHash(msg("https://media.example/a1?s=2", "hi"))
	if p1 == p2 {
		t.Error("the payload hash must keep the url as served")
	}
}
