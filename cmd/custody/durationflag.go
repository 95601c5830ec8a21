package main

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// daysDuration is the value of a duration flag a user would give in days
// (a retention, a url's life): whole days ("90d") as well as a Go duration
// ("2160h"). Go's durations stop at hours, so "90d" was a usage error.
type daysDuration struct{ p *time.Duration }

// daysDurationVar declares such a flag, as fs.DurationVar does a plain one.
func daysDurationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(daysDuration{p}, name, usage)
}

func (d daysDuration) Type() string { return "duration" }

// String is Go's form, but "0" for none: pflag then shows no default for
// a zero one, as for its own duration flags (it knows only their "0s").
func (d daysDuration) String() string {
	if *d.p == 0 {
		return "0"
	}
	return d.p.String()
}

func (d daysDuration) Set(s string) error {
	v, err := parseDaysDuration(s)
	if err != nil {
		return err
	}
	*d.p = v
	return nil
}

// errDaysDuration is what pflag prints after `invalid argument "X" for
// "--NAME" flag: `.
var errDaysDuration = errors.New("want whole days such as 90d, or a Go duration such as 2160h or 90m")

// errDaysTooLarge is a value of the right form past what a duration holds.
var errDaysTooLarge = errors.New("too large: at most 106751d (2562047h)")

// durationForm is a Go duration's spelling, whatever its size.
var durationForm = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// parseDaysDuration reads "Nd" as N days, anything else as a Go
// duration. The sign is left to each flag's own check, as for a Go
// duration.
func parseDaysDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		const day = int64(24 * time.Hour)
		days, err := strconv.ParseInt(n, 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange), err == nil && (days > math.MaxInt64/day || days < math.MinInt64/day):
			return 0, errDaysTooLarge
		case err != nil:
			return 0, errDaysDuration
		}
		return time.Duration(days * day), nil
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil && strings.Contains(err.Error(), "invalid duration") && durationForm.MatchString(s):
		return 0, errDaysTooLarge // of the right form, past what a duration holds
	case err != nil:
		return 0, errDaysDuration
	}
	return v, nil
}
