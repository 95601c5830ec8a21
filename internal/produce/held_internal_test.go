package produce

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestWriteRSMFSameAsAppend: an .rsmf file written in pieces, its zip
// read back from a spill, is the bytes appendRSMF builds whole, whatever
// the zip's size against the 57-byte lines and the pieces it is read in.
func TestWriteRSMFSameAsAppend(t *testing.T) {
	at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	h := rsmfHeaders{Subject: "s", From: rsmfMailbox{"a", "a"}, To: []rsmfMailbox{{"b", "b"}}, Date: at, MessageID: "m@custody", Generator: "custody",
		Begin: at, End: at, Events: 1, Custodian: "c", Participants: []string{"a", "b"}, Attachments: 1}
	text := "WhatsApp conversation c\n[2024-03-01T09:00:00.000Z] a: Grüße\n"
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, n := range []int{0, 1, 56, 57, 58, 57*1024 - 1, 57 * 1024, 57*1024 + 1, 3*57*1024 + 5} {
		zip := make([]byte, n)
		for i := range zip {
			zip[i] = byte(rng.Uint32())
		}
		var want bytes.Buffer
		if err := appendRSMF(&want, h, text, zip); err != nil {
			t.Fatal(err)
		}
		sp, err := newSpill(t.TempDir(), text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Write(zip); err != nil {
			t.Fatal(err)
		}
		sp.finish()
		var got bytes.Buffer
		if err := writeRSMF(&got, new(bytes.Buffer), h, text, sp.sum[:], sp.reader()); err != nil {
			t.Fatal(err)
		}
		sp.close()
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("a zip of %d bytes: written in pieces (%d bytes) is not the file built whole (%d bytes)", n, got.Len(), want.Len())
		}
		if int64(want.Len()) < base64Size(int64(n)) {
			t.Errorf("a zip of %d bytes: base64Size %d, more than the whole file (%d bytes)", n, base64Size(int64(n)), want.Len())
		}
	}
}

// TestSpill: a spill leaves no file behind (where an open file can be
// removed) and reads back what was written; bytes changed under it are
// refused when read back.
func TestSpill(t *testing.T) {
	dir := t.TempDir()
	sp, err := newSpill(dir, "seed")
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if _, err := sp.Write([]byte("attachment bytes")); err != nil {
		t.Fatal(err)
	}
	sp.finish()
	if ents, _ := os.ReadDir(dir); runtime.GOOS != "windows" && len(ents) != 0 {
		t.Errorf("the spill is named in the folder: %v", ents)
	}
	if b, err := io.ReadAll(sp.reader()); err != nil || string(b) != "attachment bytes" {
		t.Errorf("read back %q, %v", b, err)
	}
	if _, err := sp.f.WriteAt([]byte("A"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(sp.reader()); !errors.Is(err, errSpillChanged) {
		t.Errorf("a changed spill read back: %v, want errSpillChanged", err)
	}
}
