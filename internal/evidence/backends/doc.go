// Package backends is the table of evidence store backends custody is
// built with: one line per backend. It is the only package that imports
// them all, so that internal/evidence (the contract) imports none of them
// and each backend imports only the contract.
//
// Adding a backend: write internal/evidence/NAME (a type implementing
// evidence.Backend, and a test running internal/evidence/storetest against
// it), add one line to New, and describe its scheme and flags in
// docs/evidence.md.
package backends
