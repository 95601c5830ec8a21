// Package sim is a Genesys Cloud simulator: a seeded, generated org served
// over the subset of the Platform API v2 custody uses, on loopback.
//
// The generator (Org, NewOrg, ConvData) builds WhatsApp and other
// conversations lazily from (seed, index), so 100,000 conversations cost a
// few megabytes. The server (Start, Server) serves them on separate login,
// API and media listeners, with OAuth client credentials, per-token rate
// limits with the real 429 body and Retry-After (and, like Genesys since
// 2021, no rate-limit headers), analytics jobs, the message and
// conversation endpoints, recording deletion protection (legal hold), audit
// queries and recording bulk jobs, and injects reproducible faults. docs/sim.md documents what is faithful
// to Genesys and what is a setting.
//
// The package owns the simulated API; it never imports the code that
// writes recording exports (internal/sim/recexport): a RecordingExporter is
// handed in through Options.
package sim
