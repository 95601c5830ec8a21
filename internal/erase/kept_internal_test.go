package erase

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/fetch"
)

// TestScanFindings: a findings object is named when a line of it names
// an erased conversation or message, even a line that runs on from the
// object before it (which is named too), and not for an erased finding
// (a diff after an erasure: no value of the message) or another
// conversation; an object that does not decompress, or is cut short, is
// unreadable; an error reading one stops the scan.
func TestScanFindings(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	convs, msgs := map[string]bool{"c-erased": true}, map[string]bool{"m-1": true}
	hit := `{"conversation_id":"c-erased","expected":"e276","field":"content","kind":"content_differs","message_id":"m-9"}` + "\n"
	other := `{"conversation_id":"c-other","expected":"aaaa","kind":"content_differs","message_id":"m-8"}` + "\n"
	erasedF := `{"conversation_id":"c-erased","expected":"erasure entry 7","kind":"erased","message_id":"m-9"}` + "\n"
	msgHit := `{"conversation_id":"c-x","expected":"+61400000000","field":"sender","kind":"value_altered","message_id":"m-1"}` + "\n"
	big := strings.Repeat(other, (200<<10)/len(other)) // more than a read buffer
	cut := gz(big + hit)
	cut = cut[:len(cut)/2]
	parts := [][]byte{
		gz(other),                // 0: another conversation
		gz(big + hit[:20]),       // 1: a hit that runs on into 2
		gz(hit[20:] + other),     // 2
		gz(erasedF),              // 3: an erased finding only
		[]byte("not gzip\n"),     // 4: not compressed: read as it is
		gz(msgHit),               // 5: a message erased alone
		[]byte{0x1f, 0x8b, 0, 0}, // 6: not a gzip stream
		cut,                      // 7: cut short
		nil,                      // 8: absent
		gz(big + hit),            // 9: after the buffer's size
	}
	open := func(i int) ([]byte, error) { return parts[i], nil }
	named, unreadable, err := scanFindings(len(parts), open, convs, msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{1: "conversation c-erased", 2: "conversation c-erased", 5: "message m-1", 9: "conversation c-erased"}
	if fmt.Sprint(named) != fmt.Sprint(want) {
		t.Errorf("named %v, want %v", named, want)
	}
	if _, ok := unreadable[6]; !ok || len(unreadable) != 2 {
		t.Errorf("unreadable %v, want 6 and 7", unreadable)
	} else if _, ok := unreadable[7]; !ok {
		t.Errorf("unreadable %v, want 6 and 7", unreadable)
	}
	if named, _, _ := scanFindings(len(parts), open, nil, nil); len(named) != 0 {
		t.Errorf("nothing erased: %v named", named)
	}
	boom := errors.New("boom")
	if _, _, err := scanFindings(1, func(int) ([]byte, error) { return nil, boom }, convs, nil); !errors.Is(err, boom) {
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
