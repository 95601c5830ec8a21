//go:build race

package main

// raceEnabled: the race detector multiplies memory use, so tests that
// measure a child's peak RSS skip.
const raceEnabled = true
