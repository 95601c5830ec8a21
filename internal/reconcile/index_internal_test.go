package reconcile

import (
	"encoding/json"
	"testing"

	"github.com/custodyhq/custody/internal/export"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
)

// detailSeeds are message details as the export writes them (through the
// ledger's RFC 8785 form) and near misses the fast path must leave to
// encoding/json.
var detailSeeds = []string{
	`{"content_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","direction":"inbound","from":"+15550100","messenger_type":"whatsapp","to":"+15550199"}`,
	`{}`, ` { "from" : "a" , "content_sha256":"b" } `,
	`{"from":"a","from":"b"}`, `{"FROM":"x"}`, `{"ſrom":"x"}`, `{"from":null}`, `{"from":1}`,
	`{"from":"a\"b"}`, `{"from":"\u0041"}`, `{"media":[{"sha256":"x"}],"from":"y"}`,
	`{"from":"a"} x`, `{"from":"a",}`, `{"from":"a"`, `{"from":"` + "\xff" + `"}`, `{"from":"é"}`,
	`[]`, ``, `{"to":"` + "\x01" + `"}`,
}

// TestScanTakesExportDetails checks that the details internal/export
// writes take the fast path, so it is not silently dead.
func TestScanTakesExportDetails(t *testing.T) {
	md := &genesys.MessageData{ID: "m1", TextBody: "hello", FromAddress: "+15550100", ToAddress: "+15550199",
		Direction: "inbound", MessengerType: "whatsapp", Timestamp: "2024-03-01T10:00:00.123Z", ProviderMessageID: "wamid.1"}
	e, err := export.MessageEntry("m", "r", "c1", true, nil, md, hashchain.Hash{1}, hashchain.Hash{2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var d messageDetail
	if !d.scan(e.Detail) {
		t.Fatalf("the fast path refused an export's detail: %s", e.Detail)
	}
	if d.From != "+15550100" || len(d.ContentSHA256) != 64 {
		t.Errorf("scan(%s) = %+v", e.Detail, d)
	}
}

// FuzzDetailScan holds the fast path to encoding/json: whenever it
// accepts a detail, json.Unmarshal must accept it too and agree.
func FuzzDetailScan(f *testing.F) {
	for _, s := range detailSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast messageDetail
		if !fast.scan(b) {
			return
		}
		var want messageDetail
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("scan accepted %q, json.Unmarshal refuses it: %v", b, err)
		}
		if fast != want {
			t.Fatalf("scan(%q) = %+v, json.Unmarshal gives %+v", b, fast, want)
		}
	})
}
