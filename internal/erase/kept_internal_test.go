package erase

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/custodyhq/custody/internal/fetch"
)

// TestFirstNamed: the findings of a large diff are searched as a stream,
// so a conversation named across the boundary of two chunks, or only in
// the last bytes, is still found; a read that fails is an error, never
// "not named".
func TestFirstNamed(t *testing.T) {
	convs := map[string]bool{"c-erased": true}
	pat := `"conversation_id":"c-erased"`
	for _, at := range []int{0, 4<<20 - 10, 4<<20 - 1, 4 << 20, 9<<20 + 3} {
		body := strings.Repeat("x", at) + pat + strings.Repeat("y", 100)
		if c, err := firstNamed(strings.NewReader(body), convs, nil); c != "conversation c-erased" || err != nil {
			t.Errorf("named at byte %d: %q, %v", at, c, err)
		}
		if c, err := firstNamed(iotest.OneByteReader(strings.NewReader(body[:min(len(body), at+len(pat)+5)])), convs, nil); at < 1<<20 && (c != "conversation c-erased" || err != nil) {
			t.Errorf("named at byte %d, read a byte at a time: %q, %v", at, c, err)
		}
	}
	if c, err := firstNamed(strings.NewReader(strings.Repeat("z", 9<<20)+`"conversation_id":"c-other"`), convs, nil); c != "" || err != nil {
		t.Errorf("not named: %q, %v", c, err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat("x", 5<<20) + pat))
	zw.Close()
	cut := gz.Bytes()[:gz.Len()/2]
	zr, err := gzip.NewReader(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := firstNamed(zr, convs, nil); err == nil {
		t.Error("a findings object cut short: no error")
	}
	// No conversation to look for (an erasure of messages only): a large
	// object is not read, and nothing is named.
	if c, err := firstNamed(strings.NewReader(strings.Repeat("x", 9<<20)), map[string]bool{}, nil); c != "" || err != nil {
		t.Errorf("no conversations: %q, %v", c, err)
	}
	// A message erased alone: findings naming it are found by its id.
	if c, err := firstNamed(strings.NewReader(`{"conversation_id":"c-x","message_id":"m-1"}`), nil, map[string]bool{"m-1": true}); c != "message m-1" || err != nil {
		t.Errorf("a message: %q, %v", c, err)
	}
	boom := errors.New("boom")
	if _, err := firstNamed(iotest.ErrReader(boom), convs, nil); !errors.Is(err, boom) {
		t.Errorf("a failing read: %v", err)
	}
}

// TestMaxBody: no response body custody stores is larger than maxBody,
// the bound on an unreferenced object erase reads whole.
func TestMaxBody(t *testing.T) {
	if maxBody != fetch.DefaultMaxResponseBytes {
		t.Errorf("maxBody %d, fetch.DefaultMaxResponseBytes %d", maxBody, fetch.DefaultMaxResponseBytes)
	}
}
