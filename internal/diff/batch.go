package diff

import (
	"context"

	"github.com/custodyhq/custody/internal/exportfile"
)

// BatchIndex is a ConversationIndex that reads the captures of several
// conversations at once, for less than it costs to read them one by one.
type BatchIndex interface {
	ConversationIndex
	// ConversationsBatch calls fn, once for each distinct non-empty id
	// in convs (at most MaxBatchConversations), with exactly what
	// Conversation returns for it; all is the caller's. On an error, the
	// conversations fn was called for are complete and the others were
	// not loaded: Conversation reads them (and says what is wrong).
	ConversationsBatch(ctx context.Context, convs []string, fn func(conv string, all []Captured)) error
}

// MaxBatchConversations is the most conversations one ConversationsBatch
// call is asked for; filesPerGroup files give at most that many hints.
const MaxBatchConversations = 64

// filesPerGroup is how many export files a worker takes at once, so that
// a BatchIndex loads their conversations in one read: in the Genesys
// layout each conversation has a folder of its own, and a read per
// conversation cost about as much as its rows (issue 16).
const filesPerGroup = 16

// remoteFilesPerGroup is filesPerGroup for an export on S3
// (exportfile.ParallelSource), whose files a worker reads one after
// another, a round trip each: smaller groups spread a small export's
// files over more workers, and its reads wait on the network more than
// the index's reads cost.
const remoteFilesPerGroup = 4

// prefetch loads, in one read, the captures of the conversations the
// files of grp are named for (exportfile.ConversationHint), when the index
// is a BatchIndex and there are two or more. The worker takes a
// conversation's captures from the map (once) instead of asking
// Conversation; a hint that is wrong costs a read, nothing more, and an
// error leaves the conversations it did not load to Conversation.
func (rs *runState) prefetch(ctx context.Context, grp []*job) map[string][]Captured {
	bi, ok := rs.ci.(BatchIndex)
	if !ok || len(grp) < 2 {
		return nil
	}
	convs := make([]string, 0, len(grp))
	for _, j := range grp {
		if j.entry.Problem != "" {
			continue
		}
		if c := exportfile.ConversationHint(j.entry); c != "" && (len(convs) == 0 || convs[len(convs)-1] != c) {
			convs = append(convs, c)
		}
	}
	if len(convs) < 2 {
		return nil
	}
	cache := make(map[string][]Captured, len(convs))
	_ = bi.ConversationsBatch(ctx, convs, func(conv string, all []Captured) { cache[conv] = all })
	return cache
}
