package report

import (
	"strings"
	"testing"
)

// TestProcessTransport: the certificate claims HTTPS only when every
// recorded API URL is https, names any other scheme plainly, and makes no
// transport claim when no URL is recorded.
func TestProcessTransport(t *testing.T) {
	for _, tc := range []struct {
		name string
		urls []string
		want string // the transport part of the statement
	}{
		{"none recorded", nil, "Conversation API; every response"},
		{"https", []string{"https://api.mypurecloud.com"}, "Conversation API over HTTPS; every"},
		{"two https", []string{"https://api.mypurecloud.com", "https://api.mypurecloud.de"}, "Conversation API over HTTPS; every"},
		{"simulator", []string{"http://127.0.0.1:41519"}, "Conversation API over plain HTTP, unencrypted (http://127.0.0.1:41519, a local endpoint on the capturing machine, such as a simulator or test server); every"},
		{"localhost", []string{"http://localhost:8080/api"}, "over plain HTTP, unencrypted (http://localhost:8080/api, a local endpoint on the capturing machine, such as a simulator or test server);"},
		{"ipv6 loopback", []string{"http://[::1]:9000"}, "(http://[::1]:9000, a local endpoint"},
		{"plain http elsewhere", []string{"http://genesys.example.internal"}, "Conversation API over plain HTTP, unencrypted (http://genesys.example.internal); every"},
		{"mixed", []string{"https://api.mypurecloud.com", "http://127.0.0.1:1"}, "Conversation API over HTTPS and over plain HTTP, unencrypted (http://127.0.0.1:1, a local endpoint"},
		{"other scheme", []string{"ftp://x.example"}, "Conversation API over ftp (ftp://x.example); every"},
		{"no scheme", []string{"api.example"}, "Conversation API at api.example (a URL whose scheme the ledger does not record); every"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := processText(tc.urls)
			if !strings.Contains(got, tc.want) {
				t.Errorf("process text:\n%s\nwant it to contain\n%s", got, tc.want)
			}
			if strings.Contains(got, "HTTPS") != strings.Contains(tc.want, "HTTPS") {
				t.Errorf("process text claims HTTPS wrongly: %s", got)
			}
		})
	}
}
