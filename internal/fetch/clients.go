package fetch

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Credentials are one OAuth client's id and secret.
type Credentials struct {
	ID, Secret string
}

// checkClients refuses extra clients that are incomplete or repeated: two
// lanes on one client would share its limit while pacing as if apart.
func checkClients(cfg Config) error {
	seen := map[string]bool{cfg.ClientID: cfg.ClientID != ""}
	for i, cr := range cfg.Clients {
		if cr.ID == "" || cr.Secret == "" {
			return fmt.Errorf("fetch: config: %w: client %d: id and secret must both be given", ErrNoCredentials, i+2)
		}
		if !usableToken(cr.ID) || !usableToken(cr.Secret) {
			return fmt.Errorf("fetch: config: %w: client %d: the id or secret holds spaces or control characters", ErrInvalidArgument, i+2)
		}
		if seen[cr.ID] {
			return fmt.Errorf("fetch: config: %w: client %s is given twice (each client has one budget; repeat it and it would be overrun)", ErrInvalidArgument, shortID(cr.ID))
		}
		seen[cr.ID] = true
	}
	if len(cfg.Clients) > 0 && cfg.ClientID == "" {
		return fmt.Errorf("fetch: config: %w: several clients need client credentials for the first one too (an access token cannot be renewed)", ErrNoCredentials)
	}
	return nil
}

// shortID is a client id cut for logs: enough to tell clients apart.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// acquire waits for a request slot on route with the client that can send
// soonest: the work is shared between the clients, each within its own
// budget. With one client it is that client's pacer.
func (c *Client) acquire(ctx context.Context, route string) (*lane, error) {
	if len(c.lanes) == 1 {
		ln := c.lanes[0]
		return ln, ln.pacer.wait(ctx, route)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.pickMu.Lock()
	var best *lane
	bestD := time.Duration(math.MaxInt64)
	for _, ln := range c.lanes {
		if d := ln.pacer.delay(route); d < bestD {
			best, bestD = ln, d
		}
	}
	if best == nil {
		c.pickMu.Unlock()
		// Every client is stopped by a daily limit: report the first.
		return c.lanes[0], c.lanes[0].pacer.waitGate(ctx)
	}
	rs, epoch := best.pacer.reserve(route)
	c.pickMu.Unlock()
	return best, best.pacer.finish(ctx, route, rs, epoch)
}

// anyLaneLeft reports whether some client is not stopped by a daily limit.
func (c *Client) anyLaneLeft(now time.Time) bool {
	for _, ln := range c.lanes {
		ln.pacer.mu.Lock()
		stopped := now.Before(ln.pacer.stopUntil)
		ln.pacer.mu.Unlock()
		if !stopped {
			return true
		}
	}
	return false
}

// Clients returns how many OAuth clients share the work.
func (c *Client) Clients() int { return len(c.lanes) }

// ClientIDs returns the OAuth client ids the client sends as (never a
// secret), in configuration order; empty with only an access token.
func (c *Client) ClientIDs() []string {
	var ids []string
	for _, l := range c.lanes {
		if l.id != "" {
			ids = append(ids, l.id)
		}
	}
	return ids
}
