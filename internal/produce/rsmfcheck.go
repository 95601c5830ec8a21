package produce

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// rsmfSchema is Relativity's RSMF 2.0.0 JSON schema (BSD-3-Clause, kCura
// LLC; see docs/produce.md), byte for byte.
//
//go:embed rsmf_schema_2_0_0.json
var rsmfSchema []byte

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rsmfSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// The schema's "date-time" says ISO 8601, and Relativity's own
	// samples write local times without a zone ("2013-01-10T15:53:00"),
	// which RFC 3339 (the validator's date-time) refuses.
	c.RegisterFormat(&jsonschema.Format{Name: "date-time", Validate: isoDateTime})
	if err := c.AddResource("rsmf_schema_2_0_0.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("rsmf_schema_2_0_0.json")
})

// isoDateTime accepts an ISO 8601 date and time, with or without
// fractional seconds and zone.
func isoDateTime(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if _, err := time.Parse(layout, s); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%q is not an ISO 8601 date-time", s)
}

// ErrInvalidRSMF is the error of an RSMF file or manifest that breaks the
// schema or the specification's rules.
var ErrInvalidRSMF = errors.New("invalid rsmf")

// Size limits of what ReadRSMF accepts: an .rsmf file is hostile input.
const (
	maxRSMFFile   = 1 << 30
	maxZipEntry   = 256 << 20
	maxZipEntries = 100_000
)

// ValidateManifest checks an rsmf_manifest.json against the RSMF 2.0.0
// schema and the cross-reference rules the specification states in
// prose: participant, conversation and custodian ids name things defined
// in the manifest, ids are unique, and (when zipFiles is not nil) every
// attachment and avatar is a file of the zip.
func ValidateManifest(data []byte, zipFiles map[string]bool) error {
	sch, err := compiled()
	if err != nil {
		return fmt.Errorf("produce: rsmf schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: manifest is not json: %w", ErrInvalidRSMF, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRSMF, err)
	}
	// The schema held, so the shapes below are what it says.
	root := inst.(map[string]any)
	str := func(m map[string]any, k string) (string, bool) {
		s, ok := m[k].(string)
		return s, ok
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	parts := map[string]bool{}
	for i, p := range root["participants"].([]any) {
		pm := p.(map[string]any)
		id, _ := str(pm, "id")
		if parts[id] {
			bad("participants[%d]: id %q is not unique", i, id)
		}
		parts[id] = true
		if av, ok := str(pm, "avatar"); ok && zipFiles != nil && !zipFiles[av] {
			bad("participants[%d]: avatar %q is not in the zip", i, av)
		}
	}
	convs := map[string]bool{}
	for i, c := range root["conversations"].([]any) {
		cm := c.(map[string]any)
		id, _ := str(cm, "id")
		if convs[id] {
			bad("conversations[%d]: id %q is not unique", i, id)
		}
		convs[id] = true
		members := map[string]bool{}
		for _, p := range cm["participants"].([]any) {
			members[p.(string)] = true
			if !parts[p.(string)] {
				bad("conversations[%d]: participant %q is not defined", i, p)
			}
		}
		if cu, ok := str(cm, "custodian"); ok && !members[cu] {
			bad("conversations[%d]: custodian %q is not one of its participants", i, cu)
		}
		if ic, ok := str(cm, "icon"); ok && zipFiles != nil && !zipFiles[ic] {
			bad("conversations[%d]: icon %q is not in the zip", i, ic)
		}
	}
	for i, e := range root["events"].([]any) {
		em := e.(map[string]any)
		if p, ok := str(em, "participant"); ok && !parts[p] {
			bad("events[%d]: participant %q is not defined", i, p)
		}
		if c, ok := str(em, "conversation"); ok && !convs[c] {
			bad("events[%d]: conversation %q is not defined", i, c)
		}
		if atts, ok := em["attachments"].([]any); ok {
			for _, a := range atts {
				id, _ := str(a.(map[string]any), "id")
				if zipFiles != nil && !zipFiles[id] {
					bad("events[%d]: attachment %q is not in the zip", i, id)
				}
			}
		}
		for _, list := range []string{"read_receipts", "edits"} {
			if rs, ok := em[list].([]any); ok {
				for _, r := range rs {
					if p, _ := str(r.(map[string]any), "participant"); !parts[p] {
						bad("events[%d]: %s participant %q is not defined", i, list, p)
					}
				}
			}
		}
		if rs, ok := em["reactions"].([]any); ok {
			for _, r := range rs {
				ps, _ := r.(map[string]any)["participants"].([]any)
				for _, p := range ps {
					if !parts[p.(string)] {
						bad("events[%d]: reaction participant %q is not defined", i, p)
					}
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRSMF, errors.Join(errs...))
	}
	return nil
}

// RSMFFile is an .rsmf file read back.
type RSMFFile struct {
	Header   mail.Header
	Text     string            // the text/plain body, decoded
	Manifest []byte            // rsmf_manifest.json
	Files    map[string][]byte // every file of rsmf.zip but the manifest
}

// ReadRSMF parses an .rsmf file: an RFC 5322 message with X-RSMF-Version
// 2.0.0 and an rsmf.zip attachment holding rsmf_manifest.json. It checks
// the manifest (ValidateManifest) with the zip's files.
func ReadRSMF(data []byte) (*RSMFFile, error) {
	f, err := readRSMF(data)
	if err != nil {
		return nil, fmt.Errorf("produce: read rsmf: %w", err)
	}
	return f, nil
}

func readRSMF(data []byte) (*RSMFFile, error) {
	if len(data) > maxRSMFFile {
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidRSMF, len(data))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRSMF, err)
	}
	if v := msg.Header.Get("X-RSMF-Version"); v != RSMFVersion {
		return nil, fmt.Errorf("%w: X-RSMF-Version %q, want %q", ErrInvalidRSMF, v, RSMFVersion)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: not a multipart message", ErrInvalidRSMF)
	}
	out := &RSMFFile{Header: msg.Header, Files: map[string][]byte{}}
	var zipData []byte
	zips := 0
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRSMF, err)
		}
		body, err := decodePart(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRSMF, err)
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		name := dp["filename"]
		if name == "" {
			name = cp["name"]
		}
		switch {
		case name == RSMFZip:
			zips++
			zipData = body
		case ct == "text/plain" && name == "" && out.Text == "":
			out.Text = strings.ReplaceAll(string(body), "\r\n", "\n")
		}
	}
	if zips != 1 {
		return nil, fmt.Errorf("%w: %d %s attachments, want exactly one", ErrInvalidRSMF, zips, RSMFZip)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRSMF, RSMFZip, err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("%w: %s has %d files", ErrInvalidRSMF, RSMFZip, len(zr.File))
	}
	names := map[string]bool{}
	for _, zf := range zr.File {
		if names[zf.Name] {
			return nil, fmt.Errorf("%w: %s holds %q twice", ErrInvalidRSMF, RSMFZip, zf.Name)
		}
		names[zf.Name] = true
		if zf.UncompressedSize64 > maxZipEntry {
			return nil, fmt.Errorf("%w: %s: %q is %d bytes", ErrInvalidRSMF, RSMFZip, zf.Name, zf.UncompressedSize64)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %q: %w", ErrInvalidRSMF, RSMFZip, zf.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxZipEntry+1))
		rc.Close()
		if err != nil || len(b) > maxZipEntry {
			return nil, fmt.Errorf("%w: %s: %q: unreadable or too large", ErrInvalidRSMF, RSMFZip, zf.Name)
		}
		if zf.Name == RSMFManifest {
			out.Manifest = b
		} else {
			out.Files[zf.Name] = b
		}
	}
	if out.Manifest == nil {
		return nil, fmt.Errorf("%w: %s has no %s", ErrInvalidRSMF, RSMFZip, RSMFManifest)
	}
	if err := ValidateManifest(out.Manifest, names); err != nil {
		return nil, err
	}
	return out, nil
}

func decodePart(p *multipart.Part) ([]byte, error) {
	r := io.Reader(p)
	switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64Reader(p)
	case "quoted-printable":
		r = qpReader(p)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxRSMFFile+1))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// base64Reader decodes a base64 body (the decoder skips the CR and LF it
// is wrapped with).
func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

func qpReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
