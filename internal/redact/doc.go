// Package redact keeps the secrets a URL can carry — its user info, its
// query (a pre-signed url's signature, an API key) and its fragment —
// out of what custody shows: log lines, errors, outputs, the ledger and
// reports. URL is the one function every such place shows a URL given
// by the user or a server through; Secrets lists what a URL carries so
// that fetch.Redactor can take those values out of any text (an error of
// the AWS SDK or of net/http that repeats the URL its own way). Pure: no
// I/O.
package redact
