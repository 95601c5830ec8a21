package export

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/fetch"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// job is one conversation to capture, with its legal-hold answer.
type job struct {
	id      string
	held    bool
	holdSum hashchain.Hash // evidence of the deletion-protection response
	item    ledger.RunItem
}

// fatal marks an error that must stop the whole run (storage failures,
// revoked credentials, no token to be had, an API host that cannot be
// reached, a daily rate limit, cancellation), as opposed to one
// conversation failing.
type fatal struct{ err error }

func (f *fatal) Error() string { return f.err.Error() }
func (f *fatal) Unwrap() error { return f.err }

func isFatal(ctx context.Context, err error) bool {
	var f *fatal
	var dl *fetch.DailyLimitError
	return errors.As(err, &f) || errors.As(err, &dl) || errors.Is(err, fetch.ErrUnauthorized) ||
		errors.Is(err, fetch.ErrNoToken) || errors.Is(err, fetch.ErrAPIUnreachable) || ctx.Err() != nil
}

// captureAll captures every pending conversation, then retries the failed
// ones, up to maxItemAttempts passes.
func (r *runner) captureAll(ctx context.Context) error {
	for pass := 0; pass < maxItemAttempts; pass++ {
		items, err := r.d.Ledger.RunItems(ctx, r.runID, "")
		if err != nil {
			return err
		}
		var todo []ledger.RunItem
		done := 0
		for _, it := range items {
			// Every invocation retries what failed before (rerunning is
			// how an operator retries); within one, up to maxItemAttempts
			// passes.
			switch {
			case !ValidID(it.ItemID):
				// An unusable listed id (unusableItem): failed for good,
				// never requested, not even in a batch of the hold check.
				done++
			case it.Status == ledger.ItemPending, it.Status == ledger.ItemFailed:
				todo = append(todo, it)
			default:
				done++
			}
		}
		r.done.Store(int64(done))
		r.report(len(items))
		if len(todo) == 0 {
			return nil
		}
		if pass > 0 {
			r.o.Log.Info("retrying failed conversations", "count", len(todo), "pass", pass+1)
		}
		if err := r.pipeline(ctx, todo, len(items)); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) report(total int) {
	if r.o.Progress != nil {
		r.o.Progress.Update(int(r.done.Load()), total, r.d.Client.Stats())
	}
}

// heartbeat tells Progress every ProgressEvery while the pipeline runs,
// whether or not a conversation got done: progress was told only when one
// did, so a 90 s Retry-After left a run's log silent for 90 s. The
// returned func stops it.
func (r *runner) heartbeat(ctx context.Context, total int) (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	every := r.o.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.report(total)
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// storingPerWorker bounds the conversations waiting on storage, per
// worker, and storingBytes the bytes they hold in memory (each up to
// stageLimit: attachments beyond it are stored early). The more wait,
// the more share each evidence batch and ledger commit (2 per worker:
// 2.8 s for the 3,000/min SDK comparison; 6: 2.4 s).
const (
	storingPerWorker = 6
	storingBytes     = 256 << 20
)

// pipeline runs the hold checker (one call per 100 conversations) ahead of
// a pool of capture workers, so the rate budget is never idle.
func (r *runner) pipeline(ctx context.Context, items []ledger.RunItem, total int) error {
	g, ctx := errgroup.WithContext(ctx)
	defer r.heartbeat(ctx, total)()
	jobs := make(chan job, 2*holdBatch)
	g.Go(func() error {
		defer close(jobs)
		for batch := range slices.Chunk(items, holdBatch) {
			if err := r.checkHolds(ctx, batch, jobs); err != nil {
				return err
			}
		}
		return nil
	})
	// Conversations read and waiting on storage (their evidence batch and
	// ledger transaction), beside the ones being read: the workers go on
	// reading while earlier conversations are made durable, and those that
	// wait together share one batch and one commit.
	storing := make(chan struct{}, r.o.Concurrency*storingPerWorker)
	memory := semaphore.NewWeighted(storingBytes)
	for range r.o.Concurrency {
		g.Go(func() error {
			for j := range jobs {
				ts, err := r.captureOne(ctx, j)
				if err != nil {
					if isFatal(ctx, err) {
						return err
					}
					if err := r.fail(ctx, j.item, err); err != nil {
						return err
					}
				}
				if ts == nil {
					r.done.Add(1)
					r.report(total)
					continue
				}
				held := min(max(ts.bytes, 1), storingBytes)
				if err := memory.Acquire(ctx, held); err != nil {
					return err
				}
				select {
				case storing <- struct{}{}:
				case <-ctx.Done():
					memory.Release(held)
					return ctx.Err()
				}
				g.Go(func() error {
					defer func() { <-storing; memory.Release(held) }()
					// Only storage and the ledger fail here: fatal.
					if err := ts.finish(ctx); err != nil {
						return err
					}
					r.done.Add(1)
					r.report(total)
					return nil
				})
			}
			return nil
		})
	}
	return g.Wait()
}

// checkHolds asks which conversations of the batch are under deletion
// protection (legal hold) and queues them for capture. A failed check
// fails the batch's conversations: a capture without its legal-hold
// status would be incomplete evidence.
func (r *runner) checkHolds(ctx context.Context, batch []ledger.RunItem, jobs chan<- job) error {
	// An erased conversation is not captured again (captureOne): its
	// deletion protection is not asked, an answer no entry would name.
	var direct []ledger.RunItem // erased or unusable: straight to captureOne
	batch = slices.DeleteFunc(slices.Clone(batch), func(it ledger.RunItem) bool {
		// An unusable id is never sent, not even in a batch of the hold
		// check, whose other conversations it would fail with it:
		// captureOne fails it alone.
		if r.erased.Touched(it.ItemID) || !ValidID(it.ItemID) {
			direct = append(direct, it)
			return true
		}
		return false
	})
	for _, it := range direct {
		select {
		case jobs <- job{id: it.ItemID, item: it}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(batch) == 0 {
		return nil
	}
	// Every conversation waits for the audit index, held now or not: one
	// whose hold was revoked has entries too, and a capture made before
	// the index is loaded would record them as none ([]). Waited for
	// before the hold check: when it cannot be had the run stops, and no
	// batch asks for its holds only to fail.
	if err := r.awaitAudits(ctx); err != nil {
		return err
	}
	ids := make([]string, len(batch))
	for i, it := range batch {
		ids[i] = it.ItemID
	}
	protected, resp, err := r.d.Client.DeletionProtection(ctx, ids)
	var sum hashchain.Hash
	if err == nil {
		var ref evidence.Ref
		ref, err = r.d.Evidence.Put(ctx, resp.Body)
		if err != nil {
			return &fatal{fmt.Errorf("export: evidence: %w", err)}
		}
		sum = ref.Sum
	} else {
		err = fmt.Errorf("legal hold check: %w", err)
	}
	if err != nil {
		if isFatal(ctx, err) {
			return err
		}
		for _, it := range batch {
			if ferr := r.fail(ctx, it, err); ferr != nil {
				return ferr
			}
			r.done.Add(1)
		}
		return nil
	}
	for _, it := range batch {
		select {
		case jobs <- job{id: it.ItemID, held: protected[it.ItemID], holdSum: sum, item: it}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// auditsUnknown says why a conversation is not captured when the audit
// index is not loaded: its audit_refs would be unknown, and recording
// them as [] would say no entry concerns it.
const auditsUnknown = "its audit references are unknown, so it is not captured (rerun once the audit query succeeds; it needs the permission " + auditPermission + ")"

// awaitAudits waits for the audit index (queryAudits, started with the
// run). Its failure is final for the run, which it ends: every capture
// needs the index, and the query was already tried again.
func (r *runner) awaitAudits(ctx context.Context) error {
	r.auditsNeed.need()
	select {
	case <-r.auditsReady:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.auditsErr != nil {
		return &fatal{r.auditsErr}
	}
	return nil
}

// fail records a conversation's failure (or its absence at the source).
func (r *runner) fail(ctx context.Context, it ledger.RunItem, cause error) error {
	it.Attempts++
	// The reason goes into the ledger and the outputs, which can never be
	// cleaned: no credential a server echoed may reach it.
	it.Status, it.Reason = ledger.ItemFailed, r.d.Client.Redact(cause.Error())
	if g := (goneUpstream{}); errors.As(cause, &g) {
		it.Status, it.Reason = ledger.ItemGone, g.reason()
	}
	it.UpdatedAt = r.o.Now()
	r.o.Log.Warn("conversation not exported", "conversation", it.ItemID, "status", it.Status, "reason", it.Reason)
	return r.d.Ledger.Update(context.WithoutCancel(ctx), func(tx *ledger.Tx) error { return tx.PutRunItem(it) })
}

// goneUpstream is the conversation read's 404 or 410 Gone: the one answer
// that says a conversation is gone, which is final (never retried). A 404 from any
// other request of its capture — the legal-hold check of its batch, the
// audit query, the bulk read of a conversation just read — says nothing
// so certain, and fails the conversation as any error does, for a rerun.
type goneUpstream struct{ err error }

func (g goneUpstream) Error() string { return g.err.Error() }
func (g goneUpstream) Unwrap() error { return g.err }

// reason is what the run item says of it.
func (g goneUpstream) reason() string {
	if isGone(g.err) {
		return "gone at the source (410): deleted upstream"
	}
	return "not found at the source (404): deleted upstream"
}

// isGone reports whether err is the API's 410 Gone.
func isGone(err error) bool {
	var ae *fetch.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusGone
}

// captured is one message ready to enter the ledger.
type captured struct {
	id      string
	payload hashchain.Hash
	evSum   hashchain.Hash // of the body it came in (read.sum)
	ev      int            // the index of that body among those read (read)
	src     *leaf.Source
	data    genesys.MessageData
	media   []leaf.MediaRef
	mediaEv []int        // media[k]'s staged index, -1 when nothing was downloaded
	seal    *derive.Seal // salt and stored opening; nil when unchanged since its latest capture
	raw     []byte       // the message object as served
	// sameAs is the seq of the latest capture this message equals but for
	// attachment-url signatures (derive.StableHash): not a change.
	sameAs *uint64
	// recapture is the seq of the latest capture, unchanged, that holds
	// none of the message's attachments (captured with --media=false):
	// media holds them now, downloaded, and commit appends the message
	// again with them (recaptureEntry).
	recapture *uint64
	opening   int // the opening's staged index, when seal is set
}

// staleReason is the reason of the run item of a conversation whose
// bodies were not stored, as nothing was to be appended when it was read,
// while its commit found a conversation entry due: the ledger changed
// meanwhile. The next pass reads it again.
const staleReason = "the ledger changed while it was read (another custody capturing it?): read again"

// erasedReason is the reason of the run item of a conversation erased
// (custody erase), done without being captured: the accounting counts it
// apart (Erased).
const erasedReason = "erased from this matter (custody erase): not captured again"

// captureOne reads a conversation and its messages and stages the raw
// bodies its entries will name (and the openings and attachments); the
// finish function it returns stores them as evidence, together, then
// commits the conversation's entries and its run item in one
// transaction. The response bodies are staged only when a conversation
// entry is to be appended (its messages or its hold or audit references
// changed, or it was never captured): otherwise no entry names them, and
// a body whose bytes differ from those stored (attachment urls signed
// per request) would be kept unreferenced, holding message content no
// erasure finds through the ledger. Nil with a nil error: nothing is
// left to do.
// unusablePrefix starts the item id of a listed conversation id that is no
// usable one (unusableItem): a final failure, never requested.
const unusablePrefix = "!unusable:"

// unusableIDReason is what captureOne says of a job whose id is no usable
// conversation id (one never gets this far: captureAll and checkHolds
// leave them out).
const unusableIDReason = "an unusable conversation id: never requested"

func (r *runner) captureOne(ctx context.Context, j job) (*toStore, error) {
	if !ValidID(j.id) {
		return nil, errors.New(unusableIDReason)
	}
	if r.erased.Touched(j.id) {
		// Its response bodies would bring the erased messages back
		// into the evidence: it is done, and says why.
		it := j.item
		it.Attempts++
		it.Status, it.Reason, it.UpdatedAt = ledger.ItemDone, erasedReason, r.o.Now()
		r.o.Log.Info("conversation erased: not captured again", "conversation", j.id)
		return nil, r.d.Ledger.Update(ctx, func(tx *ledger.Tx) error { return tx.PutRunItem(it) })
	}
	mc, resp, err := r.d.Client.GetMessageConversation(ctx, j.id)
	if errors.Is(err, fetch.ErrNotFound) || isGone(err) {
		// 410 says it more plainly than 404: retried, it is asked
		// again on every run for ever.
		return nil, goneUpstream{err}
	}
	if err != nil {
		return nil, err
	}
	var st staged
	var rd read // the response bodies, staged once it is known which entries name them
	convIdx := rd.add(resp.Body)
	// The body read as verify --evidence reads it (derive.ReadConversation):
	// its id, the message ids its participants list and its payload hash
	// (derive's canonical form) are what verify derives the conversation
	// entry from, so what is accepted here verifies.
	facts, msgIDs, err := derive.ReadConversation(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("conversation %s: %w: %w", j.id, fetch.ErrMalformedBody, err)
	}
	if err := aboutConversation(j.id, facts.ID, mc); err != nil {
		return nil, err
	}
	convPayload := facts.Payload
	convSrc := source(resp)

	for _, id := range msgIDs {
		if !ValidID(id) {
			return nil, fmt.Errorf("conversation %s: unusable message id %q", j.id, truncate(id, 80))
		}
	}

	var msgs []captured
	var bulkIdx []int
	got := map[string]bool{}
	for chunk := range slices.Chunk(msgIDs, genesys.MaxBulkMessageIDs) {
		// Raw: the listing is split once here, each message decoded once.
		resp, err := r.d.Client.BulkMessagesRaw(ctx, j.id, chunk)
		if err != nil {
			return nil, err
		}
		ev := rd.add(resp.Body)
		bulkIdx = append(bulkIdx, ev)
		entities, err := derive.MessagesIn(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("conversation %s: bulk messages: %w", j.id, err)
		}
		want := map[string]bool{}
		for _, id := range chunk {
			want[id] = true
		}
		for _, raw := range entities {
			c, err := decodeMessage(raw, ev, source(resp))
			if err != nil {
				return nil, fmt.Errorf("conversation %s: %w", j.id, err)
			}
			if err := messageOf(j.id, &c); err != nil {
				return nil, err
			}
			r.noteRemovedFields(&c.data)
			if !want[c.id] || got[c.id] {
				return nil, fmt.Errorf("conversation %s: bulk messages returned unexpected or repeated message %q", j.id, truncate(c.id, 80))
			}
			got[c.id] = true
			msgs = append(msgs, c)
		}
	}
	// A message the bulk call left out is asked for alone: it may have
	// been deleted upstream (404), which is recorded, not hidden.
	var gone []string
	for _, id := range msgIDs {
		if got[id] {
			continue
		}
		_, resp, err := r.d.Client.GetMessage(ctx, j.id, id)
		if errors.Is(err, fetch.ErrNotFound) {
			gone = append(gone, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := decodeMessage(resp.Body, rd.add(resp.Body), source(resp))
		if err != nil {
			return nil, fmt.Errorf("conversation %s: %w", j.id, err)
		}
		if c.id != id {
			return nil, fmt.Errorf("conversation %s: %w: asked for message %s, got %q", j.id, fetch.ErrMalformedBody, id, truncate(c.id, 80))
		}
		if err := messageOf(j.id, &c); err != nil {
			return nil, err
		}
		r.noteRemovedFields(&c.data)
		msgs = append(msgs, c)
	}
	var toSeal []int
	earlier := earlierBodies{}
	rec := recordingCopies{claimed: claimedBy(msgs)} // read only if an attachment needs it
	// One query for the conversation's messages, not one each. None in a
	// matter's first export (the ledger held no message when the run
	// began): every message is sealed, and the transaction, which reads
	// the latest captures again, still appends none twice (a message this
	// run captured meanwhile, or another process did, then leaves only an
	// unreferenced opening behind, as a crash before the commit does).
	var latest map[ledger.Capture]leaf.Entry
	if !r.firstCapture {
		if latest, err = r.d.Ledger.LatestCaptures(ctx, capturedIDs(msgs)); err != nil {
			return nil, &fatal{err}
		}
	}
	for i := range msgs {
		// Its latest capture in this conversation: the same message id
		// in another conversation is another subject, captured apart
		// (docs/ledger-format.md, supersedes).
		prev, ok := latest[ledger.Capture{ConversationID: j.id, MessageID: msgs[i].id}]
		unchanged := ok && prev.PayloadSHA256 == msgs[i].payload
		if ok && !unchanged && hasAttachmentURL(&msgs[i].data) {
			same, err := r.sameButSignatures(ctx, earlier, prev, &msgs[i])
			if err != nil {
				return nil, err
			}
			if same {
				seq := prev.Seq
				msgs[i].sameAs, unchanged = &seq, true
			}
		}
		if unchanged {
			// A message captured before with the same payload is not
			// appended again (commit), so its attachments are not
			// fetched again, nor a new opening stored: they are in its
			// earlier entry. Unless that entry lacks some that may be
			// had now (captured with --media=false, no download tried;
			// or recorded expired or refused while still obtainable:
			// retryRule): with --media they are downloaded now, and the
			// message is re-captured with them (mediaAgain, commit,
			// recaptureEntry).
			if r.o.Scope.WithMedia {
				again, err := r.mediaAgain(ctx, j.id, &rec, &st, prev, &msgs[i])
				if err != nil {
					return nil, fmt.Errorf("conversation %s: message %s: %w", j.id, msgs[i].id, err)
				}
				if again {
					seq := prev.Seq
					msgs[i].recapture = &seq
				}
			}
			continue
		}
		if r.o.Scope.WithMedia {
			if err := r.fetchMedia(ctx, j.id, &rec, &st, &msgs[i]); err != nil {
				return nil, fmt.Errorf("conversation %s: message %s: %w", j.id, msgs[i].id, err)
			}
		}
		toSeal = append(toSeal, i)
	}
	for _, i := range toSeal {
		if err := seal(&st, &msgs[i]); err != nil {
			return nil, err
		}
	}
	// Whether a conversation entry will be appended, as commit decides it
	// (again, in its transaction, from the ledger as it then is): every
	// message appended and every message gone comes with one, and so does
	// a conversation whose latest entry differs from it now. Only then are
	// the bodies stored: the conversation entry names its own response
	// and the bulk responses, a message entry the body it came in.
	auditRefs, auditEv, ok := r.audits.Load().refs(j.id)
	if !ok {
		// checkHolds waits for the index: never recorded as none ([]).
		return nil, fmt.Errorf("conversation %s: audit query not loaded: %s", j.id, auditsUnknown)
	}
	withBodies := len(toSeal) > 0 || len(gone) > 0
	if !withBodies {
		prev, ok, err := r.d.Ledger.LatestConversation(ctx, j.id)
		if err != nil {
			return nil, &fatal{err}
		}
		withBodies = conversationDiffers(prev, ok, convPayload, j.held, auditRefs)
	}
	if withBodies {
		need := map[int]bool{convIdx: true}
		for _, ev := range bulkIdx {
			need[ev] = true
		}
		for _, i := range toSeal {
			need[msgs[i].ev] = true // a single message's GET: its own entry names it
		}
		for k := range rd.data {
			if need[k] {
				st.addSum(rd.data[k], rd.sums[k])
			}
		}
	}
	rd.data = nil // what is not staged is referenced by nothing
	// The rest waits on storage: it runs beside the reading of the next
	// conversations (pipeline), so that more conversations share each
	// evidence batch and ledger transaction.
	return &toStore{bytes: st.bytes, finish: func(ctx context.Context) error {
		// The entries are built from the objects' addresses before they
		// are stored; every object they name is durable before the commit
		// (commit, storeAndCommit).
		bulkSums := make([]string, len(bulkIdx))
		for k, ev := range bulkIdx {
			bulkSums[k] = rd.sums[ev].String()
		}
		for i := range msgs {
			m := &msgs[i]
			m.evSum = rd.sums[m.ev]
			if m.seal != nil {
				m.seal.Opening = st.sum(m.opening)
			}
			for k, ev := range m.mediaEv {
				if ev >= 0 {
					m.media[k].Evidence = st.sum(ev).String()
				}
			}
		}
		sort.SliceStable(msgs, func(a, b int) bool { return msgs[a].data.Timestamp < msgs[b].data.Timestamp })
		return r.commit(ctx, &st, j, convPayload, rd.sums[convIdx], convSrc, msgs, gone, bulkSums,
			withBodies, auditRefs, auditEv)
	}}, nil
}

// aboutConversation checks that the conversation object read for id is
// that conversation's: its id is the one asked for (an empty body {}
// has none) and it has participants, which every message conversation
// has (the members its message ids are listed under; an empty list is
// kept as served). Any other answer is malformed: the conversation
// fails, nothing of it is appended, and a later pass or rerun reads it
// again. Accepted, it would be a conversation entry verify --evidence
// finds at odds with its evidence, or a conversation whose messages
// were never read, unnoticed.
func aboutConversation(id, got string, mc *genesys.MessageConversation) error {
	if got != id {
		return fmt.Errorf("conversation %s: %w: the conversation object's id is %q, not the one asked for", id, fetch.ErrMalformedBody, truncate(got, 80))
	}
	if mc.Participants == nil {
		return fmt.Errorf("conversation %s: %w: the conversation object has no participants", id, fetch.ErrMalformedBody)
	}
	return nil
}

// messageOf checks that a message read for conversation convID names no
// other conversation (conversationId, when present: verify --evidence
// checks it against the entry's conversation_id).
func messageOf(convID string, c *captured) error {
	if c.data.ConversationID != "" && c.data.ConversationID != convID {
		return fmt.Errorf("conversation %s: %w: message %s is of conversation %q", convID, fetch.ErrMalformedBody, c.id, truncate(c.data.ConversationID, 80))
	}
	return nil
}

// toStore is a conversation read and staged: finish stores its evidence
// and commits it; bytes is what it holds in memory until then.
type toStore struct {
	bytes  int64
	finish func(context.Context) error
}

// capturedIDs returns the ids of msgs, in order.
func capturedIDs(msgs []captured) []string {
	ids := make([]string, len(msgs))
	for i := range msgs {
		ids[i] = msgs[i].id
	}
	return ids
}

// hasAttachmentURL reports whether md carries an attachment url (a
// template's header media among them), the one part of a message Genesys
// may serve differently each time it is read.
func hasAttachmentURL(md *genesys.MessageData) bool {
	return len(derive.Media(md)) > 0
}

// earlierBodies holds, for one conversation, the messages of each
// earlier response body read back (by its evidence sum), so that a body
// holding many messages is read and decoded once, not once per message.
type earlierBodies map[hashchain.Hash]*earlierBody

type earlierBody struct {
	msgs map[string][]earlierMessage // by message id
	err  error                       // why the body could not be read
}

// earlierMessage is one message of an earlier body: its payload hash and
// the object, whose derive.StableHash is computed only when compared.
type earlierMessage struct {
	payload hashchain.Hash
	raw     []byte
}

// sameButSignatures reports whether m equals its latest capture prev but
// for the pre-signatures of its attachment urls: the message as prev
// recorded it is read back from prev's evidence and both are compared by
// derive.StableHash. Evidence that cannot be read (erased, or a store
// failing) makes it a change, captured again: never a silent skip.
func (r *runner) sameButSignatures(ctx context.Context, earlier earlierBodies, prev leaf.Entry, m *captured) (bool, error) {
	cur, err := derive.StableHash(m.raw)
	if err != nil {
		return false, nil
	}
	body, ok := earlier[prev.EvidenceSHA256]
	if !ok {
		if body, err = r.readEarlier(ctx, prev.EvidenceSHA256); err != nil {
			return false, err
		}
		earlier[prev.EvidenceSHA256] = body
	}
	if body.err != nil {
		r.o.Log.Warn("the earlier capture's evidence could not be read: the message is captured again", "message", m.id, "seq", prev.Seq, "error", body.err)
		return false, nil
	}
	for _, e := range body.msgs[m.id] {
		if e.payload == prev.PayloadSHA256 {
			was, err := derive.StableHash(e.raw)
			return err == nil && was == cur, nil
		}
	}
	return false, nil
}

// readEarlier reads an earlier response body and indexes its messages by
// id; an error is returned only when ctx ended, else kept in the body.
func (r *runner) readEarlier(ctx context.Context, sum hashchain.Hash) (*earlierBody, error) {
	raw, err := evidence.GetChecked(ctx, r.d.Evidence, sum)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &earlierBody{err: err}, nil
	}
	body := &earlierBody{msgs: map[string][]earlierMessage{}}
	raws, err := derive.MessagesIn(raw)
	if err != nil {
		return body, nil
	}
	for _, raw := range raws {
		md, payload, err := derive.DecodeMessage(raw)
		if err != nil {
			continue
		}
		body.msgs[md.ID] = append(body.msgs[md.ID], earlierMessage{payload: payload, raw: raw})
	}
	return body, nil
}

// seal draws the message's salt and stages its opening (the salt and the
// personal fields in clear) as evidence, stored before any entry refers
// to it: the leaf will hold only the commitments (ledger format v3).
func seal(st *staged, m *captured) error {
	var s derive.Seal
	if _, err := rand.Read(s.Salt[:]); err != nil {
		return &fatal{fmt.Errorf("export: salt: %w", err)}
	}
	m.opening = st.add(derive.Opening(&m.data, s.Salt).Encode())
	m.seal = &s
	return nil
}

func decodeMessage(raw []byte, ev int, src *leaf.Source) (captured, error) {
	md, payload, err := derive.DecodeMessage(raw)
	if err != nil {
		return captured{}, err
	}
	if !ValidID(md.ID) {
		return captured{}, fmt.Errorf("message with unusable id %q", truncate(md.ID, 80))
	}
	return captured{id: md.ID, payload: payload, ev: ev, src: src, data: *md, raw: raw}, nil
}

// noteRemovedFields warns, once a run, when a message carries a member
// Genesys no longer sends (genesys.RemovedFields): the API that answered
// is not today's Genesys Cloud as it is (a proxy, another server). The
// message is captured all the same; its text is normalizedMessage.text
// (genesys.MessageText), never such a textBody.
func (r *runner) noteRemovedFields(md *genesys.MessageData) {
	if f := genesys.RemovedFields(md); f != nil && r.removedWarned.CompareAndSwap(false, true) {
		r.o.Log.Warn("export: the API answered with message members Genesys Cloud removed on 2026-03-31: the source is not today's Genesys, or something between rewrites its answers; the text captured is normalizedMessage.text, not textBody (this warning is given once a run)",
			"message", md.ID, "fields", strings.Join(f, ","))
	}
}

// commit stores the conversation's staged evidence, then, once it is
// durable, appends its entries and marks it done, in one transaction
// (shared with the conversations of the same evidence batch:
// storeAndCommit); messages whose payload is unchanged since their
// latest capture are not appended again. withBodies says whether the
// response bodies were staged (captureOne): when they were not and the
// ledger has changed since the conversation was read so that a
// conversation entry is due after all, nothing is appended and the
// conversation is left failed, for the next pass to read again.
func (r *runner) commit(ctx context.Context, st *staged, j job, convPayload, convEv hashchain.Hash, convSrc *leaf.Source,
	msgs []captured, gone []string, bulkSums []string, withBodies bool, auditRefs, auditEv []string) error {
	held := j.held
	// The entries of the sealed messages are built here, beside the other
	// conversations' storing, not in the transaction, which the batch's
	// conversations run one after the other: only which of them to append
	// and what each supersedes depends on the ledger. An error is
	// returned only for an entry the transaction appends.
	built := make([]leaf.Entry, len(msgs))
	buildErr := make([]error, len(msgs))
	withMedia := make([]bool, len(msgs)) // the message has attachments (or header media) to capture
	for i := range msgs {
		withMedia[i] = hasMedia(&msgs[i].data)
		if m := &msgs[i]; m.seal != nil {
			built[i], buildErr[i] = MessageEntry(r.o.Scope.Matter, r.runID, j.id, held, auditRefs, &m.data, m.payload, m.evSum, m.src, m.media, m.seal)
		}
	}
	var changes []Change
	var d tally // this conversation's share of the run's tally
	stale := false
	// The latest captures are read again inside the transaction (shared
	// with the conversations committed with this one): what decides
	// whether a message is appended is the ledger the append goes into.
	now := r.o.Now() // as of which attachments not captured are judged retryable
	err := r.storeAndCommit(ctx, st, capturedIDs(msgs), func(tx *ledger.Tx, latest map[ledger.Capture]leaf.Entry) error {
		changes, d, stale = nil, tally{}, false
		var entries []leaf.Entry
		var prevs []*uint64
		captures := 0 // entries appended but re-captures with attachments
		for i, m := range msgs {
			prev, ok := latest[ledger.Capture{ConversationID: j.id, MessageID: m.id}]
			if ok && (prev.PayloadSHA256 == m.payload || m.sameAs != nil && *m.sameAs == prev.Seq) {
				if m.recapture != nil && *m.recapture == prev.Seq {
					// Unchanged at the source: the same message
					// again, with the attachments its capture lacks.
					e, err := recaptureEntry(prev, m.media, held, auditRefs)
					if err != nil {
						return err
					}
					e.Matter, e.RunID = r.o.Scope.Matter, r.runID
					entries = append(entries, e)
					prevs = append(prevs, nil) // not a change
					d.MessagesRecaptured++
					d.countMedia(m.media)
					d.countNotCaptured(m.media, now, m.data.Timestamp, now)
					continue
				}
				if withMedia[i] {
					if had, ok := entryMedia(prev); !ok {
						// unreadable: nothing to say it lacks them
					} else if len(had) == 0 {
						d.NoMedia++
					} else {
						d.countNotCaptured(had, now, m.data.Timestamp, prev.At)
						// Media without a url its capture left out:
						// mediaAgain asks for them next run.
						n := len(unrecorded(&m.data, had))
						d.MediaNotCaptured += n
						d.MediaRetryable += n
					}
				}
				d.MessagesUnchanged++
				continue
			}
			var sup *uint64
			if ok {
				s := prev.Seq
				sup = &s
			}
			if m.seal == nil {
				// Not sealed before the transaction (its latest capture
				// then had this payload): never append it in clear.
				return fmt.Errorf("export: message %s: no opening stored", m.id)
			}
			if buildErr[i] != nil {
				return buildErr[i]
			}
			e := built[i]
			e.Supersedes = sup
			entries = append(entries, e)
			prevs = append(prevs, sup)
			captures++
			d.countMedia(m.media)
			d.countNotCaptured(m.media, now, m.data.Timestamp, now)
			if withMedia[i] && len(m.media) == 0 {
				d.NoMedia++ // --media=false
			}
		}
		convChanged, err := r.conversationChanged(tx, j.id, convPayload, held, auditRefs)
		if err != nil {
			return err
		}
		// Re-captures alone of an unchanged conversation need no new
		// conversation entry: the latest one is still what their legal
		// hold and audit references are derived from, and their response
		// bodies are the earlier captures' (recaptureEntry).
		if (convChanged || captures > 0 || len(gone) > 0) && !withBodies {
			// Its bodies were not stored: the ledger changed since it was
			// read (another custody capturing it). Read it again.
			changes, d = nil, tally{}
			it := j.item
			it.Attempts++
			it.Status, it.Reason, it.UpdatedAt = ledger.ItemFailed, staleReason, r.o.Now()
			stale = true
			return tx.PutRunItem(it)
		}
		if convChanged || captures > 0 || len(gone) > 0 {
			conv, err := derive.Conversation(derive.ConversationFacts{
				ID: j.id, Payload: convPayload, Messages: len(msgs) + len(gone), Held: held, AuditRefs: auditRefs,
			}, j.holdSum, bulkSums, auditEv, gone)
			if err != nil {
				return err
			}
			conv.Matter, conv.RunID, conv.EvidenceSHA256, conv.Source = r.o.Scope.Matter, r.runID, convEv, convSrc
			entries = append([]leaf.Entry{conv}, entries...)
			prevs = append([]*uint64{nil}, prevs...)
		}
		out, err := tx.Append(entries...)
		if err != nil {
			return err
		}
		for i, e := range out {
			if prevs[i] != nil {
				changes = append(changes, Change{ConversationID: j.id, MessageID: e.MessageID, Seq: e.Seq, Supersedes: *prevs[i]})
			}
			if e.Kind == leaf.KindMessage {
				d.MessagesAppended++
			}
		}
		d.MessagesChanged, d.MessagesGone = len(changes), len(gone)
		switch {
		case len(changes) > 0:
			d.Changed++
		case d.MessagesAppended == d.MessagesRecaptured:
			d.Unchanged++ // nothing new at the source
		}
		if err := addTally(tx, r.runID, d); err != nil {
			return err
		}
		it := j.item
		it.Attempts++
		it.Status, it.Reason, it.UpdatedAt = ledger.ItemDone, "", r.o.Now()
		return tx.PutRunItem(it)
	})
	if err != nil {
		return err
	}
	if stale {
		r.o.Log.Warn("conversation not exported", "conversation", j.id, "status", ledger.ItemFailed, "reason", staleReason)
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, changes...)
	r.acct.Invocation.ConversationsCaptured++
	r.acct.Invocation.MessagesAppended += d.MessagesAppended
	return nil
}

// recaptureEntry is the entry of a message unchanged since its latest
// capture prev, which holds none of its attachments, re-captured with
// them (media, downloaded now): prev's message, payload_sha256, evidence,
// source and detail — the commitments and opening of a v3 detail
// included, so both entries open with the same salts — with media added,
// superseding prev. Only the compliance is the conversation's as it
// stands (held, auditRefs), as every message entry's is: verify derives
// it from the latest conversation entry before it, which this capture
// appends first when the conversation changed. The same payload hash is
// what tells a reader it is no change at the source (leaf.Entry.Recaptures;
// docs/ledger-format.md, "supersedes"). The media ids are the unchanged
// message's, which verify derives from prev's evidence.
func recaptureEntry(prev leaf.Entry, media []leaf.MediaRef, held bool, auditRefs []string) (leaf.Entry, error) {
	dd, err := leaf.DecodeDetail(leaf.KindMessage, prev.Detail)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("export: message %s: re-capture of entry %d: %w", prev.MessageID, prev.Seq, err)
	}
	if prev.Compliance == nil {
		return leaf.Entry{}, fmt.Errorf("export: message %s: re-capture of entry %d: it has no compliance", prev.MessageID, prev.Seq)
	}
	d := dd.(*leaf.MessageDetail)
	d.Media = media
	detail, err := leaf.EncodeDetail(d)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("export: message %s: re-capture of entry %d: %w", prev.MessageID, prev.Seq, err)
	}
	if auditRefs == nil {
		auditRefs = []string{}
	}
	seq := prev.Seq
	return leaf.Entry{
		Kind: leaf.KindMessage, ConversationID: prev.ConversationID, MessageID: prev.MessageID,
		PayloadSHA256: prev.PayloadSHA256, EvidenceSHA256: prev.EvidenceSHA256, Source: prev.Source,
		Compliance: &leaf.Compliance{LegalHold: &held, AuditRefs: auditRefs, OriginalTimestamp: prev.Compliance.OriginalTimestamp},
		Supersedes: &seq, Detail: detail,
	}, nil
}

// conversationChanged reports whether the conversation's latest entry
// differs from what would be appended now.
func (r *runner) conversationChanged(tx *ledger.Tx, convID string, payload hashchain.Hash, held bool, audits []string) (bool, error) {
	prev, ok, err := tx.LatestConversation(convID)
	if err != nil {
		return true, err
	}
	return conversationDiffers(prev, ok, payload, held, audits), nil
}

// conversationDiffers reports whether the conversation's latest entry
// prev (ok false: none) differs from one of payload, held and audits.
func conversationDiffers(prev leaf.Entry, ok bool, payload hashchain.Hash, held bool, audits []string) bool {
	if !ok {
		return true
	}
	if prev.PayloadSHA256 != payload {
		return true
	}
	dd, err := leaf.DecodeDetail(leaf.KindConversation, prev.Detail)
	if err != nil {
		return true
	}
	d := dd.(*leaf.ConversationDetail)
	return d.LegalHold != held || strings.Join(d.AuditRefs, ",") != strings.Join(audits, ",")
}

// MessageEntry builds the ledger entry of one captured message through
// derive.Message (the one statement of which leaf field comes from which
// part of the evidence, which verify --evidence re-applies), adding who
// recorded it (matter, run) and from which request (evidence, source).
//
// seal makes it a v3 entry (salted commitments; the export always passes
// one); nil writes the v1 form, for tools that build ledgers without an
// evidence store (the diff benchmark).
func MessageEntry(matter, runID, convID string, held bool, auditRefs []string, md *genesys.MessageData,
	payload, evSum hashchain.Hash, src *leaf.Source, media []leaf.MediaRef, seal *derive.Seal) (leaf.Entry, error) {
	e, err := derive.Message(convID, md, payload, held, auditRefs, media, seal)
	if err != nil {
		return leaf.Entry{}, fmt.Errorf("export: %w", err)
	}
	e.Matter, e.RunID, e.EvidenceSHA256, e.Source = matter, runID, evSum, src
	return e, nil
}
