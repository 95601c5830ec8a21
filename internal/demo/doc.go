// Package demo runs custody's whole flow against the built-in simulator,
// with no account and no setup: a simulated Genesys org (some
// conversations on legal hold, faults on), an export into a fresh ledger
// and evidence folder, a damaged Recording API bulk export produced by the
// simulator, a diff of it, a refetch of the gaps, a second diff, and a
// verification of everything. It tells the story as it goes.
package demo
