package produce

import (
	"bytes"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rsmfPeople are participants whose names and ids a header must carry
// safely: quotes, commas, angle brackets, controls, line breaks, non-ASCII,
// a long name and ids that are no e-mail local part.
var rsmfPeople = []rsmfMailbox{
	{`Zoë "the" <customer>, ;x`, "+31612345678"},
	{"Custody Demo whatsapp", "+3120555"},
	{"Rafael Haddad", "user:6f1c0a52-3d9e-4b1e-9a57-0c6b0e0d7c11"},
	{"Björn\r\nJensen þ\x14 ®\t\x00X\u2028Y", "bot:Flow (v2) @ acme.example"},
	{"Dr. A. (Ann) O'Neil [ops]\\", "user:" + strings.Repeat("x", 80)},
	{strings.Repeat("Ünïcødé ", 30), "user:7"},
	{"", ""},
}

func hostileRSMF(t *testing.T) []byte {
	t.Helper()
	at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	var names []string
	for _, p := range rsmfPeople {
		names = append(names, p.Display)
	}
	h := rsmfHeaders{Subject: "WhatsApp conversation c1, " + strings.Repeat("long ", 40), From: rsmfPeople[0], To: rsmfPeople[1:],
		Date: at, MessageID: "c1.3@custody", Generator: "custody v1", Begin: at, End: at, Events: 1,
		Custodian: "Acme, Inc.\r\nBcc: x", Participants: names, Attachments: 0}
	b, err := buildRSMF(h, "hi\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRSMFHeadersParse: From and To are RFC 5322 address lists that name
// every participant by name and by an address made of its id, and no
// header line passes 998 characters (Go's net/mail).
func TestRSMFHeadersParse(t *testing.T) {
	data := hostileRSMF(t)
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if len(line) > 998 || strings.TrimSpace(line) == "" {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v %v", msg.Header.Get("From"), from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != len(rsmfPeople)-1 {
		t.Fatalf("To %q: %v %v", msg.Header.Get("To"), to, err)
	}
	for i, a := range append(from, to...) {
		p := rsmfPeople[i]
		if want := strings.TrimSpace(headerClean(p.Display)); a.Name != want {
			t.Errorf("participant %d: name %q, want %q", i, a.Name, want)
		}
		if a.Address != participantAddress(p.ID) || !strings.HasSuffix(a.Address, "@"+RSMFAddressDomain) {
			t.Errorf("participant %d: address %q", i, a.Address)
		}
		local, _, _ := strings.Cut(a.Address, "@")
		if len(local) > maxLocalPart {
			t.Errorf("participant %d: local part of %d bytes", i, len(local))
		}
	}
	if got := participantAddress("user:6f1c"); got != "user%3A6f1c@rsmf.invalid" {
		t.Errorf("participantAddress = %q", got)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Error("a name added a header")
	}
}

// TestRSMFHeadersStrictPython: Python's email package, with
// policy.strict, finds no defect in an .rsmf file's headers (skipped
// without python3).
func TestRSMFHeadersStrictPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	file := filepath.Join(t.TempDir(), "x.rsmf")
	if err := os.WriteFile(file, hostileRSMF(t), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", pyStrict, file).CombinedOutput()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "addresses 7") {
		t.Errorf("python3 read: %s", out)
	}
}

// pyStrict parses an .rsmf file with policy.strict and fails on any
// defect of the message or of its address and unstructured headers.
const pyStrict = `
import sys, email, email.policy
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.strict)
bad = list(msg.defects)
n = 0
for k in ('From', 'To', 'Subject', 'X-RSMF-Custodian', 'X-RSMF-Participants', 'Date', 'Message-ID'):
    h = msg[k]
    bad += ['%s: %r' % (k, d) for d in h.defects]
    if k in ('From', 'To'):
        for a in h.addresses:
            n += 1
            if not a.addr_spec.endswith('@rsmf.invalid'):
                bad.append('%s: address %r' % (k, a.addr_spec))
if bad:
    sys.exit('defects: %s' % bad)
print('addresses', n)
`
