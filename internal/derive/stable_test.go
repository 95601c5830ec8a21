package derive

import "testing"

// TestStableHash: two reads of a message that differ only in an
// attachment's url (or a template's header media's) hash alike: its
// pre-signature, and its scheme, host, port and path, which Genesys does
// not document as stable. Any other difference — the attachment's id,
// sha256, media type, the text — does not. The old code removed only the
// url's query: a new host was a change.
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
	for _, url := range []string{
		"https://other.example/a1?X-Amz-Date=1",
		"http://media.example:8443/a1?X-Amz-Date=1",
		"https://media.example/other/path/a1",
	} {
		if h(msg(url, "hi")) != base {
			t.Errorf("url %s: the stable hash changed with the url", url)
		}
	}
	attachment := func(a string) []byte {
		return []byte(`{"id":"m1","normalizedMessage":{"text":"hi","content":[{"contentType":"Attachment","attachment":` + a + `}]},"timestamp":"2024-01-01T00:00:00.000Z"}`)
	}
	full := h(attachment(`{"id":"a1","url":"https://h1/x","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":3}`))
	if full != h(attachment(`{"id":"a1","url":"https://h2:9/y?s=1","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":3}`)) {
		t.Error("an attachment with another url alone hashes differently")
	}
	for _, other := range [][]byte{
		attachment(`{"id":"a2","url":"https://h1/x","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":3}`),
		attachment(`{"id":"a1","url":"https://h1/x","sha256":"cd","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":3}`),
		attachment(`{"id":"a1","url":"https://h1/x","sha256":"ab","mediaType":"Video","mime":"image/png","filename":"f.png","contentSizeBytes":3}`),
		attachment(`{"id":"a1","url":"https://h1/x","sha256":"ab","mediaType":"Image","mime":"image/jpeg","filename":"f.png","contentSizeBytes":3}`),
		attachment(`{"id":"a1","url":"https://h1/x","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"g.png","contentSizeBytes":3}`),
		attachment(`{"id":"a1","url":"https://h1/x","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":4}`),
		attachment(`{"id":"a1","sha256":"ab","mediaType":"Image","mime":"image/png","filename":"f.png","contentSizeBytes":3}`),
	} {
		if h(other) == full {
			t.Errorf("%s hashes like the original", other)
		}
	}
	for _, other := range [][]byte{
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
	if h(tmpl("https://media.example/h1?X-Amz-Date=1")) != h(tmpl("https://other.example:8080/h2")) {
		t.Error("another header media url changed the stable hash")
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
