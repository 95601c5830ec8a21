// Package genesys holds the wire types of the subset of the Genesys Cloud
// Platform API v2 that custody uses, shared by the client (internal/fetch),
// the simulator (internal/sim) and the readers of old exports
// (internal/exportfile).
//
// Field names and JSON types follow the official SDK models
// (MyPureCloud/platform-client-sdk-go platformclientv2/*.go, see
// shared/docs/genesys-api.md and shared/reference/genesys-models.json).
// Each struct carries only fields of its SDK model, a subset where custody
// needs no more. Timestamps stay strings: custody records the original
// timestamp exactly as the API sent it (millisecond precision, UTC), and a
// time.Time round trip could change its spelling.
//
// Beside the types, message.go holds the normal forms of a message's
// text and timestamp (MessageText, ContentHash, ParseTimestamp,
// FormatMillis): the capture (internal/export) and the diff of old exports
// (internal/diff) both reduce messages through them, so the two agree
// without one verb importing the other.
//
// The package is pure data and pure functions: no I/O.
package genesys
