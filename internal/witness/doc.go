// Package witness is a small transparency-log witness for custody
// ledgers: it keeps the latest checkpoint it cosigned per log origin,
// accepts a new one only with a valid RFC 6962 consistency proof from
// it (refusing a fork — the same size with another root — a rollback,
// and a bad proof), and returns a C2SP tlog-cosignature (cosignature/v1,
// Ed25519) over it.
//
// The wire format is C2SP tlog-witness's add-checkpoint: the request body
// is "old <size>\n", up to 63 base64 proof lines, an empty line and the
// signed checkpoint; the answer is the cosignature lines (200), or 400,
// 403, 404, 409 (with the witness's size, text/x.tlog.size) or 422.
// Handler serves it, Client.AddCheckpoint asks it, Witness.Add is the
// logic both the server and the offline 'custody witness cosign' use.
package witness
