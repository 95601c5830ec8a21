package produce_test

import (
	"bytes"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/produce"
)

// TestProducedRSMFHeadersStrict: every .rsmf file of a production is an
// RFC 5322 message whose From and To parse as address lists (Go's
// net/mail, and Python's email package with policy.strict when python3
// is here), each address in the reserved domain .invalid.
func TestProducedRSMFHeadersStrict(t *testing.T) {
	m := capture(t, 6)
	out := filepath.Join(t.TempDir(), "p")
	if _, err := m.produce(t, out, produce.Options{}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "rsmf", "*.rsmf"))
	if len(files) == 0 {
		t.Fatal("no .rsmf file")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"From", "To"} {
			as, err := msg.Header.AddressList(k)
			if err != nil || len(as) == 0 {
				t.Errorf("%s: %s %q: %v", filepath.Base(f), k, msg.Header.Get(k), err)
			}
			for _, a := range as {
				if !strings.HasSuffix(a.Address, "@"+produce.RSMFAddressDomain) || a.Name == "" {
					t.Errorf("%s: %s mailbox %q <%s>", filepath.Base(f), k, a.Name, a.Address)
				}
			}
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: Python's strict parse not run")
	}
	if out, err := exec.Command(py, append([]string{"-c", pyStrictFiles}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("python3 email, policy.strict: %v\n%s", err, out)
	}
}

// pyStrictFiles parses each file named with policy.strict and fails on
// any defect of the message or of its From, To, Subject and X-RSMF
// headers.
const pyStrictFiles = `
import sys, email, email.policy
bad = []
for f in sys.argv[1:]:
    msg = email.message_from_bytes(open(f, 'rb').read(), policy=email.policy.strict)
    bad += ['%s: %r' % (f, d) for d in msg.defects]
    for k in ('From', 'To', 'Subject', 'Date', 'Message-ID', 'X-RSMF-Custodian', 'X-RSMF-Participants'):
        h = msg[k]
        if h is None:
            bad.append('%s: no %s' % (f, k))
            continue
        bad += ['%s: %s: %r' % (f, k, d) for d in h.defects]
if bad:
    sys.exit('\n'.join(bad))
`
