package report

import (
	"net"
	"net/url"
	"strings"
)

// processText is the certificate's "Process" statement. Its claim about
// the transport comes from the API URLs the ledger's runs recorded
// (apiURLs, in order of first use), never from what custody usually
// does: a matter captured from a simulator over plain HTTP must not be
// certified as read over HTTPS. With no URL recorded it makes no
// transport claim.
func processText(apiURLs []string) string {
	return "Each conversation and message was read from the Genesys Cloud Conversation API" + transportText(apiURLs) +
		"; " + processStored + "; each record was entered in an append-only ledger whose entries are hashed into a hash chain and an RFC 6962 Merkle tree; the tree's root was signed (Ed25519, C2SP signed checkpoints) at the end of every run."
}

// processStored is the process statement's claim about the evidence; a
// withheld certificate says instead what it was meant to do and why it
// does not hold here (withholdCertificate).
const (
	processStored         = "every response body was stored unaltered as evidence, named by its SHA-256"
	processStoredWithheld = "every response body was stored as evidence when captured, named by its SHA-256 (meant to stay unaltered: "
)

// transportText says how the runs reached the API: " over HTTPS" when
// every recorded URL is https, else each URL with its scheme stated
// plainly; "" when none is recorded.
func transportText(apiURLs []string) string {
	var parts []string
	https := false
	for _, raw := range apiURLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Scheme == "":
			parts = append(parts, "at "+raw+" (a URL whose scheme the ledger does not record)")
		case strings.EqualFold(u.Scheme, "https"):
			if !https {
				parts = append(parts, "over HTTPS")
				https = true
			}
		case strings.EqualFold(u.Scheme, "http"):
			s := "over plain HTTP, unencrypted (" + raw
			if isLoopback(u.Hostname()) {
				s += ", a local endpoint on the capturing machine, such as a simulator or test server"
			}
			parts = append(parts, s+")")
		default:
			parts = append(parts, "over "+strings.ToLower(u.Scheme)+" ("+raw+")")
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return " " + parts[0]
	}
	return " " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
