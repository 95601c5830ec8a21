package export

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// fetchMedia downloads the message's attachments (without the bearer
// token: fetch.Client.Download sends it only to the API host), checks
// each against the sha256 the API states, and keeps the bytes as
// evidence. An url that expired before its message is 30 days old (its
// own life ended first) is renewed once by reading the message again. An
// attachment that cannot be had for good — an expired url (Genesys's stop
// working 30 days after the message), one the media host
// refuses, one over the size limit — is recorded as such in its MediaRef,
// never skipped; bytes that differ from the stated sha256 are kept but
// marked leaf.MediaSHA256Mismatch. Only transient failures (network, 5xx
// after retries) and evidence errors fail the conversation.
func (r *runner) fetchMedia(ctx context.Context, convID string, st *staged, m *captured) error {
	n := m.data.NormalizedMessage
	if n == nil {
		return nil
	}
	var fresh map[string]string // attachment id → url from the message read again; nil until needed
	for _, c := range n.Content {
		a := c.Attachment
		if a == nil || a.URL == "" {
			continue
		}
		resp, err := r.d.Client.Download(ctx, a.URL)
		if err != nil && r.mayRenew(err, m) {
			// The url lapsed while the attachment is still served: one
			// more read of the message (once for all its attachments)
			// hands out fresh urls.
			if fresh == nil {
				var rerr error
				if fresh, rerr = r.freshURLs(ctx, convID, m.id); rerr != nil {
					return fmt.Errorf("attachment %s: its url expired, and reading the message again for a fresh one failed: %w", a.ID, rerr)
				}
			}
			if u := fresh[a.ID]; u != "" {
				resp, err = r.d.Client.Download(ctx, u)
			} // else the message no longer names it: recorded as expired below
		}
		if err != nil {
			status, reason, ok := mediaFailure(err)
			if !ok || ctx.Err() != nil {
				return fmt.Errorf("attachment %s: %w", a.ID, err)
			}
			m.media = append(m.media, leaf.MediaRef{ID: a.ID, Status: status, Reason: reason})
			m.mediaEv = append(m.mediaEv, -1)
			continue
		}
		got := fetch.SHA256Hex(resp.Body)
		// Evidence is filled in once the staged bytes are stored.
		ev := st.add(resp.Body)
		if err := r.flushOver(ctx, st); err != nil {
			return err
		}
		mr := leaf.MediaRef{ID: a.ID, SHA256: got}
		if a.Sha256 != "" {
			if err := fetch.CheckSHA256(resp.Body, a.Sha256); err != nil {
				mr.Status, mr.StatedSHA256 = leaf.MediaSHA256Mismatch, truncate(a.Sha256, 100)
				mr.Reason = "the downloaded bytes do not have the sha256 the API states"
				if errors.Is(err, fetch.ErrInvalidArgument) {
					mr.Reason = "the API states a sha256 that is neither hex nor base64 of 32 bytes"
				}
			}
		}
		m.media = append(m.media, mr)
		m.mediaEv = append(m.mediaEv, ev)
	}
	return nil
}

// mayRenew tells whether a failed download is an expired url of an
// attachment Genesys still serves: its message is less than
// genesys.AttachmentServedFor old (or its time unreadable, which one read
// settles), so a fresh url may work where the one in hand lapsed.
func (r *runner) mayRenew(err error, m *captured) bool {
	if status, _, ok := mediaFailure(err); !ok || status != leaf.MediaExpired {
		return false
	}
	t, perr := time.Parse(time.RFC3339Nano, m.data.Timestamp)
	return perr != nil || r.o.Now().Before(t.Add(genesys.AttachmentServedFor))
}

// freshURLs reads message id of conversation convID again and returns its
// attachments' urls by attachment id (empty, not nil, when it has none).
// Only the urls are taken from it: the message captured is the one first
// read, and the bytes are checked against the sha256 that one states.
func (r *runner) freshURLs(ctx context.Context, convID, id string) (map[string]string, error) {
	md, _, err := r.d.Client.GetMessage(ctx, convID, id)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	if n := md.NormalizedMessage; n != nil {
		for _, c := range n.Content {
			if a := c.Attachment; a != nil && a.URL != "" {
				urls[a.ID] = a.URL
			}
		}
	}
	r.o.Log.Info("attachment url expired: message read again for fresh urls", "conversation", convID, "message", id)
	return urls, nil
}

// mediaFailure classifies a download error that is a property of the url
// rather than of the moment: the status and reason to record, ok false
// for errors that may pass (the conversation fails and is retried).
// Reasons name the url's path only, never its query (the signature).
func mediaFailure(err error) (status, reason string, ok bool) {
	var ae *fetch.APIError
	switch {
	case errors.Is(err, fetch.ErrTooLarge):
		return leaf.MediaTooLarge, "bigger than the attachment size limit (--max-attachment-bytes, 128 MiB by default)", true
	case errors.Is(err, fetch.ErrInvalidArgument):
		return leaf.MediaRefused, "unusable url: want http(s) without user info", true
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusRequestTimeout:
		reason = fmt.Sprintf("%d %s", ae.Status, http.StatusText(ae.Status))
		if ae.Body.Code != "" {
			reason += ": " + ae.Body.Code
		}
		if ae.Body.Message != "" {
			reason += ": " + ae.Body.Message
		}
		reason = truncate(reason, 300)
		if ae.Status == http.StatusForbidden || ae.Status == http.StatusGone {
			if low := strings.ToLower(ae.Body.Code + " " + ae.Body.Message); strings.Contains(low, "expired") || ae.Status == http.StatusGone {
				return leaf.MediaExpired, reason, true
			}
		}
		return leaf.MediaRefused, reason, true
	}
	return "", "", false
}
