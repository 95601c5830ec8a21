package erase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/erasure"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Errors callers match with errors.Is.
var (
	// ErrHeld: something to erase is under legal hold (deletion
	// protection when captured, or a matter hold) and no override was
	// given. Nothing was deleted or recorded.
	ErrHeld = errors.New("under legal hold")
	// ErrNotFound: a conversation or message to erase is not in the
	// ledger. Nothing was deleted or recorded.
	ErrNotFound = errors.New("not in the ledger")
	// ErrLocked: the store refused to delete the evidence (S3 Object
	// Lock). It is evidence.ErrLocked.
	ErrLocked = evidence.ErrLocked
	// ErrMissing: an object the erasure would delete or read is absent
	// from the store, and no earlier erasure entry records it deleted nor
	// does the journal of an erase cut short name it: evidence lost or
	// deleted by hand, which recording it as erased would hide. Nothing
	// was deleted or recorded. The error matches fs.ErrNotExist too.
	ErrMissing = errors.New("evidence missing that no erasure deleted")
)

// Request says what to erase, why, and by whom.
type Request struct {
	Conversations []string
	Messages      []string
	Reason        string
	Operator      string
	// OverrideHold, when not empty, is why the erasure goes ahead
	// despite a legal hold; it is recorded in the entry.
	OverrideHold string
	// SignerKey, when set, signs a checkpoint vouching for the entry (its
	// "erasure <seq>" line). Without one, verify counts the objects the
	// entry lists as missing, not erased, until such a checkpoint is
	// signed (custody checkpoint --erasure): an erasure entry alone is
	// what anyone who can write the ledger file can append, and a
	// routine checkpoint covers whatever was appended.
	SignerKey string
	Now       func() time.Time
	// DiffConversations, when set, reads back the conversations a
	// recorded diff found something in (reconcile.DiffConversations):
	// a production made with --diff holds only those, so an erasure
	// names it to recall only when they include an erased one. Without
	// it, or when it fails, the outputs say that filter was not applied.
	DiffConversations func(ctx context.Context, diffRunID string) ([]string, error)
	// DryRun computes what the erasure would delete, keep and name to
	// recall, and changes nothing: no object is deleted (nor a temporary
	// file or a killed produce's folder removed), no journal written, no
	// entry appended. The store and ledger may be opened read-only.
	// Reason may be empty; when given, it is checked as for an erasure.
	DryRun bool
	// Flags are the other flags the erase was run with ("--name=value":
	// its evidence store and the store's options, --key), which the
	// command its journal names to finish it repeats: without them an
	// erase of an S3 store cannot reach the store again. Never a secret:
	// credentials stay in the environment.
	Flags []string
}

// Result is what an erasure did.
type Result struct {
	Seq    uint64             `json:"seq"` // of the erasure entry
	Detail leaf.ErasureDetail `json:"erasure"`
	// Held lists the held conversations erased under OverrideHold.
	Held []string `json:"held,omitempty"`
	// V1Leaves counts erased captures written before format v3: their
	// leaves keep the sender, recipient and content hash in clear, and
	// no erasure can remove them from an append-only ledger.
	V1Leaves int `json:"v1_leaves"`
	// Already: everything asked for was erased by earlier entries (Seq
	// the latest of them) and none of its evidence is left to delete, so
	// nothing was deleted or recorded: the same erase run again after it
	// was done (its output lost to a crash, say) does not record it twice.
	Already bool `json:"already_erased,omitempty"`
	// Unvouched lists, when Already, the erasure entries that erased it
	// and that no signed checkpoint vouches for (the run that recorded
	// them was cut short, or had no key; or someone else appended them).
	Unvouched []uint64 `json:"unvouched,omitempty"`
	// TempsRemoved counts the temporary files of writes a crash cut short
	// that were removed from the store (never evidence, so in no entry):
	// one may hold what is erased under another name.
	TempsRemoved int `json:"temporaries_removed,omitempty"`
	// ProduceLeftovers are the folders a produce killed before it
	// recorded its production left (they may hold the produced messages'
	// text; never a production, so in no entry), removed.
	// ProduceLeftoversFailed are those that could not be looked for or
	// removed (path: why): the operator's to remove.
	ProduceLeftovers       []string `json:"produce_leftovers_removed,omitempty"`
	ProduceLeftoversFailed []string `json:"produce_leftovers_failed,omitempty"`
	// Remains names every place personal data of what is erased is left
	// after the erasure (Remain), each once: the operator's to recall or
	// delete where that can be done. Null when Already.
	Remains []Remain `json:"personal_data_remains"`
	// DryRun: nothing was deleted or recorded; Detail is what the entry
	// would say (Erased the objects that would be deleted, Seq 0).
	DryRun bool `json:"dry_run,omitempty"`
	// Journal, for a dry run that finds the erasure Already recorded,
	// is the journal (erasure.PendingPath) of an erase cut short after
	// its entry, which a dry run leaves: the same erase without
	// --dry-run removes it.
	Journal string `json:"journal_left,omitempty"`
}

// ref is one evidence reference of an entry, with whose it is.
type ref struct {
	conv, msg string // msg "" for a conversation entry
	role      string
}

// Erase erases conversations and messages from the matter: it deletes
// the evidence objects that hold their content (the conversation and
// message response bodies, media and the openings of their commitments),
// then appends a signed erasure entry naming what was erased, what could
// not be deleted and why, when, why and by whom. The ledger's entries
// are untouched, so every hash, checkpoint and proof stays valid.
//
// It refuses (ErrHeld) while a conversation to erase is under legal hold
// unless OverrideHold says why, and refuses (ErrLocked), deleting
// nothing and recording nothing, when the store's Object Lock keeps the
// first object it tries; a later object Object Lock keeps is recorded as
// not deleted, and the error says so. It refuses (ErrCorrupt), deleting
// and recording nothing, when an object it would delete does not hash
// to its name: deleting it would hide the alteration. Objects shared with a conversation not being
// erased are kept (named in Kept). Deletion comes before the entry: an
// erasure interrupted between them leaves the evidence gone and
// unrecorded, and running it again records it. So that this is always
// known, a journal (erasure.PendingPath) is made durable before the
// first deletion and removed once the entry is appended: while it is
// there, only the same erase (which finishes it) may run, every other
// writer refuses (cmd/custody's openMatter), and verify names it.
func Erase(ctx context.Context, l *ledger.Ledger, store evidence.Store, req Request) (*Result, error) {
	if strings.TrimSpace(req.Reason) == "" && !req.DryRun {
		return nil, errors.New("erase: a reason is required")
	}
	if len(req.Conversations)+len(req.Messages) == 0 {
		return nil, errors.New("erase: nothing to erase")
	}
	if l.ReadOnly() && !req.DryRun {
		// The entry could not be appended: delete nothing.
		return nil, fmt.Errorf("erase: %w: the erasure could not be recorded, so nothing is deleted", ledger.ErrReadOnly)
	}
	// An erase cut short before it recorded what it deleted left its
	// journal: only the same erase may run, and it finishes that one.
	prior, err := erasure.ReadPending(l.Path())
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	if prior != nil && !prior.SameSelection(req.Conversations, req.Messages) {
		return nil, fmt.Errorf("erase: refused, nothing erased: %w", prior.Refusal(l.Path()))
	}
	st, err := erasure.Load(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	whole := map[string]bool{}
	for _, c := range req.Conversations {
		whole[c] = true
	}
	msgs := map[string]bool{}
	for _, m := range req.Messages {
		msgs[m] = true
	}
	// One pass over the ledger: every evidence reference, by object, and
	// the latest legal hold of each conversation as captured.
	refs := map[hashchain.Hash][]ref{}
	captured := map[string]bool{} // conversations and messages seen
	msgConv := map[string]string{}
	heldAtCapture := map[string]bool{}
	holdUnknown := map[string]bool{} // the latest capture's detail does not decode
	var erasedEntries []leaf.Entry
	// Every response body that holds messages, by conversation, whichever
	// entry names it (bodiesOf).
	bodies := map[string][]hashchain.Hash{}
	var listings []hashchain.Hash
	var diffs []recordedDiff
	var outs []output // the productions and reports recorded
	// Every object an entry of any kind references, as verify --evidence
	// takes them: what is not is unreferenced (unreferencedHolding).
	referenced := map[hashchain.Hash]bool{}
	facts := &selectionFacts{protected: map[string][]protectedAt{}, diffConvs: req.DiffConversations, diffs: map[string]diffRead{}}
	for e, err := range l.Entries(ctx, ledger.Filter{}) {
		if err != nil {
			return nil, fmt.Errorf("erase: %w", err)
		}
		// A detail that does not decode still names its evidence_sha256
		// (rs): taken as referenced, so not read for deletion.
		rs, rsErr := e.EvidenceRefs()
		for _, r := range rs {
			if h, err := hashchain.ParseHash(r.SHA256); err == nil {
				referenced[h] = true
			}
		}
		switch e.Kind {
		case leaf.KindProduction, leaf.KindReport:
			o, err := readOutput(e)
			if err != nil {
				// Its files could not be named among those that hold what
				// is erased.
				return nil, fmt.Errorf("erase: %s entry %d: %w (run custody verify)", e.Kind, e.Seq, err)
			}
			outs = append(outs, o)
			continue
		case leaf.KindListing:
			if !e.EvidenceSHA256.IsZero() {
				listings = append(listings, e.EvidenceSHA256)
			}
			continue
		case leaf.KindDiff:
			if err := rsErr; err != nil {
				// Its findings objects could not be named among those kept.
				return nil, fmt.Errorf("erase: diff entry %d: %w (run custody verify)", e.Seq, err)
			}
			rd := recordedDiff{seq: e.Seq, runID: e.RunID}
			if dd, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				rd.source = dd.(*leaf.DiffDetail).Source
			}
			for _, r := range rs {
				if h, err := hashchain.ParseHash(r.SHA256); err == nil && r.Role == leaf.RoleFindings {
					rd.parts = append(rd.parts, h)
				}
			}
			diffs = append(diffs, rd)
			continue
		case leaf.KindConversation:
			captured[e.ConversationID] = true
			if dd, err := leaf.DecodeDetail(e.Kind, e.Detail); err == nil {
				heldAtCapture[e.ConversationID] = dd.(*leaf.ConversationDetail).LegalHold
				delete(holdUnknown, e.ConversationID)
			} else {
				holdUnknown[e.ConversationID] = true // taken as held: erasure cannot be undone
			}
			facts.protected[e.ConversationID] = append(facts.protected[e.ConversationID],
				protectedAt{seq: e.Seq, held: heldAtCapture[e.ConversationID] || holdUnknown[e.ConversationID]})
		case leaf.KindMessage:
			captured[e.ConversationID] = true
			captured["m/"+e.MessageID] = true
			msgConv[e.MessageID] = e.ConversationID
		default:
			continue
		}
		if err := rsErr; err != nil {
			return nil, fmt.Errorf("erase: %w", err)
		}
		for _, r := range rs {
			h, err := hashchain.ParseHash(r.SHA256)
			if err != nil || h.IsZero() {
				continue
			}
			refs[h] = append(refs[h], ref{conv: e.ConversationID, msg: e.MessageID, role: r.Role})
			if isBody(e.Kind, r.Role) && !slices.Contains(bodies[e.ConversationID], h) {
				bodies[e.ConversationID] = append(bodies[e.ConversationID], h)
			}
		}
		if whole[e.ConversationID] || (e.Kind == leaf.KindMessage && msgs[e.MessageID]) {
			erasedEntries = append(erasedEntries, e)
		}
	}
	var missing []string
	for c := range whole {
		if !captured[c] {
			missing = append(missing, "conversation "+c)
		}
	}
	partial := map[string]bool{}
	for m := range msgs {
		if !captured["m/"+m] {
			missing = append(missing, "message "+m)
		} else if !whole[msgConv[m]] {
			partial[msgConv[m]] = true
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("erase: %w: %s", ErrNotFound, strings.Join(missing, ", "))
	}

	// Holds: deletion protection when last captured, or a matter hold —
	// the rule the report and productions apply (erasure.State.HoldsOn).
	var held, heldWhy []string
	for _, c := range sortedKeys(whole, partial) {
		h := st.HoldsOn(c, heldAtCapture[c])
		var why []string // every hold on it: releasing one must not look like enough
		switch {
		case h.DeletionProtection:
			why = append(why, "deletion protection at capture")
		case holdUnknown[c]:
			why = append(why, "its latest capture's legal hold cannot be read: the entry's detail does not decode; run custody verify")
		}
		if h.Matter != nil {
			// The reason is the ledger's text, shown as the diff shows an
			// export's ids: no escape sequence or line break of its own.
			why = append(why, "matter hold: "+exportfile.SafeDisplay(h.Matter.Reason))
		}
		if len(why) > 0 {
			held, heldWhy = append(held, c), append(heldWhy, c+" ("+strings.Join(why, "; ")+")")
		}
	}
	if len(held) > 0 && strings.TrimSpace(req.OverrideHold) == "" && !req.DryRun {
		return nil, fmt.Errorf("erase: %w: %s; nothing was erased (--override-hold REASON erases anyway and records why)", ErrHeld, strings.Join(heldWhy, ", "))
	}

	// The reasons are recorded in an append-only ledger: one that holds a
	// personal value of what is erased would keep it forever.
	pv, err := personalOf(ctx, store, erasedEntries, whole, msgs)
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	if err := reasonRefusal(pv, req.Reason, req.OverrideHold); err != nil {
		return nil, err
	}

	// What to delete: every object an erased entry names, but for
	// objects any conversation shares (legal-hold answers and audit pages
	// name many, and hold no message content) and objects another
	// conversation's entries name too. Within a partly erased
	// conversation, a response body that also holds messages not erased
	// is deleted all the same (its text is the erased message's too);
	// those messages are collateral.
	isErased := func(r ref) bool {
		return whole[r.conv] || (r.msg != "" && msgs[r.msg])
	}
	del := map[hashchain.Hash]bool{}
	kept := map[hashchain.Hash]string{}
	res := &Result{Held: held}
	for _, e := range erasedEntries {
		if e.V == leaf.FormatV1 && e.Kind == leaf.KindMessage {
			res.V1Leaves++
		}
		rs, _ := e.EvidenceRefs()
		for _, r := range rs {
			if r.Role == leaf.RoleHold || r.Role == leaf.RoleAudit {
				continue
			}
			h, err := hashchain.ParseHash(r.SHA256)
			if err != nil || h.IsZero() || del[h] {
				continue
			}
			if gone, err := goneBefore(ctx, st, store, h); err != nil {
				return nil, err
			} else if gone {
				continue
			}
			shared := ""
			for _, o := range refs[h] {
				if isErased(o) {
					continue
				}
				if o.conv != e.ConversationID {
					shared = o.conv
					break
				}
				if r.Role == leaf.RoleOpening || r.Role == leaf.RoleMedia {
					shared = o.conv + " message " + o.msg // another message's own object
					break
				}
			}
			if shared != "" {
				kept[h] = "also evidence of conversation " + shared
				continue
			}
			del[h] = true
		}
	}
	// A message's content is also in response bodies its own entries do
	// not name: a conversation's bulk response holds every message of it,
	// and a later capture of the conversation (another message changed at
	// the source, or its legal hold did) names a newer one. Each body any
	// entry of a partly erased conversation names is read, and deleted
	// when it holds an erased message.
	checked := map[hashchain.Hash]bool{} // read hash-checked by this run already
	// An object absent from the store is custody's doing only when an
	// earlier erasure entry records it deleted, or the journal of the
	// erase this run finishes names it; any other absence is evidence
	// lost or deleted by hand, and refuses the erasure (missingRefusal).
	var journaled map[hashchain.Hash]bool
	if prior != nil {
		journaled = prior.ObjectSet()
	}
	custodyDeleted := func(h hashchain.Hash) bool {
		_, ok := st.Object(h)
		return ok || journaled[h]
	}
	for _, c := range sortedKeys(partial) {
		if err := bodiesOf(ctx, store, c, bodies[c], msgs, del, custodyDeleted, refs, func(h hashchain.Hash) {
			checked[h] = true
			for _, o := range refs[h] {
				if o.conv != c {
					kept[h] = "also evidence of conversation " + o.conv
					return
				}
			}
			del[h] = true
		}); err != nil {
			return nil, err
		}
	}
	// The productions and reports custody wrote of what is erased: the
	// files are delivered, out of custody's reach, and named for the
	// operator to recall; a production's manifest kept as evidence, which
	// lists the produced messages with plain SHA-256 hashes of their
	// texts, is deleted with them.
	if len(outs) > 0 {
		if facts.controls, err = l.Controls(ctx); err != nil {
			return nil, fmt.Errorf("erase: %w", err)
		}
	}
	named, err := outputsOf(ctx, l, store, st, outs, erasedEntries, whole, msgs, facts)
	if err != nil {
		return nil, err
	}
	for _, o := range named {
		if o.Manifest == "" {
			continue
		}
		h, _ := hashchain.ParseHash(o.Manifest)
		if gone, err := goneBefore(ctx, st, store, h); err != nil {
			return nil, err
		} else if gone {
			continue
		}
		del[h] = true
	}
	// Objects no entry references that hold what is erased: response
	// bodies a custody before ef2d53c stored when it read an unchanged
	// conversation again, which no entry names and so none of the above
	// finds. One listing of the store; each such object read once.
	erasedMsgs := maps.Clone(msgs)
	for _, e := range erasedEntries {
		if e.Kind == leaf.KindMessage {
			erasedMsgs[e.MessageID] = true
		}
	}
	unrefs, temps, err := unreferencedHolding(ctx, store, referenced, whole, erasedMsgs)
	if err != nil {
		return nil, err
	}
	for _, h := range unrefs {
		del[h] = true
		checked[h] = true
	}
	// The objects the erase cut short deleted: a body of a conversation
	// erased in part is found above only while it is there, so what that
	// run deleted is taken from its journal, to be recorded now. Only
	// absent ones: a present one is judged above like any other.
	if prior != nil {
		for _, h := range sortedSet(prior.ObjectSet()) {
			if del[h] || kept[h] != "" {
				continue
			}
			if _, ok := st.Object(h); ok {
				continue // an earlier erasure recorded it
			}
			back, err := store.Exists(ctx, h)
			if err != nil {
				return nil, fmt.Errorf("erase: %w", err)
			}
			if !back {
				del[h], checked[h] = true, true
			}
		}
	}
	// A recorded diff's findings keep the values it compared where it
	// found them to differ — a text's plain SHA-256, a sender's address —
	// as a production's manifest keeps each text's hash: each findings
	// object whose lines name what is erased is deleted, and the entry
	// names it with its diff (verify takes it as erased so). Read here,
	// before the run that finds everything already erased stops: an
	// erasure recorded before this kept them, and the same erase run
	// again deletes them.
	findingsOf := map[hashchain.Hash]string{} // findings object deleted → why
	for _, rd := range diffs {
		named, unreadable, err := scanFindings(len(rd.parts), func(i int) ([]byte, error) {
			h := rd.parts[i]
			if del[h] {
				// Found in an earlier diff (identical findings), or deleted
				// by the erase cut short this run finishes (below).
				return nil, nil
			}
			b, err := evidence.GetChecked(ctx, store, h)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil // deleted by an earlier erasure, or missing: verify --evidence says which
			}
			if err != nil {
				// Nothing is deleted yet: better no erasure than one that
				// leaves an erased text's hash unsaid.
				return nil, fmt.Errorf("erase: read %s, the findings of diff entry %d, to tell whether they hold what is erased: %w; nothing was erased (run custody verify --evidence)", h, rd.seq, err)
			}
			return b, nil
		}, whole, msgs)
		if err != nil {
			return nil, err
		}
		for i, what := range named {
			h := rd.parts[i]
			del[h], checked[h] = true, true
			findingsOf[h] = findingsWhy(what)
		}
		for _, h := range rd.parts {
			if del[h] && journaled[h] && findingsOf[h] == "" {
				findingsOf[h] = findingsWhy("what is erased (deleted by the erase cut short that this run finishes, whose journal names it)")
			}
		}
		for i, err := range unreadable {
			if h := rd.parts[i]; !del[h] {
				kept[h] = findingsUnreadable(rd, err)
			}
		}
	}
	// Every object to delete still holds what its name says, or nothing
	// is deleted: deleting an altered body (another message of it
	// tampered with) would turn verify --evidence's FAIL into OK, the
	// alteration unrecorded.
	if err := checkBeforeDelete(ctx, store, del, checked, custodyDeleted, refs); err != nil {
		return nil, err
	}
	// Temporary files of writes a crash cut short: erase holds the
	// matter's writer lock, so no write is in progress, and one may hold
	// a whole response body with what is erased, under another name.
	// Never evidence, so not recorded: removed, and counted.
	if tr, ok := store.(evidence.TempRemover); ok && !req.DryRun {
		for _, name := range temps {
			if err := tr.RemoveTemp(ctx, name); err != nil {
				return nil, fmt.Errorf("erase: remove a temporary file an interrupted write left: %w", err)
			}
			res.TempsRemoved++
		}
	}
	// Folders a produce killed before recording left, wherever its --out
	// was: the same reasoning as the temporaries.
	if !req.DryRun {
		if res.ProduceLeftovers, res.ProduceLeftoversFailed, err = removeProduceLeftovers(ctx, l); err != nil {
			return nil, err
		}
	}
	// Run again after it was done: everything asked for is erased, by
	// entries already in the ledger, and nothing of it is left to
	// delete. Recording it again would name the same erasure twice (and
	// make the later entry the one readers say erased it).
	// done: every conversation and message asked for is recorded erased
	// by earlier entries (last the latest of them). With objects left to
	// delete, this run finishes that erasure (S3 Object Lock kept some, or
	// deletes failed).
	var last uint64
	done := true
	by := map[uint64]bool{} // the erasure entries that erased it
	for c := range whole {
		r, ok := st.ConversationRecord(c)
		done, last = done && ok, max(last, r.Seq)
		by[r.Seq] = ok
	}
	for m := range msgs {
		r, ok := st.MessageRecord(msgConv[m], m)
		done, last = done && ok, max(last, r.Seq)
		by[r.Seq] = ok
	}
	if len(del) == 0 {
		if done {
			res := &Result{Seq: last, Already: true, DryRun: req.DryRun, Held: held, TempsRemoved: res.TempsRemoved,
				ProduceLeftovers: res.ProduceLeftovers, ProduceLeftoversFailed: res.ProduceLeftoversFailed}
			var err error
			res.Unvouched, err = unvouched(ctx, l, slices.Sorted(maps.Keys(by)))
			switch {
			case prior != nil && req.DryRun:
				// A dry run changes nothing and holds no writer lock:
				// the erase itself removes the journal.
				res.Journal = erasure.PendingPath(l.Path())
			case prior != nil:
				// Cut short after its entry: recorded, so no journal.
				err = errors.Join(err, removePending(l))
			}
			return res, err
		}
	}
	// The analytics listing pages name many conversations each, with
	// their participants' addresses: they are the evidence of the
	// export's scope and are kept, but the entry says which hold an
	// erased conversation, so that nothing is kept unsaid.
	for _, h := range listings {
		b, err := evidence.GetChecked(ctx, store, h)
		if errors.Is(err, fs.ErrNotExist) {
			continue // absent: nothing kept
		}
		if err != nil {
			// Nothing is deleted yet: better no erasure than one whose
			// entry leaves a kept object unsaid.
			return nil, fmt.Errorf("erase: read %s to tell whether it is kept with an erased conversation in it: %w", h, err)
		}
		for c := range whole {
			if bytes.Contains(b, []byte(c)) {
				kept[h] = "analytics listing page: lists conversation " + c + " among others, with its participants' names and addresses; kept as the evidence of the export's scope (what the export asked for and was told), which deleting it would lose for every conversation it lists"
				break
			}
		}
	}

	// Openings first: they are what opens the commitments. The first
	// refusal by Object Lock refuses the whole erasure, unless an earlier
	// entry recorded it (done): then what is left is tried, and the
	// entry records what of it was deleted.
	order := make([]hashchain.Hash, 0, len(del))
	for h := range del {
		order = append(order, h)
	}
	slices.SortFunc(order, func(a, b hashchain.Hash) int {
		ao, bo := isOpening(refs[a]), isOpening(refs[b])
		if ao != bo {
			if ao {
				return -1
			}
			return 1
		}
		return strings.Compare(a.String(), b.String())
	})
	// detailOf is the entry recording the deletion of erased (sorted
	// hex): collateral are the messages whose response body it deleted,
	// not one it meant to delete and could not.
	detailOf := func(erased []string) leaf.ErasureDetail {
		collateral := map[string]bool{}
		for _, s := range erased {
			h, _ := hashchain.ParseHash(s)
			for _, o := range refs[h] {
				if o.msg != "" && !isErased(o) {
					collateral[o.msg] = true
				}
			}
		}
		d := leaf.ErasureDetail{
			Conversations: sortedKeys(whole), Messages: sortedKeys(msgs), Partial: sortedKeys(partial),
			Erased: nonNil(erased), Collateral: sortedKeys(collateral),
			Unreferenced: deletedOf(unrefs, erased),
			Operator:     req.Operator, Reason: req.Reason,
		}
		for _, e := range erasedEntries {
			if whole[e.ConversationID] && e.Kind == leaf.KindMessage && !msgs[e.MessageID] {
				d.Messages = append(d.Messages, e.MessageID)
			}
		}
		slices.Sort(d.Messages)
		d.Messages = nonNil(slices.Compact(d.Messages))
		for _, h := range sortedHashes(kept) {
			d.Kept = append(d.Kept, leaf.ErasedKept{Object: h.String(), Why: kept[h]})
		}
		d.Kept = nonNil(d.Kept)
		for _, o := range named {
			if o.Manifest != "" && !slices.Contains(erased, o.Manifest) {
				o.Manifest = "" // not deleted (kept, above, says why), or by an earlier erasure
			}
			d.Outputs = append(d.Outputs, o)
		}
		d.Diffs = erasedDiffs(diffs, findingsOf, erased)
		if len(held) > 0 {
			d.OverrideHold = req.OverrideHold
		}
		return d
	}
	// remainsOf names every place d leaves personal data of it.
	remainsOf := func(d *leaf.ErasureDetail) []Remain {
		reportFolders, diffSources := map[uint64]string{}, map[uint64]string{}
		for _, o := range outs {
			reportFolders[o.seq] = o.folder
		}
		for _, rd := range diffs {
			diffSources[rd.seq] = rd.source
		}
		return remains(d, reportFolders, diffSources, res.V1Leaves, res.ProduceLeftoversFailed)
	}
	if req.DryRun {
		// What an erasure would do, nothing done: every object it would
		// try deleted, as if none failed.
		var would []string
		for _, h := range order {
			would = append(would, h.String())
		}
		slices.Sort(would)
		res.Detail = detailOf(would)
		res.Remains, res.DryRun = remainsOf(&res.Detail), true
		return res, nil
	}
	// The journal, durable before anything is deleted: killed from here
	// to the entry, the deletions are explained and the command that
	// records them named (verify, and every other writer, read it).
	if len(order) > 0 {
		p := &erasure.Pending{Version: 1, Operator: req.Operator, Reason: req.Reason, OverrideHold: overrideRecorded(held, req.OverrideHold),
			Conversations: sortedKeys(whole), Messages: sortedKeys(msgs), PID: os.Getpid(),
			Command: erasure.RerunCommand(l.Path(), req.Conversations, req.Messages, req.Reason, overrideRecorded(held, req.OverrideHold), req.Flags...)}
		p.Host, _ = os.Hostname()
		p.Started = time.Now().UTC()
		if req.Now != nil {
			p.Started = req.Now().UTC()
		}
		for _, h := range order {
			p.Objects = append(p.Objects, h.String())
		}
		if prior != nil {
			// Every object either run may have deleted stays named.
			p.Objects = append(p.Objects, prior.Objects...)
			slices.Sort(p.Objects)
			p.Objects = slices.Compact(p.Objects)
		}
		if err := erasure.WritePending(l.Path(), p); err != nil {
			return nil, fmt.Errorf("erase: nothing was deleted: %w", err)
		}
	}
	// dropJournal removes the journal of a run that deleted nothing and
	// recorded nothing, unless an earlier run's deletions it names are
	// still unrecorded.
	dropJournal := func(err error) error {
		if prior == nil && len(order) > 0 {
			err = errors.Join(err, removePending(l))
		}
		return err
	}
	var erased []string
	if len(order) > 0 && !done {
		// The first object alone: if Object Lock refuses it, or it
		// fails, nothing has been deleted and the erasure is refused.
		err := store.Delete(ctx, order[0])
		switch {
		case errors.Is(err, evidence.ErrLocked):
			return nil, dropJournal(fmt.Errorf("erase: refused: the evidence store keeps the objects under S3 Object Lock (a legal hold or retention); nothing was erased (release the matter hold with 'custody release', or the bucket's retention, first): %w", err))
		case err != nil:
			if back, xerr := store.Exists(context.WithoutCancel(ctx), order[0]); xerr == nil && back {
				return nil, dropJournal(fmt.Errorf("erase: %w", err))
			}
			// It may be gone (a folder's fsync failing after the
			// removal): the journal stays, and the same erase records it.
			return nil, fmt.Errorf("erase: %w (run the same erase again: it records what was deleted)", err)
		}
		erased = append(erased, order[0].String())
	}
	// The rest as many at a time as the store keeps requests in flight
	// (S3: each deletion is round trips; a folder: one at a time): the
	// openings, then the other objects. Deletions that fail for another
	// reason than Object Lock: how many, and the first one's error; and
	// those Object Lock kept, which hold what is erased all the same.
	var mu sync.Mutex // guards erased, kept, notDeleted, notDeletedErr, locked, lockedErr
	var notDeleted, locked int
	var notDeletedErr, lockedErr error
	rest := order[min(len(erased), len(order)):]
	split := len(rest)
	for i, h := range rest {
		if !isOpening(refs[h]) {
			split = i
			break
		}
	}
	for _, part := range [][]hashchain.Hash{rest[:split], rest[split:]} {
		var g errgroup.Group
		g.SetLimit(evidence.Parallelism(store))
		for _, h := range part {
			g.Go(func() error {
				err := store.Delete(ctx, h)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					erased = append(erased, h.String())
				case errors.Is(err, evidence.ErrLocked):
					kept[h] = "s3 object lock: not deleted: " + err.Error()
					if locked++; lockedErr == nil {
						lockedErr = err
					}
				default:
					kept[h] = "not deleted: " + err.Error()
					if notDeleted++; notDeletedErr == nil {
						notDeletedErr = err
					}
				}
				return nil
			})
		}
		_ = g.Wait() // every outcome is recorded above; none stops the others
	}
	slices.Sort(erased)
	if done && len(erased) == 0 {
		// Nothing more deleted: the earlier entry already says what is
		// kept; another entry would say nothing new.
		// Nothing is gone unrecorded (an object a run cut short deleted
		// counts as deleted now): the journal has nothing to explain.
		return nil, errors.Join(fmt.Errorf("erase: entry %d recorded this erasure, but %d evidence objects holding what it erased are still not deleted%s; nothing more was deleted now: %w",
			last, locked+notDeleted, notDeletedWhy(locked, notDeleted), bothErrs(notDeletedErr, lockedErr)), removePending(l))
	}
	d := detailOf(erased)
	raw, err := leaf.EncodeDetail(&d)
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	e := leaf.Entry{Kind: leaf.KindErasure, Detail: raw}
	if req.Now != nil {
		e.At = req.Now()
	}
	out, err := l.Append(context.WithoutCancel(ctx), e)
	if err != nil {
		return nil, fmt.Errorf("erase: the evidence is deleted but the erasure entry could not be appended (run the same erase again to record it): %w", err)
	}
	res.Seq, res.Detail = out[0].Seq, d
	res.Remains = remainsOf(&d)
	if req.SignerKey != "" {
		if _, err := l.CheckpointErasure(context.WithoutCancel(ctx), req.SignerKey, res.Seq); err != nil {
			return res, errors.Join(fmt.Errorf("erase: recorded as entry %d, but no checkpoint vouching for it was signed (run 'custody checkpoint --erasure %d' with the signer key): %w", res.Seq, res.Seq, err),
				removePending(l))
		}
	}
	// Recorded (and vouched for, or the error above says how to): the
	// deletions are explained by the entry now.
	if err := removePending(l); err != nil {
		return res, err
	}
	if locked+notDeleted > 0 {
		// Recorded as it is (what was deleted, and what was not and why),
		// but not finished: an interrupted or failing erasure, or one
		// whose content Object Lock keeps, must not look like a done one.
		return res, fmt.Errorf("erase: recorded as entry %d, but %d evidence objects were not deleted%s: %w",
			res.Seq, locked+notDeleted, notDeletedWhy(locked, notDeleted), bothErrs(notDeletedErr, lockedErr))
	}
	return res, nil
}

// removePending removes l's erase journal once nothing it explains is
// unrecorded.
func removePending(l *ledger.Ledger) error {
	if err := erasure.RemovePending(l.Path()); err != nil {
		return fmt.Errorf("erase: the erasure is recorded, but %w (remove it by hand: it names an erase that is finished)", err)
	}
	return nil
}

// overrideRecorded is the override a run records: its reason when something
// erased is held, else none (the entry records it so too).
func overrideRecorded(held []string, reason string) string {
	if len(held) == 0 {
		return ""
	}
	return reason
}

// bothErrs wraps whichever of a and b is not nil, or both, so that
// errors.Is finds ErrLocked whenever Object Lock kept one.
func bothErrs(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return fmt.Errorf("%w; %w", a, b)
}

// notDeletedWhy says why objects an erasure meant to delete are left,
// and what finishes it: locked kept by S3 Object Lock, failed by another
// error.
func notDeletedWhy(locked, failed int) string {
	switch {
	case failed == 0:
		return " (S3 Object Lock: a legal hold or retention): lift the hold ('custody release' clears custody's) and run the same erase again"
	case locked == 0:
		return " (run the same erase again to delete them)"
	}
	return fmt.Sprintf(" (%d kept by S3 Object Lock: lift the hold, 'custody release' clears custody's; %d failed): run the same erase again", locked, failed)
}

// checkBeforeDelete hash-checks each object of del that checked does
// not name, as many at a time as the store keeps requests in flight,
// each hashed as a stream (a whole conversation's attachments are not
// held in memory). An absent one is acceptable only when custodyDeleted
// says custody removed it (an earlier erasure entry records it, or the
// journal of the erase cut short that this run finishes names it):
// deleting it again is a no-op, and the entry records it. Any other
// absent one refuses the erasure (missingRefusal): listing it as erased
// would turn verify --evidence's "missing" into "erased". One that
// cannot be read, or does not hash to its name, refuses the erasure:
// the operator examines it with custody verify --evidence; erase does
// not make the alteration disappear.
func checkBeforeDelete(ctx context.Context, store evidence.Store, del, checked map[hashchain.Hash]bool,
	custodyDeleted func(hashchain.Hash) bool, refs map[hashchain.Hash][]ref) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(evidence.Parallelism(store))
	for _, h := range sortedSet(del) {
		if checked[h] {
			continue
		}
		g.Go(func() error {
			err := evidence.CheckStored(gctx, store, h)
			if errors.Is(err, fs.ErrNotExist) {
				if custodyDeleted(h) {
					return nil
				}
				return missingRefusal(h, refs[h], err)
			}
			if err == nil {
				return nil
			}
			return fmt.Errorf("erase: refused: object %s%s, which this erasure would delete, failed the check made before deleting it: %w; nothing was erased (run custody verify --evidence: an object that is not what its name says is for the operator to examine, not for erase to delete)", h, whose(refs[h]), err)
		})
	}
	return g.Wait()
}

// missingRefusal is the error refusing an erasure that found h, which
// refs name, absent with no erasure to account for it: recording it as
// erased would make evidence lost or deleted by hand look erased, and
// verify --evidence would no longer report it missing. err is the store's
// (matching fs.ErrNotExist).
func missingRefusal(h hashchain.Hash, refs []ref, err error) error {
	return fmt.Errorf("erase: refused: object %s%s, which this erasure would delete, is missing from the evidence store, and no erasure deleted it (no erasure entry records it, nor the journal of an erase cut short): %w: %w; nothing was erased (run custody verify --evidence: evidence missing that no erasure deleted is for the operator to examine or restore from a backup, not for erase to record as erased)",
		h, whose(refs), ErrMissing, err)
}

// whose says, for an error, which entry's object rs names: " (the
// opening of message M of conversation C)", or "" when no entry names
// it (a production's manifest is named by no message or conversation).
func whose(rs []ref) string {
	if len(rs) == 0 {
		return ""
	}
	r := rs[0]
	what := r.role
	switch r.role {
	case leaf.RoleOpening:
		what = "the opening"
	case leaf.RoleMedia:
		what = "an attachment"
	case leaf.RoleBulk, leaf.RoleResponse:
		what = "a response body"
	}
	if r.msg != "" {
		return fmt.Sprintf(" (%s of message %s of conversation %s)", what, r.msg, r.conv)
	}
	return fmt.Sprintf(" (%s of conversation %s)", what, r.conv)
}

func sortedSet(m map[hashchain.Hash]bool) []hashchain.Hash {
	out := make([]hashchain.Hash, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// unvouched returns those of the erasure entries seqs that no stored
// checkpoint vouches for, for a run that finds everything already erased.
// It never vouches for them itself: an erasure entry needs no key to
// append, and one found in the ledger may erase more than this run
// asked for, or be someone else's; only the key's holder, having checked
// it, vouches for it (custody checkpoint --erasure). An erase cut short
// between its entry and its checkpoint is finished so.
func unvouched(ctx context.Context, l *ledger.Ledger, seqs []uint64) ([]uint64, error) {
	vouched, err := l.VouchedErasures(ctx, l.VerifierKey())
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	var out []uint64
	for _, seq := range seqs {
		if !vouched[seq] {
			out = append(out, seq)
		}
	}
	return out, nil
}

// maxBody bounds the objects unreferencedHolding reads whole: no response
// body custody stores is larger (fetch.DefaultMaxResponseBytes, a test
// holds them equal). A larger unreferenced object is an attachment, and
// is only hashed.
const maxBody = 64 << 20

// goneBefore reports whether an earlier erasure deleted and recorded h
// and it is still gone: such an object is not deleted again, but one that
// is back (restored from a backup, say) is deleted and recorded anew.
func goneBefore(ctx context.Context, st *erasure.State, store evidence.Store, h hashchain.Hash) (bool, error) {
	if _, ok := st.Object(h); !ok {
		return false, nil
	}
	back, err := store.Exists(ctx, h)
	if err != nil {
		return false, fmt.Errorf("erase: %w", err)
	}
	return !back, nil
}

// unreferencedHolding lists the objects in store that no entry
// references (evidence.Unreferenced: verify --evidence's listing, one
// Store.Survey) and returns, sorted, those that hold content of what is
// erased: a response body — a bulk-messages listing or a single message's
// (derive.MessagesIn) — holding a message of msgs or of a conversation of
// whole (its conversationId), a conversation's own response of one of
// whole (its id), or the opening of a message of msgs. Each is read
// once, as many at a time as the store keeps requests in flight; one
// that cannot be read, or does not hash to its name, stops the erasure
// before anything is deleted (it may hold what is erased, and an object
// that is not what its name says is the operator's to examine with
// custody verify, not erase's to delete). With nothing unreferenced it
// costs the listing alone.
//
// It also returns the temporary files of writes a crash cut short
// (evidence.IsTemp), from the same listing: they may hold what is erased
// (a body whole but for its rename), and none is needed.
func unreferencedHolding(ctx context.Context, store evidence.Store, referenced map[hashchain.Hash]bool,
	whole, msgs map[string]bool) ([]hashchain.Hash, []string, error) {
	unrefs, temps, err := evidence.Unreferenced(ctx, store, func(h hashchain.Hash) bool { return referenced[h] })
	if err != nil {
		return nil, nil, fmt.Errorf("erase: list the evidence store for objects no entry references: %w", err)
	}
	var mu sync.Mutex
	var out []hashchain.Hash
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(evidence.Parallelism(store))
	for _, h := range unrefs {
		g.Go(func() error {
			b, small, err := evidence.GetCheckedUpTo(gctx, store, h, maxBody)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone since it was listed
			}
			if err != nil {
				return fmt.Errorf("erase: read %s, which no entry references, to tell whether it holds what is erased: %w; nothing was erased (custody verify --evidence names it; no entry references it, so it is no evidence of the ledger: once examined, move it out of the store and erase again)", h, err)
			}
			if small && unreferencedHolds(b, whole, msgs) {
				mu.Lock()
				out = append(out, h)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(out, func(a, b hashchain.Hash) int { return bytes.Compare(a[:], b[:]) })
	return out, temps, nil
}

// unreferencedHolds reports whether b, an object no entry references,
// holds content of what is erased (unreferencedHolding). What reads as
// none of those kinds (an attachment, a listing page, a diff's findings)
// is not judged: only objects custody can tell are a message's or an
// erased conversation's are deleted.
func unreferencedHolds(b []byte, whole, msgs map[string]bool) bool {
	if o, err := leaf.ReadOpening(b); err == nil {
		return msgs[o.MessageID]
	}
	raws, err := derive.MessagesIn(b)
	if err != nil {
		return false
	}
	for _, raw := range raws {
		md, err := derive.ReadMessage(raw)
		if err != nil {
			continue
		}
		// md.ID is a conversation's own id when b is its GET response.
		if msgs[md.ID] || whole[md.ID] || whole[md.ConversationID] {
			return true
		}
	}
	return false
}

// deletedOf returns those of sums that erased (sorted hex) lists,
// nil when none.
func deletedOf(sums []hashchain.Hash, erased []string) []string {
	var out []string
	for _, h := range sums {
		if _, ok := slices.BinarySearch(erased, h.String()); ok {
			out = append(out, h.String())
		}
	}
	return out
}

// isBody reports whether an entry of kind names, in role, a response
// body holding messages: a message entry's own response (bulk, or a
// single message's GET) or a bulk-messages response a conversation entry
// names. Not a conversation's own response (message ids and participants,
// no content), nor openings and attachments (one message's own).
func isBody(kind, role string) bool {
	return role == leaf.RoleBulk || (kind == leaf.KindMessage && role == leaf.RoleResponse)
}

// bodiesOf calls found for each of the response bodies sums of
// conversation conv that holds a message of msgs and is not in del
// already. An absent body that custodyDeleted says custody removed (an
// earlier erasure entry records it, or the journal of the erase being
// finished names it) holds nothing here; one that is back (restored from
// a backup) is judged like any other. An absent body custody did not
// remove refuses the erasure (missingRefusal): it may have held an
// erased message, and is missing unexplained. One that cannot be read
// stops the erasure before anything is deleted: it may hold the erased
// messages, and an object that does not hash to its name is the
// operator's to examine (custody verify), not erase's to delete.
func bodiesOf(ctx context.Context, store evidence.Store, conv string, sums []hashchain.Hash,
	msgs map[string]bool, del map[hashchain.Hash]bool, custodyDeleted func(hashchain.Hash) bool,
	refs map[hashchain.Hash][]ref, found func(hashchain.Hash)) error {
	for _, h := range sums {
		if del[h] {
			continue
		}
		b, err := evidence.GetChecked(ctx, store, h)
		if errors.Is(err, fs.ErrNotExist) {
			if custodyDeleted(h) {
				continue
			}
			return missingRefusal(h, refs[h], err)
		}
		if err != nil {
			return fmt.Errorf("erase: read %s, a response body of conversation %s, to tell whether it holds an erased message: %w", h, conv, err)
		}
		if holdsAny(b, msgs) {
			found(h)
		}
	}
	return nil
}

// holdsAny reports whether the response body b holds one of msgs: a
// message object of it (derive.MessagesIn) whose id is one of them, or,
// for a body that does not read as messages, the id as a JSON string
// anywhere in it.
func holdsAny(b []byte, msgs map[string]bool) bool {
	names := func(b []byte) bool { // an id as a JSON string anywhere in b
		for m := range msgs {
			if bytes.Contains(b, []byte(`"`+m+`"`)) {
				return true
			}
		}
		return false
	}
	raws, err := derive.MessagesIn(b)
	if err != nil {
		return names(b)
	}
	for _, raw := range raws {
		// Only its id is wanted: no canonical form or payload hash
		// (DecodeMessage's), as unreferencedHolds reads them.
		md, err := derive.ReadMessage(raw)
		if err != nil {
			if names(raw) {
				return true
			}
			continue
		}
		if msgs[md.ID] {
			return true
		}
	}
	return false
}

func isOpening(rs []ref) bool {
	return slices.ContainsFunc(rs, func(r ref) bool { return r.role == leaf.RoleOpening })
}

func sortedKeys(ms ...map[string]bool) []string {
	out := []string{}
	for _, m := range ms {
		for k := range m {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedHashes(m map[hashchain.Hash]string) []hashchain.Hash {
	out := make([]hashchain.Hash, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b hashchain.Hash) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
