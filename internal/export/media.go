package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// evidence. What is done with an url the media host refuses (any 4xx but
// 408 and 429, whatever its body says: notServed) rests on the message's age,
// never on the host's words: before the message is 30 days old the url
// is renewed once by reading the message again, and if the fresh url is
// refused too (or none is given) the attachment is asked of the
// Recordings service, which keeps the conversation's attachments
// (recordingCopies); after those 30 days, when the messages API's urls
// stop working, it is asked of the Recordings service at once. One the
// messages API names without a url (derive.MediaWithoutURL) is asked of the
// Recordings service too, whatever its age. An attachment that cannot be
// had — still refused, no copy, one over the size limit, a body not of
// the stated size or a page in its place when no sha256 is stated
// (expectOf) — is recorded as such in its MediaRef, never skipped;
// bytes that differ from the stated sha256 are kept but marked
// leaf.MediaSHA256Mismatch, and bytes nothing was stated of are kept,
// said not checked (mediaUnchecked). Only transient failures (network, 5xx after
// retries, a recording not ready) and evidence errors fail the
// conversation.
func (r *runner) fetchMedia(ctx context.Context, convID string, rec *recordingCopies, st *staged, m *captured) error {
	return r.fetchMediaKeeping(ctx, convID, rec, st, m, nil, nil)
}

// mediaOf is the media of md an export records in the detail's media, in
// that order: derive.Media (those with a url), then derive.MediaWithoutURL
// (only the Recordings service may give them).
func mediaOf(md *genesys.MessageData) []*genesys.ContentAttachment {
	return append(derive.Media(md), derive.MediaWithoutURL(md)...)
}

// errNoURL is the failure of an attachment the messages API names
// without a url, when the Recordings service gave no copy of it either.
var errNoURL = errors.New("the messages API gave no url for it")

// fetchMediaKeeping is fetchMedia but for the attachments in keep (by id),
// whose MediaRef, as an earlier capture recorded it, is taken as it is,
// nothing downloaded, and those in unlessGood, downloaded again but
// whose earlier MediaRef (bytes kept as sha256_mismatch) is taken, and
// nothing staged, unless the bytes now are good (mediaAgain).
func (r *runner) fetchMediaKeeping(ctx context.Context, convID string, rec *recordingCopies, st *staged, m *captured, keep, unlessGood map[string]leaf.MediaRef) error {
	var fresh map[string]string // attachment id → url from the message read again; nil until needed
	for _, a := range mediaOf(&m.data) {
		if mr, ok := keep[a.ID]; ok {
			m.media = append(m.media, mr)
			m.mediaEv = append(m.mediaEv, -1)
			continue
		}
		var resp *fetch.Response
		err := errNoURL
		want := expectOf(a)
		// mismatched is the last body not of the stated sha256 (after the
		// attempts fetch allows), kept as what was served when nothing
		// better is had: sha256_mismatch, for a later run to try again.
		var mismatched []byte
		download := func(u string) (*fetch.Response, error) {
			resp, err := r.d.Client.DownloadChecked(ctx, u, want)
			var be *fetch.BodyError
			if errors.As(err, &be) && errors.Is(err, fetch.ErrDigestMismatch) {
				mismatched = be.Body
			}
			return resp, err
		}
		if a.URL != "" {
			resp, err = download(a.URL)
		} else {
			r.o.Log.Warn("export: the messages API gave no url for an attachment: asking the Recordings service for it",
				"conversation", convID, "message", m.id, "attachment", a.ID)
		}
		var none string    // why the Recordings service gave no copy, for the reason
		var matched string // how a copy whose ids differ was taken, for the reason (recordingsMatchedByName)
		lapsed := false    // err is the message's own url refused past the served window
		served := r.mayRenew(m)
		if err != nil && notServed(err) && served {
			// Refused while the messages API still serves the attachment:
			// however the storage host words it (a lapsed signature, an
			// object moved), one more read of the message (once for all
			// its attachments) hands out fresh urls.
			if fresh == nil {
				var rerr error
				if fresh, rerr = r.freshURLs(ctx, convID, m.id); rerr != nil {
					return fmt.Errorf("attachment %s: its url was refused, and reading the message again for a fresh one failed: %w", a.ID, rerr)
				}
			}
			if u := fresh[a.ID]; u != "" {
				resp, err = download(u)
			}
		}
		if err != nil && (notServed(err) || a.URL == "" || !served && copyMayServe(err)) {
			// Past the messages API's 30 days (or within them, the fresh
			// url refused too, or none given; or the message named no
			// url): the Recordings service keeps the conversation's
			// attachments. The storage host's words are not relied on:
			// Genesys documents none, and S3 or CloudFront say "Access
			// Denied", 400 ExpiredToken, 404 NoSuchKey or nothing. Past
			// the 30 days its copy is asked for whatever kept the url's
			// bytes from being had, so that the reason recorded always
			// says what the Recordings service answered (retryRule).
			lapsed = !served && a.URL != "" && expiry(err)
			urls, byName, rerr := rec.copies(ctx, r, convID, m.id, a)
			switch {
			case rerr != nil && (!served || ctx.Err() != nil):
				return fmt.Errorf("attachment %s: its url was refused, and asking the Recordings service for its copy failed: %w", a.ID, rerr)
			case rerr != nil:
				// Within the 30 days a rerun tries it again anyway
				// (retryRule): the failure is said, not fatal.
				none = truncate("asking the Recordings service for its copy failed: "+rerr.Error(), 200)
			case len(urls) > 1:
				// Copies alike by what they state (the same file sent
				// twice): the one whose bytes have the stated sha256, or
				// none.
				var got *fetch.Response
				got, none, rerr = r.copyAmong(ctx, rec, urls, a, want)
				switch {
				case rerr != nil:
					return fmt.Errorf("attachment %s: its url was refused, and downloading the copies of the Recordings service it may be failed: %w", a.ID, rerr)
				case got != nil:
					lapsed, resp, err = false, got, nil
					matched = fmt.Sprintf("%s, of %d alike told apart by its sha256", recordingsMatchedByName, len(urls))
				}
			case len(urls) == 1:
				lapsed = false
				before := mismatched
				resp, err = download(urls[0])
				if byName {
					// Bytes not of the stated sha256 from a copy taken by
					// its name may be another file's: not kept as this
					// one's (a later run downloads it again).
					matched, mismatched = recordingsMatchedByName, before
				}
				switch {
				case isBodyError(err):
					// What it served is said (servedNote): served the very
					// same by a later run, it is not asked again
					// (settledAgain), where each run would download it for
					// ever (commit review 4, M1).
					none = recordingsCopyNotGood + ": " + servedNote([][]byte{bodyOf(err)})
				case err != nil:
					// Its copy's url refused too (one signed an hour,
					// read just now), or asked to wait: a later run,
					// asking the Recordings service again, may well get
					// it (retryRule).
					lapsed, none = !served && expiry(err), recordingsCopyRefused
				}
			case rec.none != "":
				none = rec.none
			default:
				none = recordingsNoCopyMatched
			}
		}
		if _, _, final := mediaFailure(err); err != nil && final && mismatched != nil && ctx.Err() == nil {
			resp, err = &fetch.Response{Body: mismatched}, nil // marked below
		}
		if err != nil {
			status, reason, ok := mediaFailure(err)
			if !ok || ctx.Err() != nil {
				return fmt.Errorf("attachment %s: %w", a.ID, err)
			}
			if mr, ok := unlessGood[a.ID]; ok {
				m.media = append(m.media, mr)
				m.mediaEv = append(m.mediaEv, -1)
				continue
			}
			if lapsed {
				// The messages API no longer serves it: a refusal of its
				// url (or its copy's) as a lapsed or removed url is
				// refused is its expiry, however the host words it.
				status = leaf.MediaExpired
			}
			if matched != "" {
				none = strings.TrimPrefix(none+" ("+matched+")", " ")
			}
			if none != "" {
				// The Recordings service's answer is kept whole:
				// retryRule reads it.
				reason = withAnswer(reason, none)
			}
			m.media = append(m.media, leaf.MediaRef{ID: a.ID, Status: status, Reason: reason})
			m.mediaEv = append(m.mediaEv, -1)
			continue
		}
		mr := leaf.MediaRef{ID: a.ID, SHA256: fetch.SHA256Hex(resp.Body)}
		if a.Sha256 == "" && a.ContentSizeBytes <= 0 {
			mr.Reason = mediaUnchecked
		}
		if a.Sha256 != "" {
			if err := fetch.CheckSHA256(resp.Body, a.Sha256); err != nil {
				mr.Status, mr.StatedSHA256 = leaf.MediaSHA256Mismatch, truncate(a.Sha256, 100)
				mr.Reason = "the downloaded bytes do not have the sha256 the API states"
				if errors.Is(err, fetch.ErrInvalidArgument) {
					mr.Reason = mediaSHA256Unreadable
				}
			}
		}
		if prev, ok := unlessGood[a.ID]; ok && mr.Status != "" {
			if mr.Status != leaf.MediaSHA256Mismatch || mr.SHA256 != prev.SHA256 {
				m.media = append(m.media, prev)
				m.mediaEv = append(m.mediaEv, -1)
				continue
			}
			// The very bytes kept before, served again by another run:
			// not a cut in transit but what the host serves for it.
			// Recorded so, and not downloaded again (retryRule).
			mr.Reason = mediaMismatchAgain
		}
		if matched != "" {
			// An inference, not an identity: the evidence says so.
			mr.Reason = strings.TrimPrefix(mr.Reason+"; "+matched, "; ")
		}
		// Evidence is filled in once the staged bytes are stored.
		ev := st.add(resp.Body)
		if err := r.flushOver(ctx, st); err != nil {
			return err
		}
		m.media = append(m.media, mr)
		m.mediaEv = append(m.mediaEv, ev)
	}
	return nil
}

// mediaSHA256Unreadable is the reason of bytes kept as sha256_mismatch
// because the stated sha256 reads as no digest: no bytes can match it,
// so they are not downloaded again (retryRule).
const mediaSHA256Unreadable = "the API states a sha256 that is neither hex nor base64 of 32 bytes"

// mediaMismatchAgain is the reason of bytes kept as sha256_mismatch that
// a later run downloaded again and got the same (the same digest): the
// host serves them for it every time, so they are not downloaded again
// (retryRule), where a cut in transit would have come whole.
const mediaMismatchAgain = "the downloaded bytes do not have the sha256 the API states, and a later run was served the very same bytes again: not downloaded again"

// mediaUnchecked is the reason of an attachment kept with nothing to
// check its bytes against: the API stated neither its sha256 nor its
// size (both optional in the model). Its status stays empty (the bytes
// are what the host served, and may well be it), but it is not said to
// be checked.
const mediaUnchecked = "not checked: the API states neither a sha256 nor a size for it"

// expectOf is what the API states of a, which a download of it is
// checked against: its sha256, or when it states none its size and type
// (fetch.Expect); the size bounds the download's time too.
func expectOf(a *genesys.ContentAttachment) fetch.Expect {
	return fetch.Expect{SHA256: a.Sha256, Size: int64(max(a.ContentSizeBytes, 0)), Mime: a.Mime}
}

// isBodyError reports whether err is a download whose body was not the
// attachment stated (fetch.BodyError), after the attempts allowed.
func isBodyError(err error) bool {
	var be *fetch.BodyError
	return errors.As(err, &be)
}

// notServed tells whether a failed download is the media host refusing
// the url (any 4xx but 408 and 429, which say "later", whatever the body
// says): the attachment may be had through a fresh url or the Recordings
// service. Genesys does not document how its storage host refuses a
// lapsed url — S3 answers 403 to a pre-signed url past its expiry but
// 400 ExpiredToken to one whose temporary signing credentials expired —
// so the decision rests on the message's age (mayRenew), not on the
// host's status or words.
func notServed(err error) bool {
	var ae *fetch.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusTooManyRequests
}

// expiry tells whether a refusal (notServed) reads as the refusal of a
// lapsed or removed url, which past the messages API's 30 days is the
// attachment's expiry: 403 (S3's "Request has expired" and "Access
// Denied", CloudFront's "Access denied"), 404 (NoSuchKey), 410, or words
// saying expired (S3's 400 ExpiredToken). Another 4xx (400
// InvalidArgument, 401, 405, …) says something else is wrong: the
// attachment is recorded refused, with the status.
func expiry(err error) bool {
	var ae *fetch.APIError
	if !notServed(err) || !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return strings.Contains(strings.ToLower(ae.Body.Code+" "+ae.Body.Message), "expired")
}

// copyMayServe tells whether, past the messages API's 30 days, the
// Recordings service's copy is asked for an attachment whose url's bytes
// could not be had for err: any failure recorded rather than retried
// (mediaFailure) but one over the size limit, which the copy is too.
func copyMayServe(err error) bool {
	_, _, ok := mediaFailure(err)
	return ok && !errors.Is(err, fetch.ErrTooLarge) && !errors.Is(err, errNoURL)
}

// mayRenew tells whether the messages API still serves m's attachments:
// m is less than genesys.AttachmentServedFor old (or its time unreadable,
// which one read settles), so a fresh url may work where an expired one
// did not.
func (r *runner) mayRenew(m *captured) bool {
	t, perr := time.Parse(time.RFC3339Nano, m.data.Timestamp)
	return perr != nil || r.o.Now().Before(t.Add(genesys.AttachmentServedFor))
}

// The reasons an attachment past the messages API's 30 days gives when
// the Recordings service refused its copy (403): a later run asks again
// (retryRule), the permission it lacked may have been granted since.
const (
	recordingsForbidden = "the Recordings service refused its copy (403: the OAuth client needs recording:recording:view)"
	recordingsNotAsked  = "no copy asked of the Recordings service: it refused this run's first request (403)"
	// recordingsCopyRefused: the Recordings service named a copy, but
	// the media host refused its url; a later run is given a new one
	// (but see recordingsCopyRefusedAgain).
	recordingsCopyRefused = "the Recordings service named a copy, but its url was refused too"
	// recordingsCopyNotGood: the Recordings service named a copy, but
	// what its url served was not the attachment (cut short, or a page
	// in its place); a later run downloads it again.
	recordingsCopyNotGood = "the Recordings service named a copy, but what its url served was not the attachment either"
	// recordingsCopiesNoneGood: several copies alike by what they state
	// may be it, and none served bytes of the stated sha256 (one cut
	// short in transit); a later run downloads them again.
	recordingsCopiesNoneGood = "copies in the conversation's recording match it by file name, size and type, but none served bytes of the sha256 the API states"
	// recordingsCopiesTooMany: more copies alike may be it, a sha256
	// being stated, than copyAmong's budget lets it download: none is
	// taken, and a later run asks again (the recording may have
	// changed), until it finds as many copies and runs out of budget
	// again (settledAgain).
	recordingsCopiesTooMany = "more copies in the conversation's recording match it by file name, size and type than are downloaded to find the one of the sha256 the API states: none taken"
)

// recordingsSameAgain ends the reason of an attachment whose copy (or
// copies) a later run found serving the very same bytes (servedNote), or
// as many alike again, too many again (recordingsCopiesTooMany): that is
// the Recordings service's answer for it, not a cut in transit, so it is
// not asked again (retryRule), where each run would download it for
// ever, keeping nothing.
const recordingsSameAgain = "a later run was given the very same again: not asked again"

// servedMark begins a servedNote.
const servedMark = "served sha256 "

// servedNote says, by their sha256, what bodies copies served that were
// not the attachment: one's digest, or of several the digest of their
// digests, sorted (the reason is bounded; only sameness is read, by the
// digest: servedDigest).
func servedNote(bodies [][]byte) string {
	ds := make([]string, len(bodies))
	for i, b := range bodies {
		ds[i] = fetch.SHA256Hex(b)
	}
	return servedNoteOf(ds)
}

// servedNoteOf is servedNote of the bodies whose sha256s (hex) are ds.
func servedNoteOf(ds []string) string {
	if len(ds) == 1 {
		return servedMark + ds[0]
	}
	ds = slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("%s%s of %d sorted sha256s", servedMark, fetch.SHA256Hex([]byte(strings.Join(ds, "\n"))), len(ds))
}

// servedDigest is the digest a servedNote in s says was served, ""
// when s says none.
func servedDigest(s string) string {
	i := strings.Index(s, servedMark)
	if i < 0 || len(s) < i+len(servedMark)+64 {
		return ""
	}
	return s[i+len(servedMark) : i+len(servedMark)+64]
}

// bodyOf is the body a download failing with err received (a BodyError).
func bodyOf(err error) []byte {
	var be *fetch.BodyError
	if errors.As(err, &be) {
		return be.Body
	}
	return nil
}

// againOf are the Recordings answers a later run may find the very same
// (settledAgain): each, and what follows it, is the tail of a reason.
var againOf = []string{recordingsCopyNotGood, recordingsCopiesNoneGood, recordingsCopiesTooMany}

// settledAgain returns reason now, recorded by this run for an attachment
// prev was recorded for by an earlier one, ended with recordingsSameAgain
// when both give the very same answer: what was served, by its digest
// (servedDigest), or as many copies too many (tooManyCopies). The words
// around them may differ (a note worded otherwise by an older custody):
// an answer compared by its whole text would never settle, and every run
// would download it again.
func settledAgain(prev, now string) (string, bool) {
	if strings.Contains(now, recordingsSameAgain) {
		return "", false
	}
	for _, none := range againOf {
		i, j := strings.LastIndex(prev, none), strings.LastIndex(now, none)
		if i < 0 || j < 0 {
			continue
		}
		p, n := prev[i+len(none):], now[j+len(none):]
		if none == recordingsCopiesTooMany {
			p, n = tooManyCopies(p), tooManyCopies(n)
		} else {
			p, n = servedDigest(p), servedDigest(n)
		}
		if p == "" || p != n {
			continue
		}
		return withAnswer(strings.TrimSuffix(now[:j], "; "), now[j:]+"; "+recordingsSameAgain), true
	}
	return "", false
}

// tooManyCopies is how many copies alike a recordingsCopiesTooMany
// answer (s, what follows it) says there were, "(N copies", "" when it
// says none. How many were downloaded is left out: within the time
// budget that rests on the link's speed, and two runs seldom download as
// many, so the answer would never settle and every run would download
// up to copyBudgetBytes again for it (review-commits5 L4).
func tooManyCopies(s string) string {
	n, _, _ := strings.Cut(s, ",")
	if !strings.HasSuffix(n, " copies") {
		return ""
	}
	return n
}

// recordingsMatchedByName is said in the reason of an attachment whose
// copy was taken, not by the ids the two APIs share (Genesys documents
// none), but by the file name, size and type it states: an inference the
// evidence does not present as an identity.
const recordingsMatchedByName = "its copy matched by file name, size and type, not by id"

// copyBudgetBytes and copyBudgetTime bound the downloads of the copies
// alike an attachment's stated sha256 is looked for among (copyAmong):
// only each one's digest is kept, so no count bounds them, but a
// recording naming hundreds of large files alike must not hold a worker
// for hours. A budget is an attachment's; a copy another attachment of
// the conversation had downloaded in the run is not downloaded again
// (recordingCopies.served), so n attachments alike cost about n
// downloads, not n². Variables for the tests.
var (
	copyBudgetBytes int64 = 1 << 30
	copyBudgetTime        = 15 * time.Minute
)

// The reasons of an attachment past the messages API's 30 days the
// Recordings service has no copy of: not tried again (retryRule).
const (
	recordingsNoRecording   = "the Recordings service has no recording of the conversation (404)"
	recordingsNoCopyMatched = "no copy in the conversation's recording matched it (by id, or by file name, size and type)"
	// recordingsCopiesAlike: several copies of the conversation state
	// what it states, and no sha256 stated tells which is its: none is
	// taken on a guess, and the recording says no more to a later run
	// (with a sha256 stated, copyAmong looks for it).
	recordingsCopiesAlike = "copies in the conversation's recording match it by file name, size and type alike, and no sha256 stated tells which is its: none taken"
)

// recordingsCopyRefusedAgain is added to the reason of an attachment
// whose copy's url a later run, given a new url, had refused as the
// earlier run had (the same status and words): the refusal is the host's
// answer for it, not a lapse of one url, so it is not asked again
// (retryRule), where each run would download nothing, for ever.
const recordingsCopyRefusedAgain = "refused the same way by a later run: not asked again"

// withAnswer is the reason of a failure (host, the storage host's words)
// followed by what the Recordings service answered (none): only the
// host's part is cut (on a character boundary: truncate), none being
// kept whole (retryRule and settledAgain read it), and the whole within
// maxReason bytes; with too little room left for the host's words to say
// anything they are left out (the longest answer, settled, leaves about
// 10 bytes: review-commits4 L2).
func withAnswer(host, none string) string {
	room := maxReason - len(none) - len("; ")
	if host == "" || len(host) > room && room-len("…") < minHostWords {
		return none
	}
	return truncate(host, room) + "; " + none
}

// maxReason bounds the reason recorded for an attachment, and
// minHostWords the storage host's words kept in one (withAnswer).
const (
	maxReason    = 300
	minHostWords = 24
)

// refusedAgain is reason, a copy's url refused (withAnswer's, with
// recordingsCopyRefused), ended with recordingsCopyRefusedAgain: only the
// host's words are cut.
func refusedAgain(reason string) string {
	j := strings.LastIndex(reason, recordingsCopyRefused)
	return withAnswer(strings.TrimSuffix(reason[:j], "; "), reason[j:]+"; "+recordingsCopyRefusedAgain)
}

// recordingsNoCopy is the reason exports recorded before copies were
// matched by more than their ids: a recording naming its copies with ids
// of its own gave it for every attachment. It says the copy was never
// looked for as it is now, so a later run asks once more (retryRule),
// recording the answer in today's words.
const recordingsNoCopy = "the conversation's recording names no copy of it"

// recordingsHasNone are the reasons saying the Recordings service has no
// copy, as matched now.
var recordingsHasNone = []string{recordingsNoRecording, recordingsNoCopyMatched, recordingsCopiesAlike}

// recordingCopies are a conversation's attachment urls from the
// Recordings service, asked for once, when an attachment the messages API
// no longer serves is first met. The bytes downloaded through them are
// checked against the sha256 the captured message states, like any.
type recordingCopies struct {
	loaded bool
	urls   map[[2]string]string // {message id, attachment id} → url
	// byProps are the copies with what they state of themselves (file
	// name, size, type: copyProps), for an attachment whose ids the
	// recording does not share: Genesys documents no identity between the
	// two APIs' ids.
	byProps []propsCopy
	// claimed are the {message id, attachment id} of the conversation's
	// messages (claimedBy): a copy named by them is not in byProps.
	claimed map[[2]string]bool
	none    string // why there are none: said in the reasons of the attachments it leaves expired
	// err is the request's failure (a 202 not ready, a 5xx), given to
	// every later attachment of the conversation: the service is asked
	// once a conversation a run, each request waiting up to maxWaitMs.
	err error
	// served is the sha256 (hex) of what each copy's url served this run
	// (copyAmong): another attachment alike looking among the same
	// copies does not download again one whose digest is not its
	// (review-commits5 L4). The urls are this run's, read once.
	served map[string]string
}

// load takes the copies recs name: by their ids, and by what they state
// of themselves (byProps) those no message of the conversation claims by
// its ids, which are its own copy and no other's (review-commits2 L4: an
// attachment missing from the recording took, by its name and size,
// the copy of another message's attachment alike).
func (rc *recordingCopies) load(recs []genesys.Recording) {
	rc.loaded, rc.urls = true, map[[2]string]string{}
	for _, rec := range recs {
		for _, rm := range rec.MessagingTranscript {
			for _, a := range rm.MessageMediaAttachments {
				if k := [2]string{rm.ID, a.ID}; a.URL != "" {
					rc.urls[k] = a.URL
					if !rc.claimed[k] {
						rc.add(copyProps{a.Name, int64(max(a.ContentLength, 0)), strings.ToLower(mediaTypeOf(a.MediaType))}, a.URL)
					}
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
				hm := t.Header.Media
				k := [2]string{rm.ID, hm.ID}
				if rc.urls[k] == "" {
					rc.urls[k] = hm.URL
				}
				if !rc.claimed[k] {
					rc.add(copyProps{hm.FileName, 0, strings.ToLower(mediaTypeOf(cmp.Or(hm.Mime, hm.MediaType)))}, hm.URL)
				}
			}
		}
	}
}

// claimedBy is the {message id, attachment id} of every attachment (and
// template header media) msgs name: a copy the recording names by one of
// them is that attachment's, never a candidate for another by its name.
func claimedBy(msgs []captured) map[[2]string]bool {
	ids := map[[2]string]bool{}
	for i := range msgs {
		for _, a := range mediaOf(&msgs[i].data) {
			ids[[2]string{msgs[i].id, a.ID}] = true
		}
	}
	return ids
}

// copyProps is what both the messages API and a recording state of an
// attachment, by which a copy whose ids differ is matched: its file name,
// its size (0 when not stated: a template's header media) and its type
// ("" when the recording does not state it: the model's mediaType names
// only image types, and "if null then the media type should be dictated
// by the url").
type copyProps struct {
	name string
	size int64
	mime string
}

// propsCopy is a copy's url with what it states of itself.
type propsCopy struct {
	p   copyProps
	url string
}

// add records that url is a copy stating p, when p says enough to match
// by: a file name, and a size or a type.
func (rc *recordingCopies) add(p copyProps, url string) {
	if p.name == "" || p.size <= 0 && p.mime == "" || url == "" {
		return
	}
	rc.byProps = append(rc.byProps, propsCopy{p, url})
}

// matchProps returns the urls, each once, of the copies in the
// conversation's recording stating what a states of itself: the same
// file name, the same type where both state one (the recording's
// mediaType names only image types) and the same size where both state
// one (contentSizeBytes is optional, a template's header media states
// none). More than one is an ambiguity the caller settles by the stated
// sha256 or not at all (copyAmong); none when a states no file name.
func (rc *recordingCopies) matchProps(a *genesys.ContentAttachment) []string {
	name, size, mime := a.Filename, int64(max(a.ContentSizeBytes, 0)), strings.ToLower(mediaTypeOf(a.Mime))
	if name == "" {
		return nil
	}
	var found []string
	for _, c := range rc.byProps {
		switch {
		case c.p.name != name,
			c.p.mime != "" && mime != "" && c.p.mime != mime,
			c.p.size > 0 && size > 0 && c.p.size != size,
			slices.Contains(found, c.url):
			continue
		}
		found = append(found, c.url)
	}
	return found
}

// copyAmong is the one of urls, copies alike by what they state, whose
// bytes have the sha256 the API states of a (want): each is downloaded
// in turn, only its digest kept (in rc.served) once it is not that one,
// within copyBudgetBytes and copyBudgetTime, and none is taken on a
// guess; one whose digest rc.served already holds is downloaded again
// only when it is that one, for its bytes. Without such a copy it
// returns why (none, for the reason); err is a failure that may pass
// (the conversation fails, for a rerun).
func (r *runner) copyAmong(ctx context.Context, rc *recordingCopies, urls []string, a *genesys.ContentAttachment, want fetch.Expect) (resp *fetch.Response, none string, err error) {
	stated, serr := fetch.StatedSHA256(a.Sha256)
	if a.Sha256 == "" || serr != nil {
		return nil, recordingsCopiesAlike, nil
	}
	if rc.served == nil {
		rc.served = map[string]string{}
	}
	// Checked against the size and type alone, each once: a copy of
	// another attachment is not tried again as one cut short would be.
	want.SHA256 = ""
	var served []string // the sha256 of what each served, when each served something
	var spent int64
	start := time.Now()
	for i, u := range urls {
		if d, ok := rc.served[u]; ok && d != stated {
			served = append(served, d) // not it, known without a download
			continue
		}
		if spent >= copyBudgetBytes || time.Since(start) >= copyBudgetTime {
			// A sha256 is stated: the reason says what is so, and a
			// later run asks again (commit review 4, L1), until one
			// finds as many copies and runs out of budget again
			// (settledAgain, which reads the copies' count only).
			return nil, fmt.Sprintf("%s (%d copies, %d downloaded within %d MiB and %s)", recordingsCopiesTooMany, len(urls), i, copyBudgetBytes>>20, copyBudgetTime), nil
		}
		got, err := r.d.Client.DownloadChecked(ctx, u, want)
		if _, _, ok := mediaFailure(err); err != nil && (!ok || ctx.Err() != nil) {
			return nil, "", err
		}
		if err == nil && fetch.CheckSHA256(got.Body, a.Sha256) == nil {
			rc.served[u] = stated
			return got, "", nil
		}
		body := bodyOf(err)
		if err == nil {
			body = got.Body
		}
		if err == nil || isBodyError(err) {
			// Its digest alone is kept: before, every body was, up
			// to 8 of 128 MiB each a worker.
			d := fetch.SHA256Hex(body)
			served = append(served, d)
			rc.served[u] = d
			spent += int64(len(body))
		}
	}
	if len(served) == len(urls) {
		// Said, for a later run served the very same to stop at
		// (settledAgain; commit review 4, M1).
		return nil, recordingsCopiesNoneGood + ": " + servedNoteOf(served), nil
	}
	return nil, recordingsCopiesNoneGood, nil
}

// mediaTypeOf is a mime type without its parameters.
func mediaTypeOf(mime string) string {
	t, _, _ := strings.Cut(mime, ";")
	return strings.TrimSpace(t)
}

// copies returns the Recordings service's urls of attachment a of
// message msgID (none when it has none, rc.none saying why): the copy
// with the same message and attachment ids, or else the copies of the
// conversation stating the same file name, size and type (matchProps,
// byName). A 403 (the OAuth client lacks recording:recording:view) or
// 404 (no recording) is an answer; any other failure is an error, and
// the conversation is tried again.
func (rc *recordingCopies) copies(ctx context.Context, r *runner, convID, msgID string, a *genesys.ContentAttachment) (urls []string, byName bool, err error) {
	if rc.err != nil {
		return nil, false, rc.err
	}
	if !rc.loaded {
		if r.noRecordings.Load() {
			rc.loaded, rc.none = true, recordingsNotAsked
			return nil, false, nil
		}
		recs, _, err := r.d.Client.ConversationRecordings(ctx, convID)
		switch {
		case errors.Is(err, fetch.ErrForbidden):
			if !r.noRecordings.Swap(true) {
				// Said once a run, not only in the reasons of the
				// attachments it leaves uncaptured: the operator has a
				// permission to grant, after which a rerun gets them.
				r.o.Log.Warn("export: the Recordings service refused its copies (403): the OAuth client needs the permission recording:recording:view; attachments past the messages API's 30 days are not captured until it has it, and a run after it is granted downloads them (this warning is given once a run)",
					"conversation", convID)
			}
			rc.none = recordingsForbidden
		case errors.Is(err, fetch.ErrNotFound):
			rc.none = recordingsNoRecording
		case err != nil:
			rc.err = err
			return nil, false, err
		}
		rc.load(recs)
		if err == nil {
			r.o.Log.Info("attachment urls refused: the conversation's recording read for its copies", "conversation", convID, "attachments", len(rc.urls))
		}
	}
	if u := rc.urls[[2]string{msgID, a.ID}]; u != "" {
		return []string{u}, false, nil
	}
	if urls := rc.matchProps(a); len(urls) > 0 {
		r.o.Log.Info("attachment copy matched by file name, size and type: the recording names it with other ids", "conversation", convID, "message", msgID, "attachment", a.ID, "copies", len(urls))
		return urls, true, nil
	}
	return nil, false, nil
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
	var be *fetch.BodyError
	switch {
	case errors.As(err, &be):
		// Not the attachment (a body cut short, a page served in its
		// place): nothing is kept, the run says so, and a later run
		// downloads it again (retryRule).
		return leaf.MediaRefused, truncate(be.Err.Error()+": not the attachment, not kept", maxReason), true
	case errors.Is(err, errNoURL):
		return leaf.MediaRefused, errNoURL.Error(), true
	case errors.Is(err, fetch.ErrTooLarge):
		return leaf.MediaTooLarge, "bigger than the attachment size limit (--max-attachment-bytes, 128 MiB by default)", true
	case errors.Is(err, fetch.ErrInvalidArgument):
		return leaf.MediaRefused, "unusable url: want http(s) without user info", true
	case errors.Is(err, fetch.ErrStorageHostWait):
		// A storage host's limit (the API's own stops the run before
		// this) asking for a longer wait than custody makes, by this
		// download's 429 or an earlier one's (then not asked:
		// fetch.StorageWaitError); recorded, and tried again by a later
		// run.
		reason = "429 Too Many Requests: the storage host asked to wait longer than custody does"
		if errors.As(err, &ae) && ae.Body.Code != "" {
			reason += ": " + ae.Body.Code
		}
		return leaf.MediaRefused, truncate(reason, maxReason), true
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		// Its 429s, each with a wait custody makes, outlasted the
		// call's retries (review-commits2 L5: said, before, to ask a
		// longer wait); recorded, and tried again by a later run.
		reason = "429 Too Many Requests: the storage host still refused after the retries custody makes"
		if ae.Body.Code != "" {
			reason += ": " + ae.Body.Code
		}
		return leaf.MediaRefused, truncate(reason, maxReason), true
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout:
		reason = fmt.Sprintf("%d %s", ae.Status, http.StatusText(ae.Status))
		if ae.Body.Code != "" {
			reason += ": " + ae.Body.Code
		}
		if ae.Body.Message != "" {
			reason += ": " + ae.Body.Message
		}
		reason = truncate(reason, maxReason)
		if ae.Status == http.StatusForbidden || ae.Status == http.StatusGone {
			if low := strings.ToLower(ae.Body.Code + " " + ae.Body.Message); strings.Contains(low, "expired") || ae.Status == http.StatusGone {
				return leaf.MediaExpired, reason, true
			}
		}
		return leaf.MediaRefused, reason, true
	}
	return "", "", false
}

// mediaAgain downloads, for a message m unchanged since its latest
// capture prev (of the same conversation), the attachments prev does not
// hold that may be had now, and reports whether m is to be re-captured
// with them (m.media: recaptureEntry). A capture that tried no download
// (--media=false) gets every attachment. One that recorded some as
// expired or refused gets those retryRule says a run tries again, the
// rest kept as prev recorded them; it is re-captured when the retry
// downloaded at least one, when it asked the Recordings service where
// prev's capture, made before the message was 30 days old, had not (its
// answer is then recorded, and settles what retryRule tries next), or
// when the answer it got ends the tries (retryRule: no copy matched, the
// copy's url refused as it was by the run before), which is recorded.
// Otherwise nothing is appended: prev still says all there is, and no
// entry is written per run for attachments still not had.
func (r *runner) mediaAgain(ctx context.Context, convID string, rec *recordingCopies, st *staged, prev leaf.Entry, m *captured) (bool, error) {
	if !hasMedia(&m.data) {
		return false, nil
	}
	had, ok := entryMedia(prev)
	if !ok {
		return false, nil // unreadable: nothing to say what it lacks
	}
	if len(had) == 0 {
		return true, r.fetchMedia(ctx, convID, rec, st, m)
	}
	now := r.o.Now()
	retry := map[string]bool{}
	prevOf := map[string]leaf.MediaRef{}     // the records tried again, as prev holds them
	unlessGood := map[string]leaf.MediaRef{} // kept as they are unless good bytes are had now
	asksRecordings := false
	for _, mr := range had {
		again, viaRecordings, first := retryRule(now, m.data.Timestamp, prev.At, mr)
		if !again || viaRecordings && r.noRecordings.Load() {
			continue // not to be had this run (the Recordings service refused it)
		}
		retry[mr.ID] = true
		if _, dup := prevOf[mr.ID]; !dup {
			prevOf[mr.ID] = mr
		}
		asksRecordings = asksRecordings || first
		if _, dup := unlessGood[mr.ID]; mr.Status == leaf.MediaSHA256Mismatch && !dup {
			unlessGood[mr.ID] = mr
		}
	}
	// Media named without a url that prev leaves out (captured before
	// they were asked of the Recordings service) are asked now, and the
	// answer recorded however it goes, settling what is tried next.
	if ids := unrecorded(&m.data, had); len(ids) > 0 && !r.noRecordings.Load() {
		for _, id := range ids {
			retry[id] = true
		}
		asksRecordings = true
	}
	if len(retry) == 0 {
		return false, nil
	}
	keep := map[string]leaf.MediaRef{}
	for _, mr := range had {
		if _, dup := keep[mr.ID]; !retry[mr.ID] && !dup {
			keep[mr.ID] = mr
		}
	}
	if err := r.fetchMediaKeeping(ctx, convID, rec, st, m, keep, unlessGood); err != nil {
		return false, err
	}
	got, settled := 0, 0
	for k, mr := range m.media {
		if !retry[mr.ID] {
			continue
		}
		if m.mediaEv[k] >= 0 {
			got++
			continue
		}
		if p, ok := prevOf[mr.ID]; ok && mr.Reason == p.Reason && strings.Contains(mr.Reason, recordingsCopyRefused) && !strings.Contains(mr.Reason, recordingsCopyRefusedAgain) {
			// The copy's new url refused as the last one was. Only the
			// host's words are cut: the Recordings answer and how the
			// copy was matched stay (commit review 4, L2).
			mr.Reason = refusedAgain(mr.Reason)
			m.media[k] = mr
		}
		if p, ok := prevOf[mr.ID]; ok {
			if s, ok := settledAgain(p.Reason, mr.Reason); ok {
				mr.Reason = s
				m.media[k] = mr
			}
		}
		if again, _, _ := retryRule(now, m.data.Timestamp, now, mr); !again {
			settled++ // the answer now ends the tries: recorded
		}
	}
	if got > 0 || settled > 0 || asksRecordings && !r.noRecordings.Load() {
		r.o.Log.Info("attachments not captured before tried again", "conversation", convID, "message", m.id, "tried", len(retry), "downloaded", got, "settled", settled)
		return true, nil
	}
	m.media, m.mediaEv = nil, nil // nothing staged: only downloaded bytes are
	return false, nil
}

// retryRule says whether an attachment recorded not captured (mr, in an
// entry appended at at, of a message of time msgTime) may still be had,
// so that a run at now tries it again. A sha256_mismatch (bytes cut short
// in transit, kept as served) is, through the messages API within the 30
// days and the Recordings service after them, never first: its bytes
// stay recorded unless good ones are had (mediaAgain) — but not when the
// stated sha256 reads as no digest, nor when a later run was served the
// very same bytes (mediaMismatchAgain). Otherwise one recorded expired or
// refused (never too_large: the same limit refuses it again) of a message
//   - under genesys.AttachmentServedFor (30 days) old: the messages API
//     still serves it, and a url that lapsed or a host that refused may
//     answer now;
//   - past them, when its copy was not asked of the Recordings service
//     (the entry was appended before the 30 days ended, or its reason
//     names no answer of that service, as an export before it asked on
//     any refusal recorded, or says "names no copy of it", as an export
//     before copies were matched by their file name, size and type:
//     first), or the Recordings service refused
//     it (403: a permission since granted gets it), or the media host
//     refused the url of the copy it named or served something else (a
//     new one is signed for each request). viaRecordings: only that
//     service may give it.
//
// Past the 30 days an attachment the Recordings service had no copy of
// (no recording, 404, or none matched) is not tried again. A message whose
// time does not read is not either: nothing bounds its tries.
func retryRule(now time.Time, msgTime string, at time.Time, mr leaf.MediaRef) (again, viaRecordings, first bool) {
	mismatch := mr.Status == leaf.MediaSHA256Mismatch && !strings.Contains(mr.Reason, mediaSHA256Unreadable) && !strings.Contains(mr.Reason, mediaMismatchAgain)
	if mr.Status != leaf.MediaExpired && mr.Status != leaf.MediaRefused && !mismatch {
		return false, false, false
	}
	t, err := time.Parse(time.RFC3339Nano, msgTime)
	if err != nil {
		return false, false, false
	}
	served := t.Add(genesys.AttachmentServedFor)
	if mismatch {
		return true, !now.Before(served), false
	}
	if now.Before(served) {
		return true, false, false
	}
	if at.Before(served) {
		return true, true, true
	}
	if strings.Contains(mr.Reason, recordingsNoCopy) {
		return true, true, true // never matched as copies are now
	}
	if strings.Contains(mr.Reason, recordingsCopyRefusedAgain) || strings.Contains(mr.Reason, recordingsSameAgain) {
		return false, false, false
	}
	for _, none := range recordingsHasNone {
		if strings.Contains(mr.Reason, none) {
			return false, false, false
		}
	}
	for _, again := range []string{recordingsForbidden, recordingsNotAsked, recordingsCopyRefused, recordingsCopyNotGood, recordingsCopiesNoneGood, recordingsCopiesTooMany} {
		if strings.Contains(mr.Reason, again) {
			return true, true, false
		}
	}
	return true, true, true // the Recordings service never asked
}

// hasMedia reports whether md names media an export with --media records
// in the detail's media (mediaOf): with a url or without.
func hasMedia(md *genesys.MessageData) bool {
	return hasAttachmentURL(md) || len(derive.MediaWithoutURL(md)) > 0
}

// unrecorded lists the ids of md's media without a url that refs, the
// detail's media of a capture that fetched media, does not name: a
// capture made before export asked the Recordings service for them left
// them out. They are not captured, and the next run asks for them.
func unrecorded(md *genesys.MessageData, refs []leaf.MediaRef) []string {
	if len(refs) == 0 {
		return nil // no media fetched (--media=false): all of them are lacking
	}
	var ids []string
	for _, a := range derive.MediaWithoutURL(md) {
		if !slices.ContainsFunc(refs, func(mr leaf.MediaRef) bool { return mr.ID == a.ID }) {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// entryMedia returns what a message entry records of its attachments
// (detail.media); ok false when its detail does not read.
func entryMedia(e leaf.Entry) ([]leaf.MediaRef, bool) {
	d, err := leaf.DecodeDetail(leaf.KindMessage, e.Detail)
	if err != nil {
		return nil, false
	}
	md, ok := d.(*leaf.MessageDetail)
	if !ok {
		return nil, false
	}
	return md.Media, true
}

// notCaptured counts the attachments of refs whose bytes the ledger does
// not hold (expired, refused, too large) or holds not as the API states
// them (sha256_mismatch), and of them those retryRule says a later run
// tries again, as of now, for a message of time msgTime whose entry
// holding refs is appended at at.
func notCaptured(refs []leaf.MediaRef, now time.Time, msgTime string, at time.Time) (n, retry int) {
	for _, mr := range refs {
		switch mr.Status {
		case leaf.MediaExpired, leaf.MediaRefused, leaf.MediaTooLarge, leaf.MediaSHA256Mismatch:
			n++
			if again, _, _ := retryRule(now, msgTime, at, mr); again {
				retry++
			}
		}
	}
	return n, retry
}
