package produce

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/production"
)

// msgRec is a produced message as the manifest lists it, kept compact
// (its ids are the ledger scan's strings; its proof path follows from
// its seq).
type msgRec struct {
	seq      uint64
	leafHash hashchain.Hash
	convID   string
	msgID    string
	ctrl     string // DAT control number, "" without DAT
	latest   uint64 // on an earlier capture, its message's latest capture's seq
}

// marshalManifest is production.Manifest.Marshal of m with msgs as its
// messages and files as its files, byte for byte
// (TestMarshalManifestSame), written without reflection and without the
// per-element strings the Manifest's types would need.
func marshalManifest(m *production.Manifest, msgs []msgRec, files []fileRec) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(250*len(msgs) + 150*len(files) + 400*len(m.Conversations) + 300*len(m.Erased) + 4096)
	var err error
	member := func(name string, v any) {
		if err != nil {
			return
		}
		var j []byte
		if j, err = json.Marshal(v); err != nil {
			return
		}
		fmt.Fprintf(&b, " %q: %s,\n", name, j)
	}
	open := func(name string) { fmt.Fprintf(&b, " %q: [", name) }
	elem := func(i int) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n  ")
	}
	end := func(n int, last bool) {
		if n > 0 {
			b.WriteString("\n ")
		}
		b.WriteByte(']')
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("{\n")
	member("format", m.Format)
	member("matter", m.Matter)
	member("origin", m.Origin)
	member("formats", m.Formats)
	member("selection", m.Selection)
	member("checkpoint", m.Checkpoint)
	member("verifier_key", m.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("production: manifest: %w", err)
	}
	open("conversations")
	for i := range m.Conversations {
		j, err := json.Marshal(m.Conversations[i])
		if err != nil {
			return nil, fmt.Errorf("production: manifest: %w", err)
		}
		elem(i)
		b.Write(j)
	}
	end(len(m.Conversations), false)
	open("messages")
	var buf []byte
	for i := range msgs {
		x := &msgs[i]
		elem(i)
		buf = append(buf[:0], `{"seq":`...)
		buf = strconv.AppendUint(buf, x.seq, 10)
		buf = append(buf, `,"leaf_hash":"`...)
		buf = hex.AppendEncode(buf, x.leafHash[:])
		buf = append(buf, `","conversation_id":`...)
		buf = appendJSONString(buf, x.convID)
		buf = append(buf, `,"message_id":`...)
		buf = appendJSONString(buf, x.msgID)
		buf = append(buf, `,"proof":`...)
		buf = appendJSONString(buf, production.ProofPath(x.seq))
		if x.ctrl != "" {
			buf = append(buf, `,"control_number":`...)
			buf = appendJSONString(buf, x.ctrl)
		}
		if x.latest != 0 {
			buf = append(buf, `,"earlier_capture_of":`...)
			buf = strconv.AppendUint(buf, x.latest, 10)
		}
		buf = append(buf, '}')
		b.Write(buf)
	}
	end(len(msgs), false)
	if len(m.Erased) > 0 {
		open("erased")
		for i := range m.Erased {
			j, err := json.Marshal(m.Erased[i])
			if err != nil {
				return nil, fmt.Errorf("production: manifest: %w", err)
			}
			elem(i)
			b.Write(j)
		}
		end(len(m.Erased), false)
	}
	open("files")
	for i := range files {
		f := &files[i]
		elem(i)
		buf = append(buf[:0], `{"path":`...)
		buf = appendJSONString(buf, f.path)
		buf = append(buf, `,"sha256":"`...)
		buf = hex.AppendEncode(buf, f.sum[:])
		buf = append(buf, `","size":`...)
		buf = strconv.AppendInt(buf, f.size, 10)
		buf = append(buf, '}')
		b.Write(buf)
	}
	end(len(files), true)
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// appendJSONString appends s as encoding/json writes a string: as it is
// when it is printable ASCII needing no escape, through encoding/json
// otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always marshals
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
