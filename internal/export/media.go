package export

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/leaf"
)

// fetchMedia downloads the message's attachments and then its template
// header media (derive.Media: a WhatsApp template's image, video or
// document header is media of the message like an attachment, and goes
// the same way; "attachment" below means either), without the bearer
// token (fetch.Client.Download sends it only to the API host), checks
// each against the sha256 the API states, and keeps the bytes as
// evidence. An url that expired before its message is 30 days old (its
// own life ended first) is renewed once by reading the message again;
// after those 30 days, when the messages API's urls stop working, the
// attachment is taken from the conversation's recording, which the
// Recordings service keeps (recordingCopies). An attachment that cannot
// be had for good — still expired, one the media host refuses, one over
// the size limit — is recorded as such in its MediaRef, never skipped;
// bytes that differ from the stated sha256 are kept but marked
// leaf.MediaSHA256Mismatch. Only transient failures (network, 5xx after
// retries, a recording not ready) and evidence errors fail the
// conversation.
func (r *runner) fetchMedia(ctx context.Context, convID string, rec *recordingCopies, st *staged, m *captured) error {
	var fresh map[string]string // attachment id → url from the message read again; nil until needed
	for _, a := range derive.Media(&m.data) {
		resp, err := r.d.Client.Download(ctx, a.URL)
		var none string // why the Recordings service gave no copy, for the reason
		switch {
		case err == nil || !isExpired(err):
		case r.mayRenew(m):
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
		default:
			// Past the messages API's 30 days: the Recordings service
			// keeps the conversation's attachments.
			u, rerr := rec.url(ctx, r, convID, m.id, a.ID)
			if rerr != nil {
				return fmt.Errorf("attachment %s: its url expired, and asking the Recordings service for its copy failed: %w", a.ID, rerr)
			}
			switch {
			case u != "":
				resp, err = r.d.Client.Download(ctx, u)
			case rec.none != "":
				none = rec.none
			default:
				none = "the conversation's recording names no copy of it"
			}
		}
		if err != nil {
			status, reason, ok := mediaFailure(err)
			if !ok || ctx.Err() != nil {
				return fmt.Errorf("attachment %s: %w", a.ID, err)
			}
			if none != "" {
				reason = truncate(reason+"; "+none, 300)
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

// isExpired tells whether a failed download is an expired url.
func isExpired(err error) bool {
	status, _, ok := mediaFailure(err)
	return ok && status == leaf.MediaExpired
}

// mayRenew tells whether the messages API still serves m's attachments:
// m is less than genesys.AttachmentServedFor old (or its time unreadable,
// which one read settles), so a fresh url may work where an expired one
// did not.
func (r *runner) mayRenew(m *captured) bool {
	t, perr := time.Parse(time.RFC3339Nano, m.data.Timestamp)
	return perr != nil || r.o.Now().Before(t.Add(genesys.AttachmentServedFor))
}

// recordingCopies are a conversation's attachment urls from the
// Recordings service, asked for once, when an attachment the messages API
// no longer serves is first met. The bytes downloaded through them are
// checked against the sha256 the captured message states, like any.
type recordingCopies struct {
	loaded bool
	urls   map[[2]string]string // {message id, attachment id} → url
	none   string               // why there are none: said in the reasons of the attachments it leaves expired
}

// url returns the Recordings service's url of attachment attID of message
// msgID ("" when it has none, rc.none saying why). A 403 (the OAuth client
// lacks recording:recording:view) or 404 (no recording) is an answer; any
// other failure is an error, and the conversation is tried again.
func (rc *recordingCopies) url(ctx context.Context, r *runner, convID, msgID, attID string) (string, error) {
	if !rc.loaded {
		if r.noRecordings.Load() {
			rc.loaded, rc.none = true, "no copy asked of the Recordings service: it refused this run's first request (403)"
			return "", nil
		}
		recs, _, err := r.d.Client.ConversationRecordings(ctx, convID)
		switch {
		case errors.Is(err, fetch.ErrForbidden):
			r.noRecordings.Store(true)
			rc.none = "the Recordings service refused its copy (403: the OAuth client needs recording:recording:view)"
		case errors.Is(err, fetch.ErrNotFound):
			rc.none = "the Recordings service has no recording of the conversation (404)"
		case err != nil:
			return "", err
		}
		rc.loaded, rc.urls = true, map[[2]string]string{}
		for _, rec := range recs {
			for _, rm := range rec.MessagingTranscript {
				for _, a := range rm.MessageMediaAttachments {
					if a.URL != "" {
						rc.urls[[2]string{rm.ID, a.ID}] = a.URL
					}
				}
				// Stickers, in a list of their own beside the media
				// (model Messagestickerattachment): attachments alike.
				for _, a := range rm.MessageStickerAttachments {
					if k := [2]string{rm.ID, a.ID}; a.URL != "" && rc.urls[k] == "" {
						rc.urls[k] = a.URL
					}
				}
				// A template's header media, where the transcript keeps
				// it: where it does not, the media stays expired.
				if t := rm.NotificationTemplate; t != nil && t.Header != nil && t.Header.Media != nil && t.Header.Media.URL != "" {
					if k := [2]string{rm.ID, t.Header.Media.ID}; rc.urls[k] == "" {
						rc.urls[k] = t.Header.Media.URL
					}
				}
			}
		}
		if err == nil {
			r.o.Log.Info("attachments past the messages API's 30 days: the conversation's recording read for its copies", "conversation", convID, "attachments", len(rc.urls))
		}
	}
	return rc.urls[[2]string{msgID, attID}], nil
}

// freshURLs reads message id of conversation convID again and returns its
// attachments' and template header media's urls by id (empty, not nil,
// when it has none).
// Only the urls are taken from it: the message captured is the one first
// read, and the bytes are checked against the sha256 that one states.
func (r *runner) freshURLs(ctx context.Context, convID, id string) (map[string]string, error) {
	md, _, err := r.d.Client.GetMessage(ctx, convID, id)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for _, a := range derive.Media(md) {
		if urls[a.ID] == "" {
			urls[a.ID] = a.URL
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
