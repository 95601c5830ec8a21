package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
)

// RouteOrgLimits reads the org's effective limits in a namespace.
const RouteOrgLimits = "GET /api/v2/organizations/limits/namespaces/{namespaceName}"

// Keys of the platform.api limits that bound a client-credentials export:
// per client-credentials token, per token, and per org, app (OAuth client)
// and user. Each client has one token here, so all three bound one
// client's pace and the tightest wins.
const (
	limitsNamespace             = "platform.api"
	LimitClientCredentialsToken = "client.credentials.token.rate.per.minute"
	LimitToken                  = "token.rate.per.minute"
	LimitOrgAppUser             = "org.app.user.rate.per.minute"
)

// maxSaneLimit bounds a limit value taken from the server: beyond it the
// value is ignored as nonsense rather than trusted to pace by.
const maxSaneLimit = 1e6

// OrgLimits is what ApplyOrgLimits learned and did.
type OrgLimits struct {
	// Read reports whether the limits endpoint answered; Reason says why
	// not (e.g. "403 forbidden") when it did not.
	Read   bool   `json:"read"`
	Reason string `json:"reason,omitempty"`
	// Limits are the rate limits read, by key (requests per minute).
	Limits map[string]float64 `json:"limits,omitempty"`
	// PerClient is the rate each client is now paced under (before the
	// safety margin), and Clients how many share the work.
	PerClient float64 `json:"per_client"`
	Clients   int     `json:"clients"`
}

// ApplyOrgLimits reads the org's effective API limits
// (GET /api/v2/organizations/limits/namespaces/platform.api) and paces
// every client under the tightest that applies to it: the org's value
// replaces the default rate, and an explicit Config.Rate stays a ceiling
// (+Inf: no pacing, nothing is read).
// A refusal (403 without limits:organization:view, 404, a malformed body)
// is not an error: the configured rate stays, and Reason says why. Only
// the caller's ctx ending, no token to be had (ErrNoToken) and an API
// host declared unreachable (ErrAPIUnreachable) — no request can be sent
// at all — are returned as errors.
func (c *Client) ApplyOrgLimits(ctx context.Context) (OrgLimits, error) {
	out := OrgLimits{Clients: len(c.lanes), PerClient: c.cfg.Rate}
	if math.IsInf(c.cfg.Rate, 1) {
		// An unlimited client relies on Retry-After alone, by choice.
		out.Reason = "unlimited rate configured"
		return out, nil
	}
	resp, err := c.do(ctx, c.apiReq(http.MethodGet, RouteOrgLimits, "/api/v2/organizations/limits/namespaces/"+limitsNamespace, nil, nil))
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, ErrNoToken) || errors.Is(err, ErrAPIUnreachable) {
			// No token, or no API host: no request can be sent, this one
			// or any after it.
			return out, err
		}
		var ae *APIError
		switch {
		case errors.As(err, &ae):
			out.Reason = http.StatusText(ae.Status)
			if ae.Status == http.StatusForbidden {
				out.Reason = "forbidden (the OAuth client lacks limits:organization:view)"
			}
		default:
			out.Reason = c.red.Redact(err.Error())
		}
		c.log.Info("fetch: org limits not read, pacing at the configured rate", "reason", out.Reason, "rate_per_min", c.cfg.Rate)
		return out, nil
	}
	var body struct {
		Entities []struct {
			Key       string  `json:"key"`
			Namespace string  `json:"namespace"`
			Value     float64 `json:"value"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		out.Reason = "malformed limits body"
		c.log.Warn("fetch: org limits body malformed, pacing at the configured rate", "correlation_id", resp.CorrelationID)
		return out, nil
	}
	out.Read = true
	out.Limits = map[string]float64{}
	eff := math.Inf(1)
	for _, e := range body.Entities {
		switch e.Key {
		case LimitClientCredentialsToken, LimitToken, LimitOrgAppUser:
		default:
			continue
		}
		if e.Namespace != limitsNamespace || !(e.Value > 0) || e.Value > maxSaneLimit {
			continue
		}
		out.Limits[e.Key] = e.Value
		eff = math.Min(eff, e.Value)
	}
	if math.IsInf(eff, 1) {
		out.Reason = "no rate limit among the org's limits"
		return out, nil
	}
	if c.rateGiven && c.cfg.Rate < eff {
		eff = c.cfg.Rate
	}
	out.PerClient = eff
	for _, ln := range c.lanes {
		ln.pacer.setBudget(eff * (1 - c.cfg.SafetyMargin))
	}
	c.log.Info("fetch: pacing under the org's limits", "rate_per_min_per_client", eff, "clients", len(c.lanes))
	return out, nil
}
