package sim

import (
	"net/http"
	"slices"
)

// LimitsRoute is the org limits endpoint the simulator serves.
const LimitsRoute = "GET /api/v2/organizations/limits/namespaces/{namespaceName}"

// Limit keys of the platform.api namespace (Genesys's limits docs): per
// client-credentials token, per token, per org, app (OAuth client) and user.
const (
	LimitClientCredentialsToken = "client.credentials.token.rate.per.minute"
	LimitToken                  = "token.rate.per.minute"
	LimitOrgAppUser             = "org.app.user.rate.per.minute"
	limitsNamespace             = "platform.api"
)

// limitNamespaces are the namespaces a limits request may name (the
// Limit.namespace enum of the SDKs, abridged to the ones custody meets);
// others are a 404 as an unknown resource.
var limitNamespaces = []string{"platform.api", "analytics", "analytics.data.extraction", "audit", "conversation", "messaging", "recording", "authorization", "system"}

// limitEntry is the SDK's Limit.
type limitEntry struct {
	Key       string `json:"key"`
	Namespace string `json:"namespace"`
	Value     int    `json:"value"`
}

// limitsListing is the SDK's LimitsEntityListing.
type limitsListing struct {
	Entities []limitEntry `json:"entities"`
}

// getLimits is GET /api/v2/organizations/limits/namespaces/{namespaceName}:
// the org's effective limits, the ones this simulator enforces. With
// Options.LimitsForbidden it answers 403, as Genesys does to a client
// without limits:organization:view.
func (s *Server) getLimits(w *resp, r *http.Request) {
	if s.opts.LimitsForbidden {
		w.error(http.StatusForbidden, "missing.any.permissions", "Unable to perform the requested action. You must have at least one of the following permissions assigned: [limits:organization:view]")
		return
	}
	ns := r.PathValue("namespaceName")
	if !slices.Contains(limitNamespaces, ns) {
		w.notFound("limits namespace")
		return
	}
	out := limitsListing{Entities: []limitEntry{}}
	if ns == limitsNamespace {
		if s.opts.RateLimit > 0 {
			out.Entities = append(out.Entities,
				limitEntry{Key: LimitClientCredentialsToken, Namespace: ns, Value: s.opts.RateLimit},
				limitEntry{Key: LimitToken, Namespace: ns, Value: s.opts.RateLimit})
		}
		if s.opts.ClientRateLimit > 0 {
			out.Entities = append(out.Entities, limitEntry{Key: LimitOrgAppUser, Namespace: ns, Value: s.opts.ClientRateLimit})
		}
	}
	w.json(http.StatusOK, out)
}
