package produce

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// multipartRSMF is buildRSMF as it was written with mime/multipart: the
// reference the faster buildRSMF must match byte for byte.
func multipartRSMF(h rsmfHeaders, text string, zipData []byte) ([]byte, error) {
	sum := sha256.New()
	sum.Write([]byte(text))
	sum.Write(zipData)
	boundary := "custody-rsmf-" + hex.EncodeToString(sum.Sum(nil))[:32]

	var buf bytes.Buffer
	appendRSMFHeaders(&buf, h, boundary) // the headers are not mime/multipart's

	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, err
	}
	tp := textproto.MIMEHeader{}
	tp.Set("Content-Type", "text/plain; charset=utf-8")
	tp.Set("Content-Transfer-Encoding", "quoted-printable")
	w, err := mw.CreatePart(tp)
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	zp := textproto.MIMEHeader{}
	zp.Set("Content-Type", `application/zip; name="`+RSMFZip+`"`)
	zp.Set("Content-Disposition", `attachment; filename="`+RSMFZip+`"`)
	zp.Set("Content-Transfer-Encoding", "base64")
	if w, err = mw.CreatePart(zp); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(zipData)
	for len(enc) > 76 {
		if _, err := fmt.Fprintf(w, "%s\r\n", enc[:76]); err != nil {
			return nil, err
		}
		enc = enc[76:]
	}
	if _, err := fmt.Fprintf(w, "%s\r\n", enc); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestBuildRSMFMultipart holds buildRSMF to the mime/multipart writing
// it replaced: the same headers, parts, quoted-printable text and base64
// lines, byte for byte, at every zip length around the line lengths.
func TestBuildRSMFMultipart(t *testing.T) {
	at := time.Date(2024, 3, 1, 9, 0, 0, 123e6, time.UTC)
	h := rsmfHeaders{Subject: "WhatsApp conversation c1, a to b", From: rsmfMailbox{`Zoë "the" <customer>, ;x`, "+31612345678"},
		To:   []rsmfMailbox{{"Acme Support", "+3120"}, {"Agent\r\nBcc: x", "user:7"}},
		Date: at, MessageID: "c1.3@custody", Generator: "custody v1", Begin: at, End: at.Add(time.Hour), Events: 3,
		Custodian: "Acme", Participants: []string{"Zoë", "Acme Support"}, Attachments: 1}
	texts := []string{"", "plain\n", "Grüße =\nline with trailing space \n" + strings.Repeat("long line ", 40) + "\n\ttab\r\n"}
	for _, text := range texts {
		for n := range 300 {
			zipData := bytes.Repeat([]byte{byte(n), 0xff, 'z'}, n/3+1)[:n]
			want, err := multipartRSMF(h, text, zipData)
			if err != nil {
				t.Fatal(err)
			}
			got, err := buildRSMF(h, text, zipData)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("text %q, zip of %d bytes:\ngot  %q\nwant %q", text, n, got, want)
			}
		}
	}
}
