package sim

import (
	"time"
)

// PagingFaults make analytics job results page as Genesys's do at scale,
// where a client that assumes every page is full, every cursor lives for
// ever and every job stays until it is read through loses conversations.
type PagingFaults struct {
	// ShortPages is the share of non-final result pages cut short: fewer
	// conversations than pageSize, yet a cursor to the rest.
	ShortPages float64
	// ExpireCursorAt makes the Nth results request (server-wide, counting
	// from 1) that carries a cursor find it expired: a 400, as if the
	// client had paged too slowly. 0: never.
	ExpireCursorAt int
	// ExpireJobAt makes the Nth results request (server-wide, counting from
	// 1) find its job EXPIRED, as one whose results outlived their TTL
	// while the client paged. 0: never.
	ExpireJobAt int
}

// pagingState counts results requests for PagingFaults.
type pagingState struct {
	results, cursors int
}

// pagingFault decides, for one results request, whether its cursor or its
// job expires now (under s.mu).
func (s *Server) pagingFault(j *analyticsJob, withCursor bool) (cursorExpired, jobExpired bool) {
	pf := s.opts.Paging
	s.paging.results++
	if withCursor {
		s.paging.cursors++
		cursorExpired = pf.ExpireCursorAt > 0 && s.paging.cursors == pf.ExpireCursorAt
	}
	if pf.ExpireJobAt > 0 && s.paging.results == pf.ExpireJobAt {
		j.expired = true
	}
	return cursorExpired, j.expired
}

// shortPage returns how many conversations the page at pos of job j
// holds when ShortPages cuts it (1 to size-1), or size.
func (s *Server) shortPage(j *analyticsJob, pos, size int) int {
	if s.opts.Paging.ShortPages <= 0 || size < 2 {
		return size
	}
	h := hash(s.seed, tagJob, hashString(j.id), uint64(pos), 0x5107)
	if float64(h%1_000_000)/1_000_000 >= s.opts.Paging.ShortPages {
		return size
	}
	return 1 + int((h>>20)%uint64(size-1))
}

// availableUntil is the job's dataAvailabilityDate: its creation, or
// Options.DataAvailableUntil when earlier (analytics lagging behind).
func (s *Server) availableUntil(j *analyticsJob) time.Time {
	if t := s.opts.DataAvailableUntil; !t.IsZero() && t.Before(j.created) {
		return t
	}
	return j.created
}
