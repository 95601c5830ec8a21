//go:build !race

package leaf

const raceEnabled = false
