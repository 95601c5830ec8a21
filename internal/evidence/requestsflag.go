package evidence

import (
	"fmt"
	"strconv"
)

// RequestsFlag is a backend's --…-requests flag, the figure its stores
// give as their Parallelism: a whole number, 1 or more, refused at parse
// time otherwise (a usage error, not a failure halfway). With Auto, the
// word "auto" is taken too, as 0 (the backend then chooses), and is how
// 0 is shown.
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
	if err != nil || n < 1 {
		if f.Auto {
			return fmt.Errorf("want auto or a whole number, 1 or more, not %q", s)
		}
		return fmt.Errorf("want a whole number, 1 or more, not %q", s)
	}
	*f.N = n
	return nil
}
