//go:build race

package leaf

// raceEnabled: under the race detector sync.Pool drops what it is given
// at random, so allocation counts mean nothing (the tests that count
// skip; make test runs them again without it).
const raceEnabled = true
