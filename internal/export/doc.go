// Package export captures conversations from Genesys Cloud into evidence
// and the ledger: the main job of custody.
//
// A run lists the conversations of its scope (an analytics job over an
// interval, or a list of ids), then, per batch of up to 100 conversations,
// asks which are under legal hold (one deletion-protection call), and for
// each conversation reads it (one GET) and all its messages (one bulk POST
// per 1,000 ids): about two requests per conversation. The audit entries
// that applied the holds come from one audit query per run.
//
// Crash safety: every raw response body is stored as evidence first; then
// the conversation's ledger entries and its run item are committed in one
// transaction. Conversations ready at the same moment are stored as one
// evidence batch and committed in one transaction (group commit), each
// still all or nothing. A crash leaves at most unreferenced evidence. Rerunning the
// same scope resumes the unfinished run; a message already captured with the
// same payload hash is not appended again, and a changed one is appended as
// a new capture naming the one it supersedes. With --media, an unchanged
// message whose latest capture holds none of its attachments (captured
// with --media=false) is appended again with them, superseding it with the
// same payload hash: a re-capture, not a change (recaptureEntry).
//
// Accounting: what a run captured is counted over the whole run, every
// invocation of it, from its run items and a tally added to in each
// conversation's transaction (tally.go), so that the counts equal what
// the ledger holds under the run id even after a kill -9; request figures
// are the one invocation's (Accounting.Invocation).
package export
