package evidence

import (
	"fmt"
	"strconv"
)

// MaxRequests is the most requests in flight a --…-requests flag takes,
// and the most Parallelism reports: work on many objects starts a worker
// (a goroutine, and for verify a 256 KiB buffer) per request, so a figure
// without a ceiling is memory without one (--folder-requests 100000000
// took 24 GB before it was refused). 256 is four times the S3 default
// and eight times a network share's, past where either gains
// (docs/benchmarks.md).
const MaxRequests = 256

// RequestsFlag is a backend's --…-requests flag, the figure its stores
// give as their Parallelism: a whole number from 1 to MaxRequests,
// refused at parse time otherwise (a usage error, not a failure halfway).
// With Auto, the word "auto" is taken too, as 0 (the backend then
// chooses), and is how 0 is shown.
type RequestsFlag struct {
	N    *int
	Auto bool
}

func (f RequestsFlag) String() string {
	if f.Auto && *f.N == 0 {
		return "auto"
	}
	return strconv.Itoa(*f.N)
}

func (f RequestsFlag) Type() string {
	if f.Auto {
		return "auto|N"
	}
	return "int"
}

func (f RequestsFlag) Set(s string) error {
	if f.Auto && s == "auto" {
		*f.N = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxRequests {
		if f.Auto {
			return fmt.Errorf("want auto or a whole number, 1 to %d, not %q", MaxRequests, s)
		}
		return fmt.Errorf("want a whole number, 1 to %d, not %q", MaxRequests, s)
	}
	*f.N = n
	return nil
}
