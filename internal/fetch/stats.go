package fetch

import (
	"sync"
	"sync/atomic"
)

// counters are the atomic counts of one route, or of all.
type counters struct {
	requests, rateLimited, retries, failures atomic.Int64
}

// stats holds a Client's counters; byRoute maps a route to *counters.
type stats struct {
	total   counters
	reauths atomic.Int64
	// secretEchoes counts 2xx bodies that held a credential.
	secretEchoes atomic.Int64
	bytes        atomic.Int64
	byRoute      sync.Map
}

func (s *stats) endpoint(route string) *counters {
	if v, ok := s.byRoute.Load(route); ok {
		return v.(*counters)
	}
	v, _ := s.byRoute.LoadOrStore(route, new(counters))
	return v.(*counters)
}
